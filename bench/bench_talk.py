"""Talk time: accuracy on synthesised lessons, VAD cost, on-demand analysis time.

Accuracy: Dutch lessons synthesised with espeak-ng (teacher near the
microphone, pupils further away through sox: lower level, low-pass, reverb)
with known speech times and wait times after questions; errors against that
ground truth for both detectors. Cost: CPU time of the VAD per recorded
minute against the recording pipeline's CPU per recorded minute (mux,
segment, encrypt, write; ``bench_pipeline``'s path) measured in the same run,
and the whole analysis of a 45-minute lesson (the synthesised lesson looped)
as a fraction of the lesson's length.
"""

from __future__ import annotations

import io
import logging
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from appliance import age
from appliance.talk import SAMPLE_RATE
from appliance.talk.analysis import analyse_pcm, decode_audio
from appliance.talk.recording import RecordingAudio
from appliance.talk.measures import wait_times
from appliance.talk.vad import SileroVad, WebrtcVad
from bench import bench_pipeline
from tests.support import talk_synth


def _accuracy(lesson, vad) -> dict:
    started = time.process_time()
    tl = analyse_pcm(lesson.pcm, vad)
    cpu = time.process_time() - started
    acc = talk_synth.accuracy(lesson, tl)
    waits = wait_times(tl["segments"], lesson.questions)
    errs = [abs(w["wait_s"] - q["true_wait_s"]) if w["wait_s"] is not None else float("inf")
            for w, q in zip(waits, lesson.questions)]
    acc["wait_mean"] = statistics.mean(errs)
    acc["wait_max"] = max(errs)
    acc["cpu"] = cpu
    return acc


def _vad_cpu(vad, pcm: np.ndarray) -> float:
    started = time.process_time()
    vad.probabilities(pcm)
    return time.process_time() - started


def run(quick: bool) -> str:
    lessons = [talk_synth.synthesize(repeats=1 if quick else 3, seed=s) for s in ((11,) if quick else (11, 23))]
    vads = {"silero (default)": SileroVad(), "webrtc (fallback)": WebrtcVad()}

    lines = [
        "## Talk time and wait time",
        "",
        f"{len(lessons)} synthesised Dutch lesson(s) of "
        + ", ".join(f"{l.duration_s:.0f} s ({len(l.questions)} questions)" for l in lessons)
        + ": espeak-ng `-v nl` teacher near, `nl+f3`/`nl+m3` pupils far (sox: −14…−18 dB, "
        "low-pass 2.8 kHz, reverb), room noise at −58 dBFS. Issue 15's tolerances: talk time "
        "within 10 %, ≥ 90 % of speech time labelled right, wait time within 0.3 s.",
        "",
        "| detector | talk-time error | teacher error | pupils error | speech labelled right | wait error mean | wait error max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, vad in vads.items():
        runs = [_accuracy(l, vad) for l in lessons]
        worst = lambda k, f=max: f(r[k] for r in runs)  # noqa: E731
        lines.append(
            f"| {name} | {worst('talk_err'):.1%} | {worst('near_err'):.1%} | {worst('far_err'):.1%} | "
            f"{worst('labelled_ok', min):.1%} | {statistics.mean(r['wait_mean'] for r in runs):.3f} s | "
            f"{worst('wait_max'):.3f} s |"
        )
    lines += ["", "Worst lesson per column (mean for the mean wait error).", ""]

    # VAD cost per recorded minute vs the recording pipeline in the same run.
    logging.getLogger("appliance.footage.recorder").setLevel(logging.ERROR)
    seconds = 6 if quick else 30
    camera, packets = bench_pipeline._encode_once(seconds)
    disk = Path(tempfile.mkdtemp(prefix="bench-talk-"))
    identity = age.generate_identity()
    recipients = [identity.recipient, age.generate_identity().recipient]
    try:
        pipe = [bench_pipeline._pipeline(camera, packets, disk / f"rec{r}", recipients)[0] for r in range(1 if quick else 3)]
        # Getting the audio back out of a sealed recording: decrypt every
        # segment in memory, demux and decode the AAC, resample to 16 kHz.
        w0, c0 = time.monotonic(), time.process_time()
        with RecordingAudio(disk / "rec0", [identity]) as raw:
            audio = decode_audio(io.BufferedReader(raw, 256 * 1024))
        decode_wall, decode_cpu = time.monotonic() - w0, time.process_time() - c0
        decoded_s = len(audio) / SAMPLE_RATE
    finally:
        shutil.rmtree(disk, ignore_errors=True)
    pipe_min = statistics.median(pipe) * 60 / seconds
    pcm = lessons[0].pcm
    minutes = len(pcm) / SAMPLE_RATE / 60
    decode_min = decode_cpu / (decoded_s / 60)
    lines += [
        "| per recorded minute | CPU s | share of one core | vs recording pipeline |",
        "|---|---:|---:|---:|",
        f"| recording pipeline (1080p30 10 Mbit/s, mux + segment + encrypt + write) | {pipe_min:.3f} | {pipe_min / 60:.1%} | 1.00× |",
    ]
    for name, vad in vads.items():
        cpu = statistics.median(_vad_cpu(vad, pcm) for _ in range(1 if quick else 3)) / minutes
        lines.append(f"| VAD {name} | {cpu:.3f} | {cpu / 60:.1%} | {cpu / pipe_min:.2f}× |")
    lines.append(f"| on demand: decrypt + demux + decode the sealed recording's audio | {decode_min:.3f} | "
                 f"{decode_min / 60:.1%} | {decode_min / pipe_min:.2f}× |")
    vad_45 = {}

    # On-demand analysis of a 45-minute lesson (the synthesised one looped).
    target = (5 if quick else 45) * 60 * SAMPLE_RATE
    long = np.tile(pcm, int(np.ceil(target / len(pcm))))[:target]
    lines += [
        "",
        f"| on-demand analysis of a {target // SAMPLE_RATE // 60}-minute lesson (16 kHz PCM in memory) | wall s | CPU s | of the lesson's length |",
        "|---|---:|---:|---:|",
    ]
    for name, vad in vads.items():
        w0, c0 = time.monotonic(), time.process_time()
        tl = analyse_pcm(long, vad)
        wall, cpu = time.monotonic() - w0, time.process_time() - c0
        lines.append(f"| {name} ({len(tl['segments'])} segments) | {wall:.1f} | {cpu:.1f} | {wall / (target / SAMPLE_RATE):.2%} |")
        vad_45[name] = wall
    lesson_min = target / SAMPLE_RATE / 60
    lines += [
        "",
        f"Getting the audio out of a sealed 1080p30 recording (measured on {decoded_s:.0f} s, "
        f"{decode_wall:.2f} s wall) adds about {decode_wall / decoded_s * 60 * lesson_min:.0f} s for "
        f"{lesson_min:.0f} minutes, so an on-demand analysis takes about "
        + ", ".join(f"{(w + decode_wall / decoded_s * 60 * lesson_min):.0f} s with {n}" for n, w in vad_45.items())
        + ". While recording, the live VAD (`LiveTalk`) does the VAD row's work on its own nice-10 thread.",
    ]
    return "\n".join(lines) + "\n"
