"""Connections, transactions and the outbox: the base every catalogue part uses.

Each thread gets its own SQLite connection (WAL lets readers run while one
writer commits), so the button thread, the review app's worker threads and
the control socket never share a cursor or a half-finished transaction.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils

from appliance.clock import Clock

from .schema import STATEMENTS, add_missing_columns

# An outbox payload goes to the school server: it must never carry key
# material or a footage path. These are cheap, last-line checks.
_FORBIDDEN_PREFIXES = ("AGE-SECRET-KEY-", "-----BEGIN", "/")
_FORBIDDEN_FIELDS = {"path", "passphrase", "identity", "secret", "note", "notes", "text"}


class OutboxPayloadError(ValueError):
    """A payload that would leak something other than metadata."""


def check_payload(payload: Any) -> None:
    """Refuse payloads that contain a secret key, a path or a free-text field.

    >>> check_payload({"recording_id": "r1", "segments": 3})
    >>> check_payload({"path": "x"})
    Traceback (most recent call last):
    ...
    appliance.catalogue.database.OutboxPayloadError: outbox payload field 'path' is not metadata
    """
    if isinstance(payload, dict):
        for key, value in payload.items():
            if str(key).lower() in _FORBIDDEN_FIELDS:
                raise OutboxPayloadError(f"outbox payload field {key!r} is not metadata")
            check_payload(value)
    elif isinstance(payload, (list, tuple)):
        for value in payload:
            check_payload(value)
    elif isinstance(payload, str) and payload.startswith(_FORBIDDEN_PREFIXES):
        raise OutboxPayloadError("outbox payload carries a key or a path")


class CatalogueBase:
    def __init__(self, path: str | Path, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock or Clock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        db = self.db
        db.execute("PRAGMA journal_mode=WAL")
        with self.transaction():
            for statement in STATEMENTS:
                db.execute(statement)
            add_missing_columns(db)

    # -- connections ---------------------------------------------------------

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's ``sqlite_utils.Database`` on the catalogue."""
        db = getattr(self._local, "db", None)
        if db is None:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, and
            # sqlite-utils nests its own writes as savepoints inside ours.
            conn = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=10.0
            )
            conn.execute("PRAGMA busy_timeout=10000")
            # FULL: a committed transaction survives a power cut, not just a crash.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            db = sqlite_utils.Database(conn)
            self._local.db = db
            with self._connections_lock:
                self._connections.append(conn)
        return db

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One atomic, durable change. Nested calls join the outer transaction.

        ``BEGIN IMMEDIATE`` takes the write lock up front, so two threads
        never deadlock upgrading a read transaction.
        """
        db = self.db
        conn = db.conn
        if conn.in_transaction:
            with db.atomic():
                yield db
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        return [dict(row) for row in self.db.query(sql, params)]

    def query_one(self, sql: str, params: tuple | dict = ()) -> dict | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    # -- outbox --------------------------------------------------------------

    def emit(self, kind: str, payload: dict) -> int:
        """Queue a metadata event for the school server; call inside ``transaction()``."""
        conn = self.db.conn
        if not conn.in_transaction:
            raise RuntimeError("catalogue.emit() must run inside catalogue.transaction()")
        check_payload(payload)
        cursor = conn.execute(
            "INSERT INTO outbox (kind, payload, created_at) VALUES (?, ?, ?)",
            (kind, json.dumps(payload, sort_keys=True), self.clock.now().wall_iso),
        )
        return int(cursor.lastrowid)

    def outbox(self, after_seq: int = 0, limit: int = 1000) -> list[dict]:
        rows = self.query(
            "SELECT seq, kind, payload, created_at FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        for row in rows:
            row["payload"] = json.loads(row["payload"])
        return rows

    # -- settings ------------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        row = self.query_one("SELECT value FROM settings WHERE key = ?", (key,))
        return default if row is None else json.loads(row["value"])

    def set_setting(self, key: str, value: Any, *, emit: bool = True) -> None:
        """Store a setting; ``emit=False`` for kit-internal state the server need not see."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, sort_keys=True)),
            )
            if emit:
                self.emit("setting.changed", {"key": key, "value": value})

    def integrity_check(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]
