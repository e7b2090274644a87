"""Talk-time and wait-time measures, computed from a talk timeline when shown.

Wait time 1 (Rowe): after a coded question, the time from the end of the
teacher's speech the question belongs to until the next speech (anyone's)
starts. The question belongs to the near segment that contains the code's
``t``, or else to the last near segment that ended at most
``QUESTION_LOOKBACK_S`` before it (coders click during or just after the
question).
"""

from __future__ import annotations

from typing import Any, Iterable

QUESTION_LOOKBACK_S = 3.0
LONG_WAIT_S = 3.0


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
    """Wait time 1 after each coded question (``wait_s`` None when not found).

    >>> segs = [{"start_s": 0, "end_s": 2, "voice": "near"}, {"start_s": 4.5, "end_s": 6, "voice": "far"}]
    >>> wait_times(segs, [{"id": "c1", "t": 1.5, "kind": "question", "category": 2}])
    [{'code_id': 'c1', 't': 1.5, 'category': 2, 'wait_s': 2.5}]
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
        wait = None
        if owner is not None:
            nxt = next((s for s in ordered if s["start_s"] >= owner["end_s"] and s is not owner), None)
            if nxt is not None:
                wait = round(nxt["start_s"] - owner["end_s"], 3)
        out.append({"code_id": code.get("id"), "t": t, "category": code.get("category"), "wait_s": wait})
    return out


def summary(timeline: dict, codes: Iterable[dict] = ()) -> dict[str, Any]:
    """Everything the statistics page shows about talk and wait time."""
    segments = timeline.get("segments", [])
    duration = float(timeline.get("duration_s") or 0.0)
    tot = totals(segments, duration)
    whole = duration or 1.0
    tr = turns(segments)
    near_turns = [t["end_s"] - t["start_s"] for t in tr if t["voice"] == "near"]
    waits = wait_times(segments, codes)
    measured = [w["wait_s"] for w in waits if w["wait_s"] is not None]
    return {
        "totals": tot,
        "shares": {
            "near": round(tot["near_s"] / whole, 4),
            "far": round(tot["far_s"] / whole, 4),
            "silence": round(tot["silence_s"] / whole, 4),
        },
        "longest_near_s": round(max(near_turns, default=0.0), 3),
        "turns": len(tr),
        "wait_times": waits,
        "mean_wait_s": round(sum(measured) / len(measured), 3) if measured else None,
        "long_wait_share": round(sum(1 for w in measured if w >= LONG_WAIT_S) / len(measured), 4) if measured else None,
    }
