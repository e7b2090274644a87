"""Per-lesson statistics for the school server, only where the teacher opted in.

Only counts leave the kit (``stats.lesson``): how many instructions,
questions and feedback codes, questions per category, positive and negative
feedback, pearls and puzzles, and the lesson's duration — the numbers the
statistics page shows — and, once talk time was measured, four shares in
``ratios`` (teacher / pupils / silence, waits of 3 s or more). Never a
text, the time of a code or of speech, or anything else from the
annotations document or the talk timeline.

The choice is per recording, and only the recording's teacher makes it
(``ui/blueprints/stats.py`` checks that). It lives in the catalogue table
``stats_sharing``: ``opted_in`` 1 once the teacher switched sharing on, 0
(or no row) otherwise. No setting, from the school server or anyone else,
can switch it on for her. ``sent`` is the payload last queued, so a save that
changes no number queues nothing.
Switching off queues ``stats.withdrawn``, on which the server drops the
numbers it holds for that lesson.

>>> doc = {"codes": [{"t": 1, "kind": "question", "category": 2},
...                  {"t": 2, "kind": "feedback", "valence": "positive", "level": "content"}],
...        "clips": [{"in": 0, "out": 5, "kind": "pearl"}], "notes": "not shared"}
>>> p = payload("r1", doc, 120)
>>> sorted(p), p["counts"]["question_cat2"], p["counts"]["feedback_positive"], p["counts"]["pearls"]
(['counts', 'duration_s', 'opted_in', 'recording_id'], 1, 1, 1)
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

from appliance.coding.statistics import lesson_statistics

log = logging.getLogger("appliance.coding.stats_sharing")

_TABLE = """CREATE TABLE IF NOT EXISTS stats_sharing (
    recording_id TEXT PRIMARY KEY, opted_in INTEGER, changed_at TEXT, sent TEXT)"""


def talk_ratios(talk: dict[str, Any] | None) -> dict[str, float]:
    """Aggregate talk and wait time for ``ratios``: shares only, no times.

    >>> talk_ratios({"shares": {"near": 0.6, "far": 0.2, "silence": 0.2}, "long_wait_share": 0.5})
    {'talk_near': 0.6, 'talk_far': 0.2, 'talk_silence': 0.2, 'wait_3s_or_more': 0.5}
    """
    if not talk:
        return {}
    out = {f"talk_{k}": round(float(talk["shares"][k]), 3) for k in ("near", "far", "silence")}
    if talk.get("long_wait_share") is not None:
        out["wait_3s_or_more"] = round(float(talk["long_wait_share"]), 3)
    return out


def payload(recording_id: str, doc: dict[str, Any], duration_s: float,
            talk: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``stats.lesson`` payload: counts over the whole lesson, nothing else;
    with a measured ``talk`` summary (``appliance.talk.measures.summary``) also
    the talk-time shares and the share of waits of 3 s or more in ``ratios``."""
    s = lesson_statistics(doc, duration_s)
    counts = dict(s["counts"])
    counts.update({f"question_cat{cat}": n for cat, n in s["questions"].items()})
    counts.update(feedback_positive=s["feedback"]["positive"], feedback_negative=s["feedback"]["negative"],
                  pearls=s["pearls"], puzzles=s["puzzles"])
    out = {"recording_id": recording_id, "opted_in": True, "duration_s": round(float(duration_s), 1),
           "counts": counts}
    ratios = talk_ratios(talk)
    if ratios:
        out["ratios"] = ratios
    return out


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class StatsSharing:
    """The teacher's choice per recording and the outbox events that follow it."""

    def __init__(self, catalogue: Any) -> None:
        self.catalogue = catalogue
        with catalogue.transaction() as db:
            db.execute(_TABLE)

    def _row(self, recording_id: str) -> dict | None:
        return self.catalogue.query_one(
            "SELECT opted_in, sent FROM stats_sharing WHERE recording_id = ?", (recording_id,))

    def is_shared(self, recording_id: str) -> bool:
        """Only the teacher's own "on" shares (a NULL left by older kits is off)."""
        row = self._row(recording_id)
        return row is not None and row["opted_in"] == 1

    def choose(self, recording_id: str, share: bool, doc: dict[str, Any], duration_s: float,
               talk: dict[str, Any] | None = None) -> None:
        """The teacher's switch: on queues the current counts, off queues a withdrawal."""
        with self.catalogue.transaction() as db:
            was = self.is_shared(recording_id)
            sent = None
            if share:
                data = payload(recording_id, doc, duration_s, talk)
                self.catalogue.emit("stats.lesson", data)
                sent = json.dumps(data, sort_keys=True)
            elif was or (self._row(recording_id) or {}).get("sent"):
                self.catalogue.emit("stats.withdrawn", {"recording_id": recording_id, "opted_in": False})
            db.execute(
                "INSERT INTO stats_sharing (recording_id, opted_in, changed_at, sent) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(recording_id) DO UPDATE SET opted_in = excluded.opted_in, "
                "changed_at = excluded.changed_at, sent = excluded.sent",
                (recording_id, int(share), _now(), sent))

    def saved(self, recording_id: str, doc: dict[str, Any], duration_s: float,
              talk: dict[str, Any] | None = None) -> bool:
        """After the annotations (or the talk timeline) were saved: queue new
        counts if shared and changed."""
        if not self.is_shared(recording_id):
            return False
        data = payload(recording_id, doc, duration_s, talk)
        encoded = json.dumps(data, sort_keys=True)
        with self.catalogue.transaction() as db:
            row = self._row(recording_id)
            if row is not None and row["sent"] == encoded:
                return False
            self.catalogue.emit("stats.lesson", data)
            db.execute("UPDATE stats_sharing SET sent = ? WHERE recording_id = ?", (encoded, recording_id))
        return True
