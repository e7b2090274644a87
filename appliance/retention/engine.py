"""Retention on the kit: compute each recording's deletion date, delete what is due.

The clock is injectable (``now`` returns an aware ``datetime``,
``trusted`` says whether to believe it): the Pi has no real-time clock, and
nothing is ever deleted on the word of a clock nobody vouched for.

Deleting a recording is two steps so a power cut at any moment loses
nothing and leaves nothing: (1) a ``pending`` receipt is committed; (2) the
files are shredded; (3) in one transaction every catalogue row about the
recording goes, the receipt becomes ``done`` and a ``deletion.recorded``
event is queued for the school server. An interrupted deletion is finished
by the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path
from typing import Any, Callable

from appliance.paths import KitPaths
from appliance.errors import KitError
from appliance.trajectory import Trajectories

from . import schema
from .policy import RetentionPolicy, format_time, parse_time
from .shred import shred_tree

log = logging.getLogger("kit.retention")

# Tables whose rows about a recording are the receipt itself or the sync queue.
_KEEP_TABLES = {"deletion_receipts", "outbox"}


class CannotDelete(KitError):
    pass


def catalogue_now(catalogue: Any) -> tuple[Callable[[], dt.datetime], Callable[[], bool]]:
    def now() -> dt.datetime:
        return dt.datetime.fromtimestamp(catalogue.clock.now().wall, tz=dt.timezone.utc)

    return now, lambda: catalogue.clock.trusted


class Retention:
    def __init__(self, catalogue: Any, data_dir: str | Path, *,
                 now: Callable[[], dt.datetime] | None = None,
                 trusted: Callable[[], bool] | None = None) -> None:
        self.catalogue = catalogue
        self.data_dir = Path(data_dir)
        default_now, default_trusted = catalogue_now(catalogue)
        self.now = now or default_now
        self.trusted = trusted or (default_trusted if now is None else (lambda: True))
        self.trajectories = Trajectories(catalogue, data_dir, now=lambda: format_time(self.now()))
        schema.ensure(catalogue)

    def policy(self) -> RetentionPolicy:
        settings = {r["key"]: self.catalogue.get_setting(r["key"])
                    for r in self.catalogue.query("SELECT key FROM settings")}
        return RetentionPolicy.from_settings(settings)

    # -- deadlines -------------------------------------------------------------

    def refresh(self) -> int:
        """Set ``retention_until`` of every finished recording; returns how many changed."""
        if not self.trusted():
            return 0
        policy, now = self.policy(), format_time(self.now())
        changed = 0
        rows = self.catalogue.query(
            "SELECT r.id, r.started_at, r.clock_trusted, r.retention_until, b.basis_at, "
            "t.state AS t_state, t.closed_at FROM recordings r "
            "LEFT JOIN retention_basis b ON b.recording_id = r.id "
            "LEFT JOIN trajectory_recordings l ON l.recording_id = r.id "
            "LEFT JOIN trajectories t ON t.id = l.trajectory_id "
            "WHERE r.state != 'recording'")
        for row in rows:
            basis = row["started_at"] if row["clock_trusted"] else row["basis_at"]
            closed = row["closed_at"] if row["t_state"] in ("closed", "stopped") else None
            with self.catalogue.transaction() as db:
                if basis is None:
                    basis = now
                    db.execute("INSERT OR IGNORE INTO retention_basis (recording_id, basis_at) VALUES (?, ?)",
                               (row["id"], basis))
                until, _ = policy.deadline(basis, closed)
                if until != row["retention_until"]:
                    db.execute("UPDATE recordings SET retention_until = ? WHERE id = ?", (until, row["id"]))
                    self.catalogue.emit("recording.retention_set",
                                        {"recording_id": row["id"], "retention_until": until})
                    changed += 1
        return changed

    def due(self) -> list[tuple[str, str]]:
        """(recording id, reason) of every recording whose date has passed."""
        if not self.trusted():
            return []
        policy, now = self.policy(), self.now()
        out = []
        for row in self.catalogue.query(
                "SELECT r.id, r.retention_until, r.started_at, r.clock_trusted, b.basis_at, "
                "t.state AS t_state, t.closed_at FROM recordings r "
                "LEFT JOIN retention_basis b ON b.recording_id = r.id "
                "LEFT JOIN trajectory_recordings l ON l.recording_id = r.id "
                "LEFT JOIN trajectories t ON t.id = l.trajectory_id "
                "WHERE r.state != 'recording' AND r.retention_until IS NOT NULL"):
            if parse_time(row["retention_until"]) <= now:
                basis = row["started_at"] if row["clock_trusted"] else (row["basis_at"] or row["started_at"])
                closed = row["closed_at"] if row["t_state"] in ("closed", "stopped") else None
                out.append((row["id"], policy.deadline(basis, closed)[1]))
        return out

    def run(self) -> list[dict]:
        """One pass: finish interrupted deletions, refresh dates, delete what is due."""
        receipts = [self._finish(r["recording_id"]) for r in
                    self.catalogue.query("SELECT recording_id FROM deletion_receipts WHERE state = 'pending'")]
        self.refresh()
        for recording_id, reason in self.due():
            receipts.append(self.delete(recording_id, reason))
        return receipts

    # -- deleting --------------------------------------------------------------

    def delete(self, recording_id: str, reason: str, *, by_person: str | None = None) -> dict:
        """Shred a recording now; ``by_person`` must be its teacher for ``teacher_request``."""
        rec = self.catalogue.get_recording(recording_id)
        if rec is None:
            raise CannotDelete(f"unknown recording: {recording_id!r}")
        if rec["state"] == "recording":
            raise CannotDelete("a recording that is still running cannot be deleted; stop it first")
        if reason == "teacher_request" and by_person != rec["teacher_id"]:
            raise CannotDelete("only the teacher of a recording can delete it")
        link = self.catalogue.query_one(
            "SELECT trajectory_id, step FROM trajectory_recordings WHERE recording_id = ?", (recording_id,))
        with self.catalogue.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO deletion_receipts (recording_id, trajectory_id, step, teacher_id, coach_id, "
                "started_at, requested_at, reason, retention_until, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                (recording_id, link and link["trajectory_id"], link and link["step"], rec["teacher_id"],
                 rec["coach_id"], rec["started_at"], format_time(self.now()), reason, rec["retention_until"]))
        receipt = self._finish(recording_id)
        try:  # who deleted (the teacher, or nobody: the policy) goes to the encrypted audit log
            from appliance.audit import AuditLog

            AuditLog(self.catalogue, self.data_dir, now=lambda: format_time(self.now())).record(
                "deleted", by_person, rec["teacher_id"], rec["coach_id"], rec["recipients"], recording_id)
        except Exception:
            log.exception("audit entry for deleting %s not written", recording_id)
        return receipt

    def _finish(self, recording_id: str) -> dict:
        from appliance.intervisie.shares import Shares

        # Its intervisie shares go first: a share never outlives its recording.
        shared_files = Shares(self.catalogue, self.data_dir).shred_for_recording(recording_id)
        shredded = shred_tree(KitPaths(self.data_dir).recording(recording_id))
        shredded.files += shared_files
        with self.catalogue.transaction() as db:
            receipt = self.catalogue.query_one(
                "SELECT * FROM deletion_receipts WHERE recording_id = ?", (recording_id,))
            assert receipt is not None
            if receipt["state"] == "done":
                return receipt
            segments = self.catalogue.query_one(
                "SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM segments "
                "WHERE recording_id = ? AND idx > 0", (recording_id,))
            for table in self._tables_with_recording_id():
                db.execute(f'DELETE FROM "{table}" WHERE recording_id = ?', (recording_id,))
            db.execute("DELETE FROM recordings WHERE id = ?", (recording_id,))
            deleted_at = format_time(self.now())
            db.execute(
                "UPDATE deletion_receipts SET state = 'done', deleted_at = ?, segments = ?, "
                "files = files + ?, bytes = ? WHERE recording_id = ?",
                (deleted_at, segments["n"], shredded.files, segments["b"] or shredded.bytes, recording_id))
            receipt = self.catalogue.query_one(
                "SELECT * FROM deletion_receipts WHERE recording_id = ?", (recording_id,))
            self.catalogue.emit("deletion.recorded", {
                "recording_id": recording_id, "deleted_at": deleted_at, "reason": receipt["reason"],
                "segments": receipt["segments"], "bytes": receipt["bytes"],
                "retention_until": receipt["retention_until"], "method": "crypto-shred",
            })
        log.info("recording %s deleted (%s): %d files", recording_id, receipt["reason"], shredded.files)
        return receipt

    def _tables_with_recording_id(self) -> list[str]:
        tables = []
        for row in self.catalogue.query("SELECT name FROM sqlite_master WHERE type = 'table'"):
            name = row["name"]
            if name in _KEEP_TABLES or name.startswith("sqlite_"):
                continue
            try:
                columns = {c["name"] for c in self.catalogue.query(f'PRAGMA table_info("{name}")')}
            except sqlite3.Error:
                continue
            if "recording_id" in columns:
                tables.append(name)
        # Children before the rows they reference.
        return sorted(tables, key=lambda t: t != "segments" and t != "bookmarks")

    def receipts(self) -> list[dict]:
        return self.catalogue.query(
            "SELECT * FROM deletion_receipts WHERE state = 'done' ORDER BY deleted_at DESC")

    def receipts_for_trajectory(self, trajectory_id: str) -> list[dict]:
        """``step``, ``deleted_at`` and ``reason`` of the finished deletions in a trajectory."""
        return self.catalogue.query(
            "SELECT step, deleted_at, reason FROM deletion_receipts WHERE trajectory_id = ? AND state = 'done'",
            (trajectory_id,))
