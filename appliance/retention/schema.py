"""Retention's tables: deletion receipts and the moment a recording's age starts counting."""

from __future__ import annotations

from appliance.catalogue.schema import ensure_tables

STATEMENTS = [
    # What was deleted, when and why: the only trace a shredded recording leaves.
    # state 'pending' = the files are being shredded; 'done' = gone, receipt queued for the server.
    """CREATE TABLE IF NOT EXISTS deletion_receipts (
        recording_id TEXT PRIMARY KEY,
        trajectory_id TEXT,
        step INTEGER,
        teacher_id TEXT,
        coach_id TEXT,
        started_at TEXT,
        requested_at TEXT NOT NULL,
        deleted_at TEXT,
        reason TEXT NOT NULL CHECK (reason IN ('after_close', 'max_age', 'teacher_request')),
        segments INTEGER NOT NULL DEFAULT 0,
        files INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        retention_until TEXT,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done'))
    )""",
    # A recording made before the clock was trusted has no believable start
    # time; its retention counts from when a trusted clock first saw it.
    """CREATE TABLE IF NOT EXISTS retention_basis (
        recording_id TEXT PRIMARY KEY,
        basis_at TEXT NOT NULL
    )""",
]


_NAMES = ('deletion_receipts', 'retention_basis')


def ensure(catalogue) -> None:
    ensure_tables(catalogue, _NAMES, STATEMENTS)
