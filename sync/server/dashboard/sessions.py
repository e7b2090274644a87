"""Dashboard logins held on the server, so that logging out ends them.

A signed cookie that carries the user is valid until it expires, whoever
holds it and whatever the user did: a copied cookie outlives the logout. Here
the cookie carries only a random token; the server keeps its SHA-256 (a copy
of the database gives no usable cookie) with the user, the form token and
two times. Logout deletes the row, and so does a new password
(:func:`sync.server.admin.add_user`); a token unused for ``IDLE_S`` or older
than ``LIFETIME_S`` is refused and deleted.

>>> import sqlite3
>>> conn = sqlite3.connect(":memory:", isolation_level=None); conn.row_factory = sqlite3.Row
>>> _ = conn.execute("CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT)")
>>> _ = conn.execute("CREATE TABLE dashboard_sessions (token_hash TEXT PRIMARY KEY, user TEXT, csrf TEXT, "
...                  "created_at REAL, seen_at REAL)")
>>> _ = conn.execute("INSERT INTO users VALUES ('co', 'coordinator')")
>>> token, csrf = start(conn, "co", now=0)
>>> load(conn, token, now=60)["name"], load(conn, "forged", now=60)
('co', None)
>>> end(conn, token); load(conn, token, now=61) is None
True
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

IDLE_S = 3600
LIFETIME_S = 8 * 3600
# seen_at is written at most this often: a page view is not a database write.
TOUCH_S = 60


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(conn: Any, user: str, now: float | None = None) -> tuple[str, str]:
    """A new login for ``user``: (cookie token, form token)."""
    now = time.time() if now is None else now
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
    conn.execute("DELETE FROM dashboard_sessions WHERE seen_at < ? OR created_at < ?",
                 (now - IDLE_S, now - LIFETIME_S))
    conn.execute("INSERT INTO dashboard_sessions (token_hash, user, csrf, created_at, seen_at) VALUES (?, ?, ?, ?, ?)",
                 (_hash(token), user, csrf, now, now))
    return token, csrf


def load(conn: Any, token: Any, now: float | None = None) -> dict | None:
    """``{name, role, csrf}`` of a live login, or None."""
    if not isinstance(token, str) or len(token) > 100:
        return None
    now = time.time() if now is None else now
    row = conn.execute(
        "SELECT s.token_hash, s.csrf, s.created_at, s.seen_at, u.name, u.role FROM dashboard_sessions s "
        "JOIN users u ON u.name = s.user WHERE s.token_hash = ?", (_hash(token),)).fetchone()
    if row is None:
        return None
    if now - row["seen_at"] > IDLE_S or now - row["created_at"] > LIFETIME_S:
        conn.execute("DELETE FROM dashboard_sessions WHERE token_hash = ?", (row["token_hash"],))
        return None
    if now - row["seen_at"] > TOUCH_S:
        conn.execute("UPDATE dashboard_sessions SET seen_at = ? WHERE token_hash = ?", (now, row["token_hash"]))
    return {"name": row["name"], "role": row["role"], "csrf": row["csrf"]}


def end(conn: Any, token: Any) -> None:
    if isinstance(token, str):
        conn.execute("DELETE FROM dashboard_sessions WHERE token_hash = ?", (_hash(token),))
