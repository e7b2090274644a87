"""The server's SQLite database: what the kits reported, and what to publish.

Projections (``recordings``, ``trajectories``, ``deletions``, ``kit health``)
are updated from events in the same transaction that stores the events, so a
batch is applied entirely or not at all.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS kits (
        id TEXT PRIMARY KEY, pubkey TEXT NOT NULL, added_at TEXT NOT NULL,
        applied_through INTEGER NOT NULL DEFAULT 0, last_sync_at TEXT,
        health TEXT, health_at TEXT, waiting_for INTEGER)""",
    """CREATE TABLE IF NOT EXISTS batches (
        kit_id TEXT NOT NULL REFERENCES kits(id), first INTEGER NOT NULL, last INTEGER NOT NULL,
        name TEXT NOT NULL, sha256 TEXT NOT NULL, events INTEGER NOT NULL, applied_at TEXT NOT NULL,
        PRIMARY KEY (kit_id, first))""",
    """CREATE TABLE IF NOT EXISTS events (
        kit_id TEXT NOT NULL REFERENCES kits(id), seq INTEGER NOT NULL, kind TEXT NOT NULL,
        at TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (kit_id, seq))""",
    """CREATE TABLE IF NOT EXISTS recordings (
        kit_id TEXT NOT NULL, id TEXT NOT NULL, teacher_id TEXT, coach_id TEXT, started_at TEXT,
        duration_s REAL, segments INTEGER, bytes INTEGER, state TEXT, retention_until TEXT,
        deleted_at TEXT, PRIMARY KEY (kit_id, id))""",
    """CREATE TABLE IF NOT EXISTS trajectories (
        id TEXT PRIMARY KEY, kit_id TEXT, teacher_id TEXT, coach_id TEXT, state TEXT,
        phase TEXT, updated_at TEXT)""",
    """CREATE TABLE IF NOT EXISTS people (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('teacher','coach')),
        recipient TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS assignments (
        kit_id TEXT PRIMARY KEY REFERENCES kits(id), teacher_id TEXT NOT NULL REFERENCES people(id),
        coach_id TEXT NOT NULL REFERENCES people(id))""",
    """CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL CHECK (role IN ('coordinator','leader')),
        password_hash TEXT NOT NULL, language TEXT NOT NULL DEFAULT 'nl')""",
]


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def create(path: Path) -> None:
    conn = connect(path)
    try:
        conn.execute("BEGIN")
        for statement in SCHEMA:
            conn.execute(statement)
        conn.execute("COMMIT")
    finally:
        conn.close()


def dump(path: Path) -> list[str]:
    """Every row of every table, for "the database is unchanged" checks."""
    conn = connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()
