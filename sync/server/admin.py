"""The coordinator's edits: people and their public keys, assignments, settings, users."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import uuid

from appliance.errors import KitError
from sync.protocol import SETTINGS, setting_ok, valid_recipient

from . import db
from .layout import Layout


def _conn(layout: Layout):
    return db.connect(layout.require().db)


def add_person(layout: Layout, name: str, role: str, recipient: str, person_id: str | None = None) -> str:
    name = " ".join(name.split())
    if role not in ("teacher", "coach"):
        raise KitError(f"role must be teacher or coach, not {role!r}")
    if not valid_recipient(recipient):
        raise KitError("the public key must be an age1… recipient")
    if not name or len(name) > 100:
        raise KitError("a person needs a name of at most 100 characters")
    person_id = person_id or "p-" + uuid.uuid4().hex[:12]
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", person_id):
        raise KitError(f"not a person id: {person_id!r}")
    conn = _conn(layout)
    try:
        conn.execute("INSERT INTO people (id, name, role, recipient) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO "
                     "UPDATE SET name = excluded.name, role = excluded.role, recipient = excluded.recipient",
                     (person_id, name, role, recipient))
    finally:
        conn.close()
    return person_id


def assign(layout: Layout, kit_id: str, teacher_id: str, coach_id: str) -> None:
    conn = _conn(layout)
    try:
        roles = {r["id"]: r["role"] for r in conn.execute("SELECT id, role FROM people")}
        if roles.get(teacher_id) != "teacher" or roles.get(coach_id) != "coach":
            raise KitError("assign needs the id of a teacher and the id of a coach")
        if not conn.execute("SELECT 1 FROM kits WHERE id = ?", (kit_id,)).fetchone():
            raise KitError(f"no kit {kit_id!r} (kit-server add-kit first)")
        conn.execute("INSERT INTO assignments (kit_id, teacher_id, coach_id) VALUES (?, ?, ?) ON CONFLICT(kit_id) "
                     "DO UPDATE SET teacher_id = excluded.teacher_id, coach_id = excluded.coach_id",
                     (kit_id, teacher_id, coach_id))
    finally:
        conn.close()


def add_group(layout: Layout, name: str, member_ids: list[str], group_id: str | None = None) -> str:
    """An intervisie group for every kit (``kit-server group add``); returns its id (``gs-…``)."""
    name = " ".join(name.split())
    if not name or len(name) > 80:
        raise KitError("a group needs a name of at most 80 characters")
    members = list(dict.fromkeys(member_ids))
    if not 2 <= len(members) <= 30:
        raise KitError("a group has between 2 and 30 members")
    group_id = group_id or "gs-" + uuid.uuid4().hex[:12]
    if not re.fullmatch(r"gs-[a-z0-9]{1,32}", group_id):
        raise KitError(f"not a group id: {group_id!r}")
    conn = _conn(layout)
    try:
        known = {r["id"] for r in conn.execute("SELECT id FROM people")}
        unknown = [m for m in members if m not in known]
        if unknown:
            raise KitError(f"unknown person id(s): {', '.join(unknown)} (kit-server person first)")
        conn.execute("INSERT INTO intervisie_groups (id, name) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET "
                     "name = excluded.name", (group_id, name))
        conn.execute("DELETE FROM intervisie_members WHERE group_id = ?", (group_id,))
        conn.executemany("INSERT INTO intervisie_members (group_id, person_id) VALUES (?, ?)",
                         [(group_id, m) for m in members])
    finally:
        conn.close()
    return group_id


def set_setting(layout: Layout, key: str, raw: str) -> None:
    spec = SETTINGS.get(key)
    if spec is None:
        raise KitError(f"unknown setting {key!r}; known: {', '.join(sorted(SETTINGS))}")
    try:
        value = json.loads(raw)
    except ValueError:
        raise KitError(f"{raw!r} is not a value (use a number, true or false)") from None
    if not setting_ok(value, spec):
        raise KitError(f"{raw!r} is not allowed for {key}")
    conn = _conn(layout)
    try:
        conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
                     "excluded.value", (key, json.dumps(value)))
    finally:
        conn.close()


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_password(stored: str, password: str) -> bool:
    try:
        _, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=2**14, r=8, p=1)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def add_user(layout: Layout, name: str, role: str, password: str, language: str = "nl") -> None:
    if role not in ("coordinator", "leader"):
        raise KitError("a dashboard user is a coordinator or a leader")
    if len(password) < 10:
        raise KitError("use a password of at least 10 characters")
    conn = _conn(layout)
    try:
        conn.execute("INSERT INTO users (name, role, password_hash, language) VALUES (?, ?, ?, ?) ON CONFLICT(name) "
                     "DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash",
                     (name, role, hash_password(password), language))
        # A new password ends the user's dashboard logins (one may be someone else's).
        conn.execute("DELETE FROM dashboard_sessions WHERE user = ?", (name,))
    finally:
        conn.close()
