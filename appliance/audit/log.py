"""The kit's audit log: who unlocked, played, exported or deleted what, and when.

Entries are personal (who watched which lesson), so each one is a small age
file encrypted to the teacher and the coach the recordings belong to,
appended to ``DATA/audit/<pair>/`` (``<pair>`` is a hash of their two public
keys): an entry, once written, is never rewritten (hard link, never
replace). The catalogue keeps only counts per teacher/coach and action, and
only those counts reach the school server (``audit.counted``).

>>> import tempfile, pathlib
>>> from appliance import age
>>> from appliance.catalogue import Catalogue
>>> data = pathlib.Path(tempfile.mkdtemp()); cat = Catalogue(data / "catalogue.db")
>>> t, c = age.generate_identity(), age.generate_identity()
>>> log = AuditLog(cat, data)
>>> log.record("played", "anna", "anna", "bram", [str(t.recipient), str(c.recipient)], "r-1")
>>> [e["action"] for e in log.entries([str(c.recipient), str(t.recipient)], [c])]
['played']
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any, Callable, Iterable

from appliance.paths import KitPaths
from appliance.sealed import read_sealed_json, write_sealed_json

ACTIONS = ("unlocked", "played", "exported", "deleted")
_ENTRY_RE = re.compile(r"^(\d{8})\.json\.age$")

SCHEMA = """CREATE TABLE IF NOT EXISTS audit_counts (
    teacher_id TEXT NOT NULL,
    coach_id TEXT NOT NULL,
    action TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (teacher_id, coach_id, action)
)"""


def pair_key(recipients: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(recipients))).encode()).hexdigest()[:20]


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class AuditLog:
    def __init__(self, catalogue: Any, data_dir: str | Path, now: Callable[[], str] | None = None) -> None:
        self.catalogue = catalogue
        self.root = KitPaths(data_dir).audit
        self._now = now or (lambda: catalogue.clock.now().wall_iso if catalogue is not None else _utc_now())
        if catalogue.query_one("SELECT 1 FROM sqlite_master WHERE name = 'audit_counts'") is None:
            with catalogue.transaction() as db:
                db.execute(SCHEMA)

    def directory(self, recipients: Iterable[str]) -> Path:
        return self.root / pair_key(recipients)

    def record(self, action: str, person_id: str | None, teacher_id: str, coach_id: str,
               recipients: list[str], recording_id: str | None = None, detail: str | None = None) -> None:
        """``detail``: what was exported (``clip.mp4``, ``annotations.csv``, …), kept in the sealed entry only."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        entry = {"at": self._now(), "action": action, "person_id": person_id, "recording_id": recording_id}
        if detail:
            entry["detail"] = str(detail)[:40]
        directory = self.directory(recipients)
        directory.mkdir(parents=True, exist_ok=True)
        while True:
            numbers = [int(m.group(1)) for p in directory.iterdir() if (m := _ENTRY_RE.match(p.name))]
            path = directory / f"{max(numbers, default=0) + 1:08d}.json.age"
            try:
                write_sealed_json(path, entry, recipients, exclusive=True)
                break
            except FileExistsError:
                continue  # another thread took this number: take the next
        with self.catalogue.transaction() as db:
            db.execute(
                "INSERT INTO audit_counts (teacher_id, coach_id, action, count) VALUES (?, ?, ?, 1) "
                "ON CONFLICT(teacher_id, coach_id, action) DO UPDATE SET count = count + 1",
                (teacher_id, coach_id, action))
            counts = {r["action"]: r["count"] for r in self.catalogue.query(
                "SELECT action, count FROM audit_counts WHERE teacher_id = ? AND coach_id = ?",
                (teacher_id, coach_id))}
            self.catalogue.emit("audit.counted", {"teacher_id": teacher_id, "coach_id": coach_id,
                                                  "counts": counts})

    def entries(self, recipients: Iterable[str], identities: list[Any]) -> list[dict]:
        """Every entry for this teacher + coach, oldest first (needs one of their keys)."""
        directory = self.directory(recipients)
        if not directory.is_dir():
            return []
        paths = sorted(p for p in directory.iterdir() if _ENTRY_RE.match(p.name))
        return [read_sealed_json(p, identities) for p in paths]

    def counts(self, teacher_id: str, coach_id: str) -> dict[str, int]:
        return {r["action"]: r["count"] for r in self.catalogue.query(
            "SELECT action, count FROM audit_counts WHERE teacher_id = ? AND coach_id = ?",
            (teacher_id, coach_id))}
