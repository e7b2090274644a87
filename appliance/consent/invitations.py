"""Enrolment without anyone else knowing the passphrase: one-time invitation codes.

The admin (or IT) invites a person by name and role and hands her the code,
shown once; she opens the kit's page, types the code and chooses her own
passphrase, and her key is made and pinned then. The kit keeps only a hash
of the code. A code works once, for one week, and never for a name that has
already enrolled here: nobody can replace a pinned key by inviting its
owner again.

>>> import tempfile, pathlib
>>> from appliance.catalogue import Catalogue
>>> data = pathlib.Path(tempfile.mkdtemp())
>>> invitations = Invitations(Catalogue(data / "catalogue.db"), data)
>>> code = invitations.create("Anna de Vries", "teacher")
>>> len(code), code.count("-")
(24, 4)
>>> anna = invitations.redeem(code.lower().replace("-", " "), "a passphrase of her own", work_factor=10)
>>> anna["name"], anna["signing_key"] is not None
('Anna de Vries', True)
>>> invitations.redeem(code, "a second try", work_factor=10)
Traceback (most recent call last):
...
appliance.consent.invitations.InvalidInvitation: this code is not valid (used, expired or mistyped)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from pathlib import Path
from typing import Any

from appliance.catalogue.people import ROLES, normal_name
from appliance.catalogue.schema import ensure_tables
from appliance.errors import KitError

STATEMENTS = [
    """CREATE TABLE IF NOT EXISTS invitations (
        code_hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
    )""",
]
VALID_DAYS = 7
# Crockford-like alphabet without look-alikes (0/O, 1/I/L): read aloud or typed from paper.
_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
_GROUPS, _GROUP = 5, 4   # 20 characters: about 98 bits


class InvalidInvitation(KitError):
    pass


def _normal(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch in _ALPHABET)


def _hash(code: str) -> str:
    return hashlib.sha256(("lessonkit-invitation:" + _normal(code)).encode()).hexdigest()


class Invitations:
    def __init__(self, catalogue: Any, data_dir: Path) -> None:
        self.catalogue = catalogue
        self.data_dir = Path(data_dir)
        ensure_tables(catalogue, ("invitations",), STATEMENTS)

    def _now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.catalogue.clock.now().wall_iso.replace("Z", "+00:00"))

    def create(self, name: str, role: str) -> str:
        """A new code for ``name`` (shown once, never stored); refused if she has enrolled already."""
        name = normal_name(name)
        if not name or len(name) > 80:
            raise KitError("an invitation needs a name (at most 80 characters)")
        if role not in ROLES:
            raise KitError("role must be teacher or coach")
        existing = self.catalogue.query_one("SELECT signing_key FROM people WHERE name = ? COLLATE NOCASE", (name,))
        if existing and existing["signing_key"]:
            raise KitError(f"{name} has already enrolled on this kit; only she can change her key")
        code = "".join(secrets.choice(_ALPHABET) for _ in range(_GROUPS * _GROUP))
        now = self._now()
        with self.catalogue.transaction() as db:
            db.execute("DELETE FROM invitations WHERE name = ? COLLATE NOCASE AND used_at IS NULL", (name,))
            db.execute("INSERT INTO invitations (code_hash, name, role, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                       (_hash(code), name, role, now.isoformat(), (now + dt.timedelta(days=VALID_DAYS)).isoformat()))
        return "-".join(code[i:i + _GROUP] for i in range(0, len(code), _GROUP))

    def pending(self) -> list[dict]:
        return self.catalogue.query("SELECT name, role, expires_at FROM invitations WHERE used_at IS NULL"
                                    " AND expires_at > ? ORDER BY name", (self._now().isoformat(),))

    def lookup(self, code: str) -> dict:
        row = self.catalogue.query_one("SELECT * FROM invitations WHERE code_hash = ?", (_hash(code),))
        if row is None or row["used_at"] or row["expires_at"] <= self._now().isoformat():
            raise InvalidInvitation("this code is not valid (used, expired or mistyped)")
        return row

    def redeem(self, code: str, passphrase: str, *, work_factor: int | None = None) -> dict:
        """Enrol the invited person with the passphrase she chose; returns her person row."""
        from appliance.identities import check_passphrase, create_person, enrol_existing

        invitation = self.lookup(code)
        check_passphrase(passphrase)
        existing = self.catalogue.query_one("SELECT * FROM people WHERE name = ? COLLATE NOCASE",
                                            (invitation["name"],))
        if existing and existing["signing_key"]:
            raise InvalidInvitation(f"{existing['name']} has already enrolled on this kit")
        if existing:
            # Published by the school server, never enrolled here: she takes that entry.
            person = enrol_existing(self.data_dir, self.catalogue, existing, passphrase, work_factor=work_factor)
        else:
            person = create_person(self.data_dir, self.catalogue, invitation["name"], invitation["role"],
                                   passphrase, work_factor=work_factor)
        with self.catalogue.transaction() as db:
            db.execute("UPDATE invitations SET used_at = ? WHERE code_hash = ?",
                       (self._now().isoformat(), invitation["code_hash"]))
        return person
