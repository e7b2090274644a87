"""Synthesised Dutch lessons with known talk and wait times.

A teacher (espeak-ng ``-v nl``, low pitch) speaks close to the microphone;
pupils (``-v nl+f3`` and ``-v nl+m3``, higher pitch) speak from further away:
sox lowers their level, takes the highs off and adds room reverb. Utterances
are mixed with known pauses (the wait times after questions) over a quiet
room noise. Ground truth is where each utterance's own (dry) speech starts
and ends.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

import numpy as np

SR = 16_000

TEACHER_LINES = [
    ("Goedemorgen allemaal, we gaan vandaag verder met breuken.", False),
    ("Wie weet nog wat een noemer is?", True),
    ("Heel goed, de noemer staat onder de streep.", False),
    ("Kijk maar naar het bord, hier staat drie vierde.", False),
    ("Waarom is drie vierde groter dan twee derde?", True),
    ("Dat is een mooie redenering, dank je wel.", False),
    ("Hoe heb je dat precies aangepakt?", True),
    ("Pak nu je schrift en maak de eerste vijf sommen.", False),
    ("Wat vind je lastig aan deze opdracht?", True),
    ("Prima, dan gaan we samen de volgende som doen.", False),
    ("Hoeveel is de helft van een kwart?", True),
    ("Goed zo, dat klopt helemaal.", False),
]
PUPIL_LINES = [
    "Dat is het getal onder de streep.",
    "Omdat een vierde groter is dan een derde, nee wacht.",
    "Ik heb eerst alles gelijknamig gemaakt.",
    "Ik snap niet goed hoe je moet beginnen.",
    "Een achtste, denk ik.",
    "Mag ik het op het bord doen?",
]
WAITS = [0.8, 3.4, 1.6, 4.2, 2.5, 1.1, 3.0, 0.6]


@dataclass
class Lesson:
    pcm: np.ndarray
    truth: list[tuple[float, float, str]]  # (start_s, end_s, "near"|"far")
    # codes with the true wait time 1 in "true_wait_s", the answer's length in
    # "true_answer_s" and wait time 2 in "true_wait2_s"
    questions: list[dict] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / SR

    def true_totals(self) -> dict[str, float]:
        near = sum(e - s for s, e, v in self.truth if v == "near")
        far = sum(e - s for s, e, v in self.truth if v == "far")
        return {"near_s": near, "far_s": far}


def to_48k(pcm: np.ndarray) -> np.ndarray:
    """A synthesised 16 kHz lesson at the 48 kHz the cameras record."""
    raw = (np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes()
    fmt = ["-t", "raw", "-c", "1", "-b", "16", "-e", "signed-integer"]
    out = subprocess.run(["sox", *fmt, "-r", "16000", "-", *fmt, "-r", "48000", "-"],
                         input=raw, capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype="<i2").astype(np.float32) / 32768


def _sox_raw(args_in: list[str], effects: list[str], stdin: bytes | None = None) -> np.ndarray:
    cmd = ["sox", *args_in, "-t", "raw", "-r", str(SR), "-c", "1", "-b", "16", "-e", "signed-integer", "-", *effects]
    out = subprocess.run(cmd, input=stdin, capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype="<i2").astype(np.float32) / 32768


def _speak(text: str, voice: str, pitch: int, speed: int) -> np.ndarray:
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "--stdout", text],
        capture_output=True, check=True,
    ).stdout
    pcm = _sox_raw(["-t", "wav", "-"], [], stdin=wav)
    return _trim(pcm)


def _trim(pcm: np.ndarray) -> np.ndarray:
    win = SR // 100
    n = len(pcm) // win
    rms = np.sqrt(np.mean(pcm[: n * win].reshape(n, win) ** 2, axis=1))
    loud = np.nonzero(rms > rms.max() * 10 ** (-40 / 20))[0]
    return pcm[loud[0] * win:(loud[-1] + 1) * win]


def _place(pcm: np.ndarray, effects: list[str]) -> np.ndarray:
    raw = (np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes()
    return _sox_raw(["-t", "raw", "-r", str(SR), "-c", "1", "-b", "16", "-e", "signed-integer", "-"], effects, stdin=raw)


def near(pcm: np.ndarray, peak_db: float = -4) -> np.ndarray:
    return _place(pcm, ["gain", "-n", str(peak_db)])


def far(pcm: np.ndarray, peak_db: float = -19) -> np.ndarray:
    return _place(pcm, ["lowpass", "2800", "reverb", "40", "50", "60", "gain", "-n", str(peak_db)])


def synthesize(repeats: int = 1, seed: int = 7) -> Lesson:
    """A lesson of about ``repeats`` × 75 s with 6 coded questions per repeat."""
    rng = np.random.default_rng(seed)
    pieces: list[tuple[float, np.ndarray, int, str]] = []  # (at, audio, dry length, voice)
    truth: list[tuple[float, float, str]] = []
    questions: list[dict] = []
    cache: dict[tuple, np.ndarray] = {}

    def voice_audio(text: str, who: str, k: int) -> tuple[np.ndarray, int]:
        key = (text, who, k % 2)
        if key not in cache:
            if who == "near":
                dry = _speak(text, "nl", 35, 150)
                cache[key] = (near(dry), len(dry))
            else:
                dry = _speak(text, "nl+f3" if k % 2 else "nl+m3", 75, 165)
                cache[key] = (far(dry, peak_db=-18 - 4 * (k % 2)), len(dry))
        return cache[key]

    t = 1.0
    pupil = 0
    wait_i = 0
    for r in range(repeats):
        for i, (line, is_question) in enumerate(TEACHER_LINES):
            audio, n = voice_audio(line, "near", 0)
            pieces.append((t, audio, n, "near"))
            truth.append((t, t + n / SR, "near"))
            q_end = t + n / SR
            if is_question:
                wait = WAITS[wait_i % len(WAITS)] + float(rng.uniform(-0.1, 0.1))
                wait_i += 1
                questions.append({
                    "id": f"q{r}-{i}", "t": round(q_end - 0.4, 3), "kind": "question",
                    "category": 1 + (i % 3), "true_wait_s": wait,
                })
                t = q_end + wait
                answer, m = voice_audio(PUPIL_LINES[pupil % len(PUPIL_LINES)], "far", pupil)
                pieces.append((t, answer, m, "far"))
                truth.append((t, t + m / SR, "far"))
                pupil += 1
                pause = float(rng.uniform(0.7, 1.3))
                questions[-1]["true_answer_s"] = m / SR
                questions[-1]["true_wait2_s"] = pause  # the next teacher line starts after it
                t += m / SR + pause
            else:
                t = q_end + float(rng.uniform(0.6, 1.5))
    total = int((t + 1.5) * SR)
    pcm = (rng.standard_normal(total) * 10 ** (-58 / 20)).astype(np.float32)
    for at, audio, _n, _v in pieces:
        a = int(round(at * SR))
        end = min(total, a + len(audio))
        pcm[a:end] += audio[: end - a]
    return Lesson(pcm=np.clip(pcm, -1, 1), truth=truth, questions=questions)


def accuracy(lesson: Lesson, timeline: dict) -> dict[str, float]:
    """Error figures of a measured timeline against the lesson's truth."""
    step = 0.01
    n = int(lesson.duration_s / step) + 1
    true_lab = np.zeros(n, dtype=np.int8)  # 0 silence, 1 near, 2 far
    meas_lab = np.zeros(n, dtype=np.int8)
    for s, e, v in lesson.truth:
        true_lab[int(s / step):int(e / step)] = 1 if v == "near" else 2
    for seg in timeline["segments"]:
        meas_lab[int(seg["start_s"] / step):int(seg["end_s"] / step)] = 1 if seg["voice"] == "near" else 2
    speech = true_lab > 0
    truth = lesson.true_totals()
    near_m = sum(s["end_s"] - s["start_s"] for s in timeline["segments"] if s["voice"] == "near")
    far_m = sum(s["end_s"] - s["start_s"] for s in timeline["segments"] if s["voice"] == "far")
    return {
        "talk_err": abs((near_m + far_m) - (truth["near_s"] + truth["far_s"])) / (truth["near_s"] + truth["far_s"]),
        "near_err": abs(near_m - truth["near_s"]) / truth["near_s"],
        "far_err": abs(far_m - truth["far_s"]) / truth["far_s"],
        "labelled_ok": float((meas_lab[speech] == true_lab[speech]).mean()),
    }
