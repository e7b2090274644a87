"""Talk-time and wait-time measures, computed from a talk timeline when shown.

Wait time 1 (Rowe): after a coded question, the time from the end of the
teacher's speech the question belongs to until the next speech (anyone's)
starts. The question belongs to the near segment that contains the code's
``t``, or else to the last near segment that ended at most
``QUESTION_LOOKBACK_S`` before it (coders click during or just after the
question).

Wait time 2 (Rowe): after the pupils' answer to a coded question, the time
from the end of the answer until the teacher speaks again. The answer is
the far speech that follows the question's wait, up to the teacher's next
speech; when the next speech after the question is the teacher's own (she
answers or rephrases it herself) there was no answer and neither the
answer length nor wait time 2 exists. The answer length is the span of
that far speech, pauses inside it included, because a coach reads it as
"how long did the pupils get to answer".
"""

from __future__ import annotations

import statistics
from typing import Any, Iterable

from appliance.coding.statistics import WINDOW_S

QUESTION_LOOKBACK_S = 3.0
# A possible question → answer: the teacher stops, and within this long
# pupils speak for at least SUGGEST_MIN_ANSWER_S.
SUGGEST_MAX_GAP_S = 5.0
SUGGEST_MIN_ANSWER_S = 1.0
LONG_WAIT_S = 3.0
CATEGORIES = (1, 2, 3)


def totals(segments: list[dict], duration_s: float) -> dict[str, float]:
    """Seconds of near speech, far speech and silence.

    >>> totals([{"start_s": 0, "end_s": 2, "voice": "near"}, {"start_s": 3, "end_s": 4, "voice": "far"}], 10)
    {'near_s': 2.0, 'far_s': 1.0, 'silence_s': 7.0}
    """
    near = sum(s["end_s"] - s["start_s"] for s in segments if s["voice"] == "near")
    far = sum(s["end_s"] - s["start_s"] for s in segments if s["voice"] == "far")
    return {
        "near_s": round(float(near), 3),
        "far_s": round(float(far), 3),
        "silence_s": round(float(max(0.0, duration_s - near - far)), 3),
    }


def corrected(segments: list[dict], corrections: Iterable[dict]) -> list[dict]:
    """The segments with the coach's corrections applied: a corrected
    segment gets the voice she chose, confidence 1 and ``corrected: True``.

    >>> corrected([{"start_s": 1.0, "end_s": 2.0, "voice": "near", "confidence": 0.6}],
    ...           [{"start_s": 1.0, "voice": "far"}])
    [{'start_s': 1.0, 'end_s': 2.0, 'voice': 'far', 'confidence': 1.0, 'corrected': True}]
    """
    by_start = {round(float(c["start_s"]), 3): c["voice"] for c in corrections}
    out = []
    for seg in segments:
        voice = by_start.get(round(float(seg["start_s"]), 3))
        out.append({**seg, "voice": voice, "confidence": 1.0, "corrected": True} if voice else dict(seg))
    return out


def suggestions(segments: list[dict], codes: Iterable[dict] = ()) -> list[dict[str, float]]:
    """Moments that sound like a question and its answer, not yet coded:
    the teacher's turn ends and pupils answer for a while soon after.
    ``t`` is the end of her turn (where the question is), ``wait_s`` the
    pause before the answer, ``answer_s`` its length.

    >>> suggestions([{"start_s": 0, "end_s": 4, "voice": "near"}, {"start_s": 6, "end_s": 9, "voice": "far"}])
    [{'t': 4.0, 'wait_s': 2.0, 'answer_s': 3.0}]
    >>> suggestions([{"start_s": 0, "end_s": 4, "voice": "near"}, {"start_s": 6, "end_s": 9, "voice": "far"}],
    ...             [{"kind": "question", "t": 4.5, "category": 2}])
    []
    """
    questions = [float(c["t"]) for c in codes if c.get("kind") == "question"]
    tr = turns(segments)
    out = []
    for this, following in zip(tr, tr[1:]):
        if this["voice"] != "near" or following["voice"] != "far":
            continue
        wait = following["start_s"] - this["end_s"]
        answer = following["end_s"] - following["start_s"]
        if wait > SUGGEST_MAX_GAP_S or answer < SUGGEST_MIN_ANSWER_S:
            continue
        if any(this["start_s"] <= q <= this["end_s"] + QUESTION_LOOKBACK_S for q in questions):
            continue  # the coach coded it already
        out.append({"t": round(float(this["end_s"]), 3), "wait_s": round(float(wait), 3),
                    "answer_s": round(float(answer), 3)})
    return out


def turns(segments: list[dict], join_gap_s: float = 1.0) -> list[dict]:
    """Consecutive speech of one voice with pauses shorter than ``join_gap_s``."""
    out: list[dict] = []
    for s in segments:
        if out and out[-1]["voice"] == s["voice"] and s["start_s"] - out[-1]["end_s"] < join_gap_s:
            out[-1]["end_s"] = s["end_s"]
        else:
            out.append({"voice": s["voice"], "start_s": s["start_s"], "end_s": s["end_s"]})
    return out


def wait_times(segments: list[dict], codes: Iterable[dict]) -> list[dict[str, Any]]:
    """Wait time 1, the answer and wait time 2 after each coded question
    (None where not found).

    >>> segs = [{"start_s": 0, "end_s": 2, "voice": "near"}, {"start_s": 4.5, "end_s": 6, "voice": "far"},
    ...         {"start_s": 7.2, "end_s": 9, "voice": "near"}]
    >>> wait_times(segs, [{"id": "c1", "t": 1.5, "kind": "question", "category": 2}])
    [{'code_id': 'c1', 't': 1.5, 'category': 2, 'wait_s': 2.5, 'answer_s': 1.5, 'wait2_s': 1.2}]
    """
    ordered = sorted(segments, key=lambda s: s["start_s"])
    out = []
    for code in sorted((c for c in codes if c.get("kind") == "question"), key=lambda c: c["t"]):
        t = float(code["t"])
        owner = None
        for s in ordered:
            if s["voice"] != "near":
                continue
            if s["start_s"] <= t <= s["end_s"]:
                owner = s
                break
            if s["end_s"] < t and t - s["end_s"] <= QUESTION_LOOKBACK_S:
                owner = s  # keep the latest one before t
            if s["start_s"] > t:
                break
        wait = answer = wait2 = None
        if owner is not None:
            after = [s for s in ordered if s["start_s"] >= owner["end_s"] and s is not owner]
            if after:
                wait = round(after[0]["start_s"] - owner["end_s"], 3)
                answer, wait2 = _answer(after)
        out.append({"code_id": code.get("id"), "t": t, "category": code.get("category"), "wait_s": wait,
                    "answer_s": answer, "wait2_s": wait2})
    return out


def _answer(after: list[dict]) -> tuple[float | None, float | None]:
    """(answer length, wait time 2) from the speech after a question's wait."""
    if after[0]["voice"] != "far":
        return None, None
    answer_end = after[0]["end_s"]
    for s in after[1:]:
        if s["voice"] == "near":
            return round(answer_end - after[0]["start_s"], 3), round(s["start_s"] - answer_end, 3)
        answer_end = max(answer_end, s["end_s"])
    # The lesson ended (or the recording did) before the teacher spoke again.
    return round(answer_end - after[0]["start_s"], 3), None


def clip(segments: list[dict], start_s: float, end_s: float) -> list[dict]:
    """The parts of ``segments`` inside [start_s, end_s), so a 10-minute
    window counts only its own seconds of a segment that crosses its edge.

    >>> clip([{"start_s": 5, "end_s": 15, "voice": "near"}], 10, 20)
    [{'start_s': 10, 'end_s': 15, 'voice': 'near'}]
    """
    out = []
    for s in segments:
        a, b = max(s["start_s"], start_s), min(s["end_s"], end_s)
        if b > a:
            out.append({**s, "start_s": a, "end_s": b})
    return out


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def _median(values: list[float]) -> float | None:
    return round(float(statistics.median(values)), 3) if values else None


def _long_share(values: list[float]) -> float | None:
    return round(sum(1 for w in values if w >= LONG_WAIT_S) / len(values), 4) if values else None


def by_category(waits: list[dict]) -> list[dict[str, Any]]:
    """Wait time 1 per question category (1–3): how many questions, how many
    waits were measured, their total, mean and share of 3 s or more.

    >>> by_category([{"category": 2, "wait_s": 3.5}, {"category": 2, "wait_s": 0.5}])[1]
    {'category': 2, 'questions': 2, 'measured': 2, 'total_wait_s': 4.0, 'mean_wait_s': 2.0, 'long_wait_share': 0.5}
    """
    out = []
    for cat in CATEGORIES:
        mine = [w for w in waits if w.get("category") == cat]
        measured = [w["wait_s"] for w in mine if w["wait_s"] is not None]
        out.append({
            "category": cat,
            "questions": len(mine),
            "measured": len(measured),
            "total_wait_s": round(sum(measured), 3),
            "mean_wait_s": _mean(measured),
            "long_wait_share": _long_share(measured),
        })
    return out


def windows(segments: list[dict], duration_s: float, window_s: float) -> list[dict[str, Any]]:
    """Talk totals and shares for each window of ``window_s`` (the last one
    as long as what is left of the lesson)."""
    out = []
    start = 0.0
    while start < duration_s or not out:
        end = min(duration_s, start + window_s) if duration_s else start + window_s
        tot = totals(clip(segments, start, end), end - start)
        out.append({"start_s": start, "end_s": round(end, 3), **tot, "shares": _shares(tot, end - start)})
        start += window_s
    return out


def _shares(tot: dict[str, float], length_s: float) -> dict[str, float]:
    whole = length_s or 1.0
    return {
        "near": round(tot["near_s"] / whole, 4),
        "far": round(tot["far_s"] / whole, 4),
        "silence": round(tot["silence_s"] / whole, 4),
    }


def summary(timeline: dict, codes: Iterable[dict] = (), window: tuple[float, float] | None = None,
            window_s: float = WINDOW_S) -> dict[str, Any]:
    """Everything the statistics page shows about talk and wait time.

    ``window`` (start, end) limits the talk figures to that part of the
    lesson and the waits to the questions coded in it, as the page's period
    selector does for the codes; a wait is still measured on the whole
    timeline, so a question just before the window's end keeps its answer.
    ``windows`` always holds the talk shares per ``window_s``.
    """
    codes = list(codes)
    all_segments = timeline.get("segments", [])
    duration = float(timeline.get("duration_s") or 0.0)
    waits = wait_times(all_segments, codes)
    segments, length = all_segments, duration
    if window is not None:
        start, end = float(window[0]), float(window[1])
        segments, length = clip(all_segments, start, end), max(0.0, end - start)
        waits = [w for w in waits if start <= w["t"] < end]
    tot = totals(segments, length)
    tr = turns(segments)
    near_turns = [t["end_s"] - t["start_s"] for t in tr if t["voice"] == "near"]
    measured = [w["wait_s"] for w in waits if w["wait_s"] is not None]
    answers = [w["answer_s"] for w in waits if w["answer_s"] is not None]
    waits2 = [w["wait2_s"] for w in waits if w["wait2_s"] is not None]
    return {
        "totals": tot,
        "shares": _shares(tot, length),
        "longest_near_s": round(max(near_turns, default=0.0), 3),
        "turns": len(tr),
        "wait_times": waits,
        "mean_wait_s": _mean(measured),
        "long_wait_share": _long_share(measured),
        "mean_wait2_s": _mean(waits2),
        "long_wait2_share": _long_share(waits2),
        "median_answer_s": _median(answers),
        "mean_answer_s": _mean(answers),
        "by_category": by_category(waits),
        "window": [window[0], window[1]] if window is not None else None,
        "windows": windows(all_segments, duration, window_s),
        "suggestions": suggestions(all_segments, codes),
    }
