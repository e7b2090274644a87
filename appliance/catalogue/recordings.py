"""Recordings, their sealed segments and bookmarks."""

from __future__ import annotations

import json
import uuid
from typing import Iterable

from .database import CatalogueBase
from .errors import UnknownRecording
from .views import RECIPIENT_MATCH, recipient_param


def _summary(row: dict) -> dict:
    """The metadata of a recording the school server may see."""
    return {
        "recording_id": row["id"],
        "teacher_id": row["teacher_id"],
        "coach_id": row["coach_id"],
        "started_at": row["started_at"],
        "clock_trusted": bool(row["clock_trusted"]),
        "duration_s": round(float(row["duration_s"]), 3),
        "segments": row["segments"],
        "bytes": row["bytes"],
        "state": row["state"],
        "retention_until": row["retention_until"],
    }


class RecordingsMixin(CatalogueBase):
    def create_recording(
        self,
        teacher_id: str,
        coach_id: str,
        recipients: Iterable[str],
        recording_id: str | None = None,
        projection: str = "flat",
    ) -> dict:
        if projection not in ("flat", "equirectangular"):
            raise ValueError("projection is flat or equirectangular")
        stamp = self.clock.now()
        row = {
            "id": recording_id or "r-" + uuid.uuid4().hex[:16],
            "teacher_id": teacher_id,
            "coach_id": coach_id,
            "recipients": json.dumps(list(recipients)),
            "boot_id": stamp.boot_id,
            "started_mono": stamp.mono,
            "started_at": stamp.wall_iso,
            "clock_trusted": int(stamp.trusted),
            "duration_s": 0.0,
            "segments": 0,
            "bytes": 0,
            "state": "recording",
            "retention_until": None,
            "projection": projection,
        }
        with self.transaction() as db:
            db["recordings"].insert(row)
            self.emit("recording.started", _summary(row))
        return row

    def get_recording(self, recording_id: str) -> dict | None:
        row = self.query_one("SELECT * FROM recordings WHERE id = ?", (recording_id,))
        if row is not None:
            row["recipients"] = json.loads(row["recipients"])
        return row

    def require_recording(self, recording_id: str) -> dict:
        row = self.get_recording(recording_id)
        if row is None:
            raise UnknownRecording(recording_id)
        return row

    def list_recordings(self, state: str | None = None) -> list[dict]:
        if state:
            rows = self.query(
                "SELECT * FROM recordings WHERE state = ? ORDER BY started_mono DESC, started_at DESC",
                (state,),
            )
        else:
            rows = self.query("SELECT * FROM recordings ORDER BY started_at DESC")
        for row in rows:
            row["recipients"] = json.loads(row["recipients"])
        return rows

    def recordings_visible_to(self, who: str) -> list[dict]:
        """Recordings encrypted to a person (by id) or to an ``age1…`` recipient.

        What decides is the recipient list the footage was encrypted to, not
        the role: a person sees exactly the recordings their key opens.
        """
        recipient = who
        if not who.startswith("age1"):
            person = self.get_person(who)  # type: ignore[attr-defined]
            if person is None:
                return []
            recipient = person["recipient"]
        rows = self.query(f"SELECT * FROM recordings r WHERE {RECIPIENT_MATCH} ORDER BY started_at DESC",
                          (recipient_param(recipient),))
        for row in rows:
            row["recipients"] = json.loads(row["recipients"])
        return rows

    def add_segment(
        self, recording_id: str, idx: int, start_s: float, duration_s: float, size: int
    ) -> None:
        """Record a sealed segment (index 0 is the init segment) and update the totals."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO segments (recording_id, idx, start_s, duration_s, bytes) "
                "VALUES (?, ?, ?, ?, ?)",
                (recording_id, idx, start_s, duration_s, size),
            )
            self._update_totals(recording_id)

    def _update_totals(self, recording_id: str) -> None:
        self.db.execute(
            """UPDATE recordings SET
                segments = (SELECT COUNT(*) FROM segments WHERE recording_id = :id AND idx > 0),
                bytes = (SELECT COALESCE(SUM(bytes), 0) FROM segments WHERE recording_id = :id),
                duration_s = (SELECT COALESCE(MAX(start_s + duration_s), 0)
                              FROM segments WHERE recording_id = :id AND idx > 0)
               WHERE id = :id""",
            {"id": recording_id},
        )

    def list_segments(self, recording_id: str) -> list[dict]:
        return self.query(
            "SELECT * FROM segments WHERE recording_id = ? ORDER BY idx", (recording_id,)
        )

    def finish_recording(self, recording_id: str) -> dict:
        with self.transaction() as db:
            self.require_recording(recording_id)
            db.execute(
                "UPDATE recordings SET state = 'complete' WHERE id = ? AND state = 'recording'",
                (recording_id,),
            )
            row = self.require_recording(recording_id)
            self.emit("recording.finished", _summary(row))
        return row

    def mark_interrupted(
        self,
        recording_id: str,
        sealed: Iterable[tuple[int, int]] = (),
        segment_seconds: float = 2.0,
    ) -> dict:
        """After a power cut: state ``interrupted``; reconcile with the sealed files.

        ``sealed`` lists ``(index, bytes)`` of the files that survived. A file
        can be sealed a moment before its catalogue row was written; such
        segments are added with the nominal duration. Rows whose file did
        not survive are dropped.
        """
        sealed = list(sealed)
        with self.transaction() as db:
            self.require_recording(recording_id)
            if sealed:
                on_disk = {idx: size for idx, size in sealed}
                known = {r["idx"]: r for r in self.list_segments(recording_id)}
                for idx in sorted(set(known) - set(on_disk)):
                    db.execute(
                        "DELETE FROM segments WHERE recording_id = ? AND idx = ?",
                        (recording_id, idx),
                    )
                end = max(
                    [r["start_s"] + r["duration_s"] for i, r in known.items() if i in on_disk and i > 0],
                    default=0.0,
                )
                for idx in sorted(set(on_disk) - set(known)):
                    duration = segment_seconds if idx > 0 else 0.0
                    db.execute(
                        "INSERT INTO segments (recording_id, idx, start_s, duration_s, bytes) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (recording_id, idx, end if idx > 0 else 0.0, duration, on_disk[idx]),
                    )
                    end += duration
                self._update_totals(recording_id)
            db.execute(
                "UPDATE recordings SET state = 'interrupted' WHERE id = ?", (recording_id,)
            )
            row = self.require_recording(recording_id)
            self.emit("recording.interrupted", _summary(row))
        return row

    def discard_recording(self, recording_id: str) -> None:
        """Forget a recording that never sealed a media segment (the camera did not start)."""
        with self.transaction() as db:
            row = self.require_recording(recording_id)
            if row["segments"] > 0:
                raise ValueError("only a recording without media segments can be discarded")
            db.execute("DELETE FROM segments WHERE recording_id = ?", (recording_id,))
            db.execute("DELETE FROM bookmarks WHERE recording_id = ?", (recording_id,))
            db.execute("DELETE FROM recordings WHERE id = ?", (recording_id,))
            self.emit("recording.discarded", {"recording_id": recording_id})

    # -- bookmarks -----------------------------------------------------------

    def add_bookmark(self, recording_id: str, offset_s: float) -> int:
        with self.transaction() as db:
            self.require_recording(recording_id)
            cursor = db.execute(
                "INSERT INTO bookmarks (recording_id, offset_s, created_at) VALUES (?, ?, ?)",
                (recording_id, round(offset_s, 3), self.clock.now().wall_iso),
            )
            bookmark_id = int(cursor.lastrowid)
            self.emit(
                "bookmark.added",
                {"bookmark_id": bookmark_id, "recording_id": recording_id, "offset_s": round(offset_s, 3)},
            )
        return bookmark_id

    def list_bookmarks(self, recording_id: str) -> list[dict]:
        return self.query(
            "SELECT * FROM bookmarks WHERE recording_id = ? ORDER BY offset_s", (recording_id,)
        )
