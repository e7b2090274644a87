"""What the review app reads from (and the admin writes to) the catalogue.

The catalogue is SQLite with the schema in ``docs/architecture.md``. The app
opens its own short-lived connections (one per request thread) and only
reads footage metadata; it never holds a transaction open while streaming.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str
    recipient: str


@dataclass(frozen=True)
class Recording:
    id: str
    teacher_id: str
    coach_id: str
    teacher_name: str | None
    coach_name: str | None
    recipients: tuple[str, ...]
    started_at: str
    duration_s: float
    segments: int
    bytes: int
    state: str
    retention_until: str | None

    def is_for(self, recipient: str | None) -> bool:
        return recipient is not None and recipient in self.recipients


@dataclass(frozen=True)
class Segment:
    idx: int
    start_s: float
    duration_s: float
    bytes: int


_RECORDING_SELECT = """
SELECT r.id, r.teacher_id, r.coach_id, t.name AS teacher_name, c.name AS coach_name,
       r.recipients, r.started_at, r.duration_s, r.segments, r.bytes, r.state, r.retention_until
FROM recordings r
LEFT JOIN people t ON t.id = r.teacher_id
LEFT JOIN people c ON c.id = r.coach_id
"""


def _recording(row: sqlite3.Row) -> Recording:
    try:
        recipients = tuple(json.loads(row["recipients"]))
    except (TypeError, ValueError):
        recipients = ()
    return Recording(
        id=row["id"],
        teacher_id=row["teacher_id"],
        coach_id=row["coach_id"],
        teacher_name=row["teacher_name"],
        coach_name=row["coach_name"],
        recipients=recipients,
        started_at=row["started_at"],
        duration_s=float(row["duration_s"] or 0),
        segments=int(row["segments"] or 0),
        bytes=int(row["bytes"] or 0),
        state=row["state"],
        retention_until=row["retention_until"],
    )


class CatalogueAccess:
    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db_path, timeout=10, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 10000")
            self._local.conn = conn
        return conn

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        if not self.db_path.exists():
            return []
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise

    # people -----------------------------------------------------------------
    def people(self) -> list[Person]:
        rows = self._rows("SELECT id, name, role, recipient FROM people ORDER BY name COLLATE NOCASE")
        return [Person(r["id"], r["name"], r["role"], r["recipient"]) for r in rows]

    def person(self, person_id: str) -> Person | None:
        rows = self._rows("SELECT id, name, role, recipient FROM people WHERE id = ?", (person_id,))
        return Person(rows[0]["id"], rows[0]["name"], rows[0]["role"], rows[0]["recipient"]) if rows else None

    def assignment(self) -> tuple[str, str] | None:
        rows = self._rows("SELECT teacher_id, coach_id FROM assignment WHERE id = 1")
        return (rows[0]["teacher_id"], rows[0]["coach_id"]) if rows else None

    # recordings -------------------------------------------------------------
    def recordings_for(self, recipient: str) -> list[Recording]:
        """Recordings whose recipients include ``recipient``, newest first."""
        rows = self._rows(
            _RECORDING_SELECT
            + " WHERE EXISTS (SELECT 1 FROM json_each(r.recipients) WHERE json_each.value = ?)"
            " ORDER BY r.started_at DESC",
            (recipient,),
        )
        return [_recording(r) for r in rows]

    def library_rows(self, recipient: str) -> list[tuple]:
        """``(id, started_at, duration_s, state, retention_until, teacher_name, coach_name)``
        for the recordings encrypted to ``recipient``, newest first (plain tuples: the
        library page reads a thousand of them)."""
        if not self.db_path.exists():
            return []
        cursor = self._conn().cursor()
        cursor.row_factory = None
        try:
            return cursor.execute(
                "SELECT r.id, r.started_at, r.duration_s, r.state, r.retention_until, t.name, c.name"
                " FROM recordings r LEFT JOIN people t ON t.id = r.teacher_id LEFT JOIN people c ON c.id = r.coach_id"
                # The quoted recipient as a substring of the JSON list is an exact
                # element match (age1… strings need no JSON escaping) and much
                # cheaper than json_each on every row.
                " WHERE instr(r.recipients, ?) > 0"
                " ORDER BY r.started_at DESC",
                (json.dumps(recipient),),
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise

    def recording(self, recording_id: str) -> Recording | None:
        rows = self._rows(_RECORDING_SELECT + " WHERE r.id = ?", (recording_id,))
        return _recording(rows[0]) if rows else None

    def segments(self, recording_id: str) -> list[Segment]:
        rows = self._rows(
            "SELECT idx, start_s, duration_s, bytes FROM segments WHERE recording_id = ? ORDER BY idx",
            (recording_id,),
        )
        return [Segment(r["idx"], float(r["start_s"]), float(r["duration_s"]), r["bytes"]) for r in rows]

    def segment(self, recording_id: str, idx: int) -> Segment | None:
        rows = self._rows(
            "SELECT idx, start_s, duration_s, bytes FROM segments WHERE recording_id = ? AND idx = ?",
            (recording_id, idx),
        )
        return Segment(rows[0]["idx"], float(rows[0]["start_s"]), float(rows[0]["duration_s"]), rows[0]["bytes"]) \
            if rows else None

    def bookmarks(self, recording_id: str) -> list[float]:
        rows = self._rows(
            "SELECT offset_s FROM bookmarks WHERE recording_id = ? ORDER BY offset_s", (recording_id,)
        )
        return [float(r["offset_s"]) for r in rows]

    # settings ---------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for row in self._rows("SELECT key, value FROM settings ORDER BY key"):
            try:
                out[row["key"]] = json.loads(row["value"])
            except ValueError:
                out[row["key"]] = row["value"]
        return out

    def iter_recording_ids(self) -> Iterator[str]:
        for row in self._rows("SELECT id FROM recordings"):
            yield row["id"]
