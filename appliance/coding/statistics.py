"""Lesson statistics from the coding, and their charts as plain SVG.

The figures follow the baseline analysis the coaches use: per lesson or per
10-minute window, counts and rate per minute, the question mix, the
positive:negative feedback ratio and pearls:puzzles, each beside its norm.

>>> doc = {"codes": [{"t": 1, "kind": "instruction"}, {"t": 2, "kind": "question", "category": 2},
...        {"t": 3, "kind": "feedback", "valence": "positive", "level": "content", "progress": False}],
...        "clips": [{"in": 0, "out": 4, "kind": "pearl"}]}
>>> s = lesson_statistics(doc, duration_s=120)
>>> s["counts"]["question"], s["rate_per_min"]["instruction"], s["pearls"]
(1, 0.5, 1)
"""

from __future__ import annotations

from typing import Any

WINDOW_S = 600.0
NORM_FEEDBACK_RATIO = 3.0
NORM_PEARL_RATIO = 2.0


def window_span(duration_s: float, window_start_s: float | None = None) -> tuple[float, float]:
    """(start, end) of the lesson or of the window starting at ``window_start_s``.

    >>> window_span(1500, 1200), window_span(1500)
    ((1200.0, 1500.0), (0.0, 1500.0))
    """
    start, end = 0.0, float(max(duration_s, 0.0))
    if window_start_s is not None:
        start = max(0.0, float(window_start_s))
        end = min(end, start + WINDOW_S) if end else start + WINDOW_S
    return start, end


def lesson_statistics(doc: dict[str, Any], duration_s: float, window_start_s: float | None = None) -> dict[str, Any]:
    start, end = window_span(duration_s, window_start_s)
    span_min = max(end - start, 1e-9) / 60.0
    codes = [c for c in doc.get("codes", []) if start <= float(c["t"]) < end or (end == start == 0)]
    clips = [k for k in doc.get("clips", []) if float(k["in"]) < end and float(k["out"]) > start]
    counts = {kind: sum(1 for c in codes if c["kind"] == kind) for kind in ("instruction", "question", "feedback")}
    questions = {cat: sum(1 for c in codes if c["kind"] == "question" and c.get("category") == cat) for cat in (1, 2, 3)}
    positive = sum(1 for c in codes if c["kind"] == "feedback" and c.get("valence") == "positive")
    negative = sum(1 for c in codes if c["kind"] == "feedback" and c.get("valence") == "negative")
    levels = {lvl: sum(1 for c in codes if c["kind"] == "feedback" and c.get("level") == lvl)
              for lvl in ("content", "strategy", "modus", "personal")}
    pearls = sum(1 for k in clips if k["kind"] == "pearl")
    puzzles = sum(1 for k in clips if k["kind"] == "puzzle")
    higher = questions[2] + questions[3]
    return {
        "window": (start, end),
        "minutes": span_min,
        "counts": counts,
        "rate_per_min": {k: round(v / span_min, 2) for k, v in counts.items()},
        "questions": questions,
        "feedback": {"positive": positive, "negative": negative, "levels": levels,
                     "progress": sum(1 for c in codes if c.get("progress"))},
        "feedback_ratio": _ratio(positive, negative),
        "feedback_norm_met": positive >= NORM_FEEDBACK_RATIO * negative and positive > 0,
        "higher_questions": higher,
        "question_norm_met": higher > counts["instruction"],
        "pearls": pearls,
        "puzzles": puzzles,
        "pearl_ratio": _ratio(pearls, puzzles),
        "pearl_norm_met": pearls > 0 and abs(pearls - NORM_PEARL_RATIO * puzzles) <= max(1, puzzles),
        "timeline": [(float(c["t"]), c["kind"]) for c in codes],
        "clip_spans": [(float(k["in"]), float(k["out"]), k["kind"]) for k in clips],
    }


def _ratio(a: int, b: int) -> float | None:
    """
    >>> _ratio(6, 2), _ratio(1, 0)
    (3.0, None)
    """
    return round(a / b, 2) if b else None
