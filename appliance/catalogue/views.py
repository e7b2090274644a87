"""Read-only views of the catalogue for the review app: small frozen records.

The review app reads footage metadata on every request; these methods give
it immutable values (never a row it could write back) and own the one rule
for who sees a recording: its ``recipients`` list holds the person's key.

>>> import tempfile, pathlib
>>> from appliance.catalogue import Catalogue
>>> cat = Catalogue(pathlib.Path(tempfile.mkdtemp()) / "catalogue.db")
>>> anna = cat.add_person("Anna", "teacher", "age1" + "q" * 58)
>>> bert = cat.add_person("Bert", "coach", "age1" + "p" * 58)
>>> rec = cat.create_recording(anna["id"], bert["id"], [anna["recipient"], bert["recipient"]])
>>> [r.teacher_name for r in cat.recordings_for(anna["recipient"])]
['Anna']
>>> cat.recordings_for("age1" + "z" * 58)
[]
>>> cat.recording_view(rec["id"]).is_for(bert["recipient"])
True

A person who renewed her key holds several; any of them opens what was
encrypted to it:

>>> [r.id for r in cat.recordings_for(("age1" + "z" * 58, anna["recipient"]))] == [rec["id"]]
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from .database import CatalogueBase


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
    projection: str = "flat"  # or "equirectangular": a 360° recording

    @property
    def spherical(self) -> bool:
        return self.projection == "equirectangular"

    def is_for(self, recipients: str | Iterable[str] | None) -> bool:
        """True if it is encrypted to the key (or one of the keys) of a person."""
        return any(r in self.recipients for r in _keys(recipients))


@dataclass(frozen=True)
class Segment:
    idx: int
    start_s: float
    duration_s: float
    bytes: int


# The quoted recipient as a substring of the JSON list is an exact element
# match (age1… strings need no JSON escaping) and much cheaper than json_each
# on every row. The one way the catalogue matches a person to a recording.
RECIPIENT_MATCH = "instr(r.recipients, ?) > 0"


def recipient_param(recipient: str) -> str:
    return json.dumps(recipient)


def _keys(recipients: str | Iterable[str] | None) -> tuple[str, ...]:
    """One person's keys: her current one, or all she holds (after renewing it)."""
    if recipients is None:
        return ()
    return (recipients,) if isinstance(recipients, str) else tuple(recipients)


def _recipient_where(recipients: str | Iterable[str] | None) -> tuple[str, tuple[str, ...]]:
    keys = _keys(recipients)
    if not keys:
        return "0", ()
    return "(" + " OR ".join([RECIPIENT_MATCH] * len(keys)) + ")", tuple(recipient_param(k) for k in keys)


_RECORDING_SELECT = """
SELECT r.id, r.teacher_id, r.coach_id, t.name AS teacher_name, c.name AS coach_name,
       r.recipients, r.started_at, r.duration_s, r.segments, r.bytes, r.state, r.retention_until, r.projection
FROM recordings r
LEFT JOIN people t ON t.id = r.teacher_id
LEFT JOIN people c ON c.id = r.coach_id
"""


def _recording(row: dict[str, Any]) -> Recording:
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
        projection=row["projection"] or "flat",
    )


def _segment(row: dict[str, Any]) -> Segment:
    return Segment(row["idx"], float(row["start_s"]), float(row["duration_s"]), row["bytes"])


class ViewsMixin(CatalogueBase):
    # people -----------------------------------------------------------------
    def person_views(self) -> list[Person]:
        rows = self.query("SELECT id, name, role, recipient FROM people ORDER BY name COLLATE NOCASE")
        return [Person(r["id"], r["name"], r["role"], r["recipient"]) for r in rows]

    def person_view(self, person_id: str) -> Person | None:
        r = self.query_one("SELECT id, name, role, recipient FROM people WHERE id = ?", (person_id,))
        return Person(r["id"], r["name"], r["role"], r["recipient"]) if r else None

    def assignment_ids(self) -> tuple[str, str] | None:
        r = self.query_one("SELECT teacher_id, coach_id FROM assignment WHERE id = 1")
        return (r["teacher_id"], r["coach_id"]) if r else None

    # recordings -------------------------------------------------------------
    def recordings_for(self, recipients: str | Iterable[str]) -> list[Recording]:
        """Recordings encrypted to ``recipients`` (one key, or a person's keys), newest first."""
        where, params = _recipient_where(recipients)
        rows = self.query(_RECORDING_SELECT + f" WHERE {where} ORDER BY r.started_at DESC", params)
        return [_recording(r) for r in rows]

    def library_rows(self, recipients: str | Iterable[str]) -> list[tuple]:
        """``(id, started_at, duration_s, state, retention_until, teacher_name, coach_name, teacher_id, projection)``
        for the recordings encrypted to ``recipients``, newest first (plain tuples: the
        library page reads a thousand of them)."""
        where, params = _recipient_where(recipients)
        cursor = self.db.conn.cursor()
        cursor.row_factory = None
        return cursor.execute(
            "SELECT r.id, r.started_at, r.duration_s, r.state, r.retention_until, t.name, c.name, r.teacher_id,"
            " r.projection"
            " FROM recordings r LEFT JOIN people t ON t.id = r.teacher_id LEFT JOIN people c ON c.id = r.coach_id"
            f" WHERE {where} ORDER BY r.started_at DESC",
            params,
        ).fetchall()

    def recording_view(self, recording_id: str) -> Recording | None:
        row = self.query_one(_RECORDING_SELECT + " WHERE r.id = ?", (recording_id,))
        return _recording(row) if row else None

    def segment_views(self, recording_id: str) -> list[Segment]:
        rows = self.query(
            "SELECT idx, start_s, duration_s, bytes FROM segments WHERE recording_id = ? ORDER BY idx",
            (recording_id,),
        )
        return [_segment(r) for r in rows]

    def segment_view(self, recording_id: str, idx: int) -> Segment | None:
        row = self.query_one(
            "SELECT idx, start_s, duration_s, bytes FROM segments WHERE recording_id = ? AND idx = ?",
            (recording_id, idx),
        )
        return _segment(row) if row else None

    def bookmark_offsets(self, recording_id: str) -> list[float]:
        rows = self.query("SELECT offset_s FROM bookmarks WHERE recording_id = ? ORDER BY offset_s",
                          (recording_id,))
        return [float(r["offset_s"]) for r in rows]

    # settings ---------------------------------------------------------------
    def all_settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for row in self.query("SELECT key, value FROM settings ORDER BY key"):
            try:
                out[row["key"]] = json.loads(row["value"])
            except ValueError:
                out[row["key"]] = row["value"]
        return out

    def recording_ids(self) -> Iterator[str]:
        for row in self.query("SELECT id FROM recordings"):
            yield row["id"]
