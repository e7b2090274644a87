"""The server's SQLite database: what the kits reported, and what to publish.

Projections (``recordings``, ``trajectories``, ``deletions``, ``kit health``)
are updated from events in the same transaction that stores the events, so a
batch is applied entirely or not at all. Everything a kit reports is keyed by
the kit it arrived from: an id is only unique within its kit, so kit B
reporting kit A's trajectory id makes a row of B's, never a change to A's.

The schema carries its version in ``PRAGMA user_version``; :func:`connect`
upgrades an older database before anything reads it (see :data:`UPGRADES`).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

TRAJECTORIES = """CREATE TABLE IF NOT EXISTS trajectories (
        kit_id TEXT NOT NULL, id TEXT NOT NULL, teacher_id TEXT, coach_id TEXT, state TEXT,
        phase TEXT, updated_at TEXT, PRIMARY KEY (kit_id, id))"""

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
    TRAJECTORIES,
    """CREATE TABLE IF NOT EXISTS people (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('teacher','coach')),
        recipient TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS assignments (
        kit_id TEXT PRIMARY KEY REFERENCES kits(id), teacher_id TEXT NOT NULL REFERENCES people(id),
        coach_id TEXT NOT NULL REFERENCES people(id))""",
    """CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    # Intervisie groups the school publishes to every kit: whom a teacher may choose, never footage.
    """CREATE TABLE IF NOT EXISTS intervisie_groups (id TEXT PRIMARY KEY, name TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS intervisie_members (
        group_id TEXT NOT NULL REFERENCES intervisie_groups(id), person_id TEXT NOT NULL REFERENCES people(id),
        PRIMARY KEY (group_id, person_id))""",
    """CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL CHECK (role IN ('coordinator','leader')),
        password_hash TEXT NOT NULL, language TEXT NOT NULL DEFAULT 'nl')""",
    # Dashboard logins; the cookie holds the token, this table only its hash.
    """CREATE TABLE IF NOT EXISTS dashboard_sessions (
        token_hash TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        csrf TEXT NOT NULL, created_at REAL NOT NULL, seen_at REAL NOT NULL)""",
]


def upsert_trajectory(conn: sqlite3.Connection, kit_id: str, data: dict, at: str) -> None:
    """A ``trajectory.*`` event's effect on the kit's own row (fields it leaves out stay)."""
    conn.execute(
        "INSERT INTO trajectories (kit_id, id, teacher_id, coach_id, state, phase, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(kit_id, id) DO UPDATE SET "
        "teacher_id = COALESCE(excluded.teacher_id, teacher_id), coach_id = COALESCE(excluded.coach_id, coach_id), "
        "state = COALESCE(excluded.state, state), phase = COALESCE(excluded.phase, phase), "
        "updated_at = excluded.updated_at",
        (kit_id, data["trajectory_id"], data.get("teacher_id"), data.get("coach_id"), data.get("state"),
         data.get("phase") or data.get("step"), at))


def _rekey_trajectories(conn: sqlite3.Connection) -> None:
    """Version 0 keyed trajectories by id alone, so a kit reusing another
    kit's id took that row over. The projection is rebuilt from the events
    (kept per kit), which also undoes any such takeover."""
    conn.execute("ALTER TABLE trajectories RENAME TO trajectories_v0")
    conn.execute(TRAJECTORIES)
    for row in conn.execute("SELECT kit_id, at, data FROM events WHERE kind LIKE 'trajectory.%' "
                            "ORDER BY kit_id, seq").fetchall():
        data = json.loads(row["data"])
        if isinstance(data, dict) and data.get("trajectory_id"):
            upsert_trajectory(conn, row["kit_id"], data, row["at"])
    conn.execute("DROP TABLE trajectories_v0")


# version reached -> what brings a database from the version before to it.
UPGRADES = {1: _rekey_trajectories}
SCHEMA_VERSION = max(UPGRADES)


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        try:
            upgrade(conn)
        except BaseException:
            conn.close()
            raise
    return conn


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION` in one transaction (a no-op when there)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        empty = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'kits'").fetchone()[0] == 0
        if version < SCHEMA_VERSION and not empty:
            for target in range(version + 1, SCHEMA_VERSION + 1):
                UPGRADES[target](conn)
        for statement in SCHEMA:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def create(path: Path) -> None:
    connect(path).close()


def dump(path: Path) -> list[str]:
    """Every row of every table, for "the database is unchanged" checks."""
    conn = connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()
