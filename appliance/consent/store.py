"""Signed teacher/coach pairs in the catalogue, and the check the recorder makes before it encrypts.

>>> import tempfile, pathlib
>>> from appliance import age
>>> from appliance.catalogue import Catalogue
>>> from appliance.consent.signing import consent_key, public_key_hex
>>> cat = Catalogue(pathlib.Path(tempfile.mkdtemp()) / "catalogue.db")
>>> anna_id, bram_id = age.generate_identity(), age.generate_identity()
>>> anna = cat.add_person("Anna", "teacher", str(anna_id.recipient), signing_key=public_key_hex(consent_key(anna_id)))
>>> bram = cat.add_person("Bram", "coach", str(bram_id.recipient), signing_key=public_key_hex(consent_key(bram_id)))
>>> consents = Consents(cat)
>>> consents.state(anna["id"], bram["id"]).value
'none'
>>> consents.confirm(anna["id"], bram["id"], anna_id)
>>> consents.state(anna["id"], bram["id"]).value
'waiting_for_coach'
>>> consents.accept(anna["id"], bram["id"], bram_id)
>>> consents.recipients(anna["id"], bram["id"]) == [anna["recipient"], bram["recipient"]]
True

When Anna renews her key, her old consent key signs the step, and the pair
records to her new key without asking Bram again:

>>> anna_new = age.generate_identity()
>>> consents.renewals.record(anna["id"], anna_id, anna_new)
>>> consents.recipients(anna["id"], bram["id"]) == [str(anna_new.recipient), bram["recipient"]]
True
"""

from __future__ import annotations

import enum
import json
from typing import Any

from appliance.catalogue.schema import ensure_tables
from appliance.errors import KitError

from .renewal import Renewals
from .signing import consent_key, public_key_hex, verify

STATEMENTS = [
    # The statement is the canonical JSON both signatures cover; the rows
    # beside it are only for finding it. Nothing here is trusted unsigned.
    """CREATE TABLE IF NOT EXISTS consents (
        teacher_id TEXT NOT NULL,
        coach_id TEXT NOT NULL,
        statement TEXT NOT NULL,
        teacher_signature TEXT NOT NULL,
        coach_signature TEXT,
        confirmed_at TEXT NOT NULL,
        accepted_at TEXT,
        PRIMARY KEY (teacher_id, coach_id)
    )""",
]
PURPOSE = "lessonkit: my recordings on this kit are encrypted to me and this coach"


class PairState(enum.Enum):
    NONE = "none"                          # the teacher has not confirmed this coach
    WAITING_FOR_COACH = "waiting_for_coach"
    CONFIRMED = "confirmed"
    BROKEN = "broken"                      # a signature or a pinned key does not match


class NoConsent(KitError):
    """The kit may not record for this pair; ``reason`` is always ``"no_consent"``."""

    reason = "no_consent"


def _statement(teacher: dict, coach: dict) -> str:
    return json.dumps({
        "v": 1, "purpose": PURPOSE,
        "teacher": {"id": teacher["id"], "recipient": teacher["recipient"], "key": teacher["signing_key"]},
        "coach": {"id": coach["id"], "recipient": coach["recipient"], "key": coach["signing_key"]},
    }, sort_keys=True, separators=(",", ":"))


class Consents:
    def __init__(self, catalogue: Any) -> None:
        self.catalogue = catalogue
        self.renewals = Renewals(catalogue)
        ensure_tables(catalogue, ("consents",), STATEMENTS)

    def _people(self, teacher_id: str, coach_id: str) -> tuple[dict, dict]:
        teacher, coach = self.catalogue.get_person(teacher_id), self.catalogue.get_person(coach_id)
        if teacher is None or teacher["role"] != "teacher":
            raise KitError("no such teacher on this kit")
        if coach is None or coach["role"] != "coach":
            raise KitError("no such coach on this kit")
        return teacher, coach

    @staticmethod
    def _check_identity(person: dict, identity: Any) -> None:
        """The unlocked identity must be the person's pinned one."""
        if not person["signing_key"]:
            raise KitError(f"{person['name']} has not enrolled on this kit")
        if str(identity.recipient) != person["recipient"] or \
                public_key_hex(consent_key(identity)) != person["signing_key"]:
            raise KitError(f"this key is not {person['name']}'s")

    # -- what the teacher and the coach do ---------------------------------

    def confirm(self, teacher_id: str, coach_id: str, teacher_identity: Any) -> None:
        """The teacher, unlocked: "my recordings on this kit go to me and this coach"."""
        teacher, coach = self._people(teacher_id, coach_id)
        self._check_identity(teacher, teacher_identity)
        if not coach["signing_key"]:
            raise KitError(f"coach {coach['name']} has not enrolled on this kit yet")
        statement = _statement(teacher, coach)
        signature = consent_key(teacher_identity).sign(statement.encode()).hex()
        now = self.catalogue.clock.now().wall_iso
        with self.catalogue.transaction() as db:
            db.execute("DELETE FROM consents WHERE teacher_id = ? AND coach_id = ?", (teacher_id, coach_id))
            db.execute("INSERT INTO consents (teacher_id, coach_id, statement, teacher_signature, confirmed_at)"
                       " VALUES (?, ?, ?, ?, ?)", (teacher_id, coach_id, statement, signature, now))

    def accept(self, teacher_id: str, coach_id: str, coach_identity: Any) -> None:
        """The coach, unlocked, accepts the statement the teacher signed."""
        teacher, coach = self._people(teacher_id, coach_id)
        self._check_identity(coach, coach_identity)
        row = self.catalogue.query_one("SELECT statement FROM consents WHERE teacher_id = ? AND coach_id = ?",
                                       (teacher_id, coach_id))
        if row is None:
            raise KitError(f"{teacher['name']} has not asked for coach {coach['name']}")
        signature = consent_key(coach_identity).sign(row["statement"].encode()).hex()
        with self.catalogue.transaction() as db:
            db.execute("UPDATE consents SET coach_signature = ?, accepted_at = ? WHERE teacher_id = ? AND coach_id = ?",
                       (signature, self.catalogue.clock.now().wall_iso, teacher_id, coach_id))

    def confirm_pair(self, teacher_id: str, coach_id: str, teacher_identity: Any, coach_identity: Any) -> None:
        """Both at once, for the command line and the demo, where both passphrases are at hand."""
        self.confirm(teacher_id, coach_id, teacher_identity)
        self.accept(teacher_id, coach_id, coach_identity)

    def withdraw(self, teacher_id: str, coach_id: str) -> bool:
        """Either of the two ends the pair (the review app checks who asks); True if there was one."""
        with self.catalogue.transaction() as db:
            cursor = db.execute("DELETE FROM consents WHERE teacher_id = ? AND coach_id = ?", (teacher_id, coach_id))
        return cursor.rowcount > 0

    # -- what the recorder checks --------------------------------------------

    def _verified(self, teacher_id: str, coach_id: str) -> tuple[PairState, str, list[str]]:
        row = self.catalogue.query_one("SELECT * FROM consents WHERE teacher_id = ? AND coach_id = ?",
                                       (teacher_id, coach_id))
        teacher, coach = self.catalogue.get_person(teacher_id), self.catalogue.get_person(coach_id)
        if teacher is None or coach is None:
            return PairState.NONE, "no teacher and coach on this kit", []
        if row is None:
            return PairState.NONE, f"{teacher['name']} has not confirmed coach {coach['name']} on this kit", []
        try:
            said = json.loads(row["statement"])
            signed_teacher, signed_coach = said["teacher"], said["coach"]
        except (ValueError, KeyError, TypeError):
            return PairState.BROKEN, "the confirmation is damaged: the teacher must confirm again", []
        if not isinstance(signed_teacher, dict) or not isinstance(signed_coach, dict):
            return PairState.BROKEN, "the confirmation is damaged: the teacher must confirm again", []
        for person, signed in ((teacher, signed_teacher), (coach, signed_coach)):
            # The keys signed for, or keys she renewed since with a step her old key signed.
            if signed.get("id") != person["id"] or not self.renewals.reaches(person["id"], signed, person):
                return PairState.BROKEN, (f"the key of {person['name']} changed since the confirmation: "
                                          f"{teacher['name']} must confirm again"), []
        message = row["statement"].encode()
        if said.get("purpose") != PURPOSE or not verify(signed_teacher.get("key"), message, row["teacher_signature"]):
            return PairState.BROKEN, f"the confirmation is not signed by {teacher['name']}", []
        if not row["coach_signature"]:
            return PairState.WAITING_FOR_COACH, f"coach {coach['name']} has not accepted {teacher['name']} yet", []
        if not verify(signed_coach.get("key"), message, row["coach_signature"]):
            return PairState.BROKEN, f"the acceptance is not signed by {coach['name']}", []
        return PairState.CONFIRMED, "", [teacher["recipient"], coach["recipient"]]

    def state(self, teacher_id: str, coach_id: str) -> PairState:
        return self._verified(teacher_id, coach_id)[0]

    def problem(self, teacher_id: str, coach_id: str) -> str | None:
        """Why the kit may not record for this pair, or None."""
        state, why, _ = self._verified(teacher_id, coach_id)
        return None if state is PairState.CONFIRMED else why

    def recipients(self, teacher_id: str, coach_id: str) -> list[str]:
        """The two recipients the teacher signed for, after checking both signatures; NoConsent otherwise."""
        state, why, recipients = self._verified(teacher_id, coach_id)
        if state is not PairState.CONFIRMED:
            raise NoConsent(f"cannot record: {why}")
        return recipients

    def pairs_of(self, person_id: str) -> list[dict]:
        """Every pair the person is in, with its state, for the review app."""
        rows = self.catalogue.query("SELECT teacher_id, coach_id FROM consents WHERE teacher_id = ? OR coach_id = ?",
                                    (person_id, person_id))
        return [{"teacher_id": r["teacher_id"], "coach_id": r["coach_id"],
                 "state": self.state(r["teacher_id"], r["coach_id"])} for r in rows]

    def confirmed_people(self) -> set[str]:
        """Ids of everyone in a confirmed pair (the unlock page may name them)."""
        out: set[str] = set()
        for r in self.catalogue.query("SELECT teacher_id, coach_id FROM consents WHERE coach_signature IS NOT NULL"):
            if self.state(r["teacher_id"], r["coach_id"]) is PairState.CONFIRMED:
                out |= {r["teacher_id"], r["coach_id"]}
        return out
