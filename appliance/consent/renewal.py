"""A person renews her key: her old and new keys both sign the step.

When a person suspects her passphrase is known (or just wants a new one),
she renews her key on the kit, unlocked with the old one. Her recordings
from then on are encrypted to the new key; the old key stays in her key
file for the old recordings. The consents she and her coach signed name her
old keys, so the renewal is a signed step: the old consent key says "my key
on this kit is now this one" and the new one signs the same statement. The
recorder follows such steps from the keys a consent names to the keys
pinned now. Since every step carries both signatures, a chain ends in a
step her pinned key signed itself: nobody who can only write rows (and
holds none of her keys) can start a chain from a key of his own, and a
pinned key that no such chain reaches stays unrecordable.

>>> import tempfile, pathlib
>>> from appliance import age
>>> from appliance.catalogue import Catalogue
>>> cat = Catalogue(pathlib.Path(tempfile.mkdtemp()) / "catalogue.db")
>>> old, new = age.generate_identity(), age.generate_identity()
>>> anna = cat.add_person("Anna", "teacher", str(old.recipient), signing_key=public_key_hex(consent_key(old)))
>>> renewals = Renewals(cat)
>>> renewals.record(anna["id"], old, new)
>>> now = cat.get_person(anna["id"])
>>> now["recipient"] == str(new.recipient)
True
>>> renewals.reaches(anna["id"], {"recipient": str(old.recipient), "key": anna["signing_key"]}, now)
True

A step her old key did not sign leads nowhere:

>>> thief = age.generate_identity()
>>> with cat.transaction() as db:
...     _ = db.execute("UPDATE people SET recipient = ?, signing_key = ? WHERE id = ?",
...                    (str(thief.recipient), public_key_hex(consent_key(thief)), anna["id"]))
...     _ = db.execute("INSERT INTO key_renewals VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (anna["id"],
...                    now["recipient"], now["signing_key"], str(thief.recipient),
...                    public_key_hex(consent_key(thief)), "00" * 64, "00" * 64, "2026-01-01T00:00:00Z"))
>>> renewals.reaches(anna["id"], {"recipient": str(old.recipient), "key": anna["signing_key"]},
...                  cat.get_person(anna["id"]))
False

Nor does a chain that starts from a key someone made up and signed with it,
ending at her pinned key: that step needs her pinned key's signature too.

>>> made_up = age.generate_identity()
>>> keys = lambda i: {"recipient": str(i.recipient), "key": public_key_hex(consent_key(i))}
>>> step = _statement(anna["id"], keys(made_up), now_keys := {"recipient": now["recipient"], "key": now["signing_key"]})
>>> with cat.transaction() as db:
...     _ = db.execute("UPDATE people SET recipient = ?, signing_key = ? WHERE id = ?",
...                    (now["recipient"], now["signing_key"], anna["id"]))
...     _ = db.execute("INSERT INTO key_renewals VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (anna["id"],
...                    str(made_up.recipient), keys(made_up)["key"], now["recipient"], now["signing_key"],
...                    consent_key(made_up).sign(step).hex(), consent_key(made_up).sign(step).hex(), "2026"))
>>> renewals.reaches(anna["id"], keys(made_up), cat.get_person(anna["id"]))
False
"""

from __future__ import annotations

import json
from typing import Any

from appliance.catalogue.schema import ensure_tables
from appliance.errors import KitError

from .signing import consent_key, public_key_hex, verify

STATEMENTS = [
    # One row per old key: a key can be renewed once, so the chain from any
    # signed key to the pinned one is a single path.
    """CREATE TABLE IF NOT EXISTS key_renewals (
        person_id TEXT NOT NULL,
        old_recipient TEXT NOT NULL,
        old_key TEXT NOT NULL,
        new_recipient TEXT NOT NULL,
        new_key TEXT NOT NULL,
        signature TEXT NOT NULL,
        new_signature TEXT NOT NULL,
        renewed_at TEXT NOT NULL,
        PRIMARY KEY (person_id, old_key)
    )""",
]
PURPOSE = "lessonkit: my key on this kit is now this one"
#: More renewals than anyone makes; a bound on the walk, not a policy.
MAX_STEPS = 64


def _statement(person_id: str, old: dict, new: dict) -> bytes:
    return json.dumps({
        "v": 1, "purpose": PURPOSE, "person": person_id,
        "old": {"recipient": old["recipient"], "key": old["key"]},
        "new": {"recipient": new["recipient"], "key": new["key"]},
    }, sort_keys=True, separators=(",", ":")).encode()


def _keys(identity: Any) -> dict:
    return {"recipient": str(identity.recipient), "key": public_key_hex(consent_key(identity))}


class Renewals:
    def __init__(self, catalogue: Any) -> None:
        self.catalogue = catalogue
        ensure_tables(catalogue, ("key_renewals",), STATEMENTS)

    def record(self, person_id: str, old_identity: Any, new_identity: Any) -> None:
        """Pin ``new_identity`` for the person, signed by her pinned ``old_identity``.

        The new key must already be in her key file: the catalogue is changed
        last, so that a cut in between leaves her recording to a key she holds.
        """
        person = self.catalogue.get_person(person_id)
        old, new = _keys(old_identity), _keys(new_identity)
        if person is None or not person["signing_key"]:
            raise KitError("only a person enrolled on this kit can renew her key")
        if (person["recipient"], person["signing_key"]) != (old["recipient"], old["key"]):
            raise KitError(f"this key is not {person['name']}'s")
        statement = _statement(person_id, old, new)
        # Both ends sign: the old key says "my key is now this one", the new key "I was that one".
        # A chain the recorder follows therefore ends in a step her pinned key signed itself.
        signature = consent_key(old_identity).sign(statement).hex()
        new_signature = consent_key(new_identity).sign(statement).hex()
        with self.catalogue.transaction() as db:
            db.execute("INSERT INTO key_renewals (person_id, old_recipient, old_key, new_recipient, new_key, "
                       "signature, new_signature, renewed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (person_id, old["recipient"], old["key"], new["recipient"], new["key"], signature,
                        new_signature, self.catalogue.clock.now().wall_iso))
            changed = db.execute("UPDATE people SET recipient = ?, signing_key = ? WHERE id = ? AND signing_key = ?",
                                 (new["recipient"], new["key"], person_id, old["key"])).rowcount
            if changed != 1:  # renewed meanwhile from another device: this one is void
                raise KitError(f"{person['name']}'s key changed meanwhile; unlock again")
            self.catalogue.emit("person.key_renewed", {"person_id": person_id, "role": person["role"]})

    def reaches(self, person_id: str, signed: dict, person: dict) -> bool:
        """True if signed renewals lead from the keys ``signed`` names to the person's pinned keys."""
        at = {"recipient": signed.get("recipient"), "key": signed.get("key")}
        for _ in range(MAX_STEPS + 1):
            if (at["recipient"], at["key"]) == (person["recipient"], person["signing_key"]):
                return True
            row = self.catalogue.query_one(
                "SELECT * FROM key_renewals WHERE person_id = ? AND old_key = ? AND old_recipient = ?",
                (person_id, at["key"], at["recipient"]))
            if row is None:
                return False
            new = {"recipient": row["new_recipient"], "key": row["new_key"]}
            statement = _statement(person_id, at, new)
            if not (verify(at["key"], statement, row["signature"])
                    and verify(new["key"], statement, row["new_signature"])):
                return False
            at = new
        return False

    def count(self, person_id: str) -> int:
        row = self.catalogue.query_one("SELECT count(*) AS n FROM key_renewals WHERE person_id = ?", (person_id,))
        return int(row["n"])
