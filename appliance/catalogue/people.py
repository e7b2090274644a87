"""People (teachers and coaches with their age recipients) and the kit's assignment."""

from __future__ import annotations

import uuid

from .database import CatalogueBase
from .errors import DuplicatePerson, NoAssignment, UnknownPerson, WrongRole

ROLES = ("teacher", "coach")


def normal_name(name: str) -> str:
    """Names compare with runs of white space folded (and case ignored).

    >>> normal_name("  Anna   de Vries ")
    'Anna de Vries'
    """
    return " ".join(name.split())


def new_person_id() -> str:
    return "p-" + uuid.uuid4().hex[:12]


class PeopleMixin(CatalogueBase):
    def check_name_free(self, name: str) -> None:
        """Raise :class:`DuplicatePerson` if someone has this name already (any case)."""
        if self.query_one("SELECT id FROM people WHERE name = ? COLLATE NOCASE", (normal_name(name),)):
            raise DuplicatePerson(normal_name(name))

    def add_person(self, name: str, role: str, recipient: str, person_id: str | None = None, *,
                   signing_key: str | None = None) -> dict:
        """A teacher or coach. ``signing_key`` (her consent key) pins her keys: she enrolled here."""
        name = normal_name(name)
        if not name:
            raise WrongRole("a person needs a name")
        if role not in ROLES:
            raise WrongRole(f"role must be teacher or coach, not {role!r}")
        if not recipient.startswith("age1"):
            raise WrongRole("a recipient must be an age1… public key")
        person = {
            "id": person_id or new_person_id(),
            "name": name,
            "role": role,
            "recipient": recipient,
            "created_at": self.clock.now().wall_iso,
            "signing_key": signing_key,
            "enrolled_at": self.clock.now().wall_iso if signing_key else None,
        }
        with self.transaction() as db:
            self.check_name_free(name)
            db["people"].insert(person)
            self.emit("person.added", {"person_id": person["id"], "role": role})
        return person

    def get_person(self, person_id: str) -> dict | None:
        return self.query_one("SELECT * FROM people WHERE id = ?", (person_id,))

    def find_person(self, name_or_id: str) -> dict:
        """A person by id or by name (case-insensitive); UnknownPerson otherwise."""
        person = self.query_one(
            "SELECT * FROM people WHERE id = ? OR name = ? COLLATE NOCASE",
            (name_or_id, " ".join(name_or_id.split())),
        )
        if person is None:
            raise UnknownPerson(name_or_id)
        return person

    def list_people(self, role: str | None = None) -> list[dict]:
        if role:
            return self.query("SELECT * FROM people WHERE role = ? ORDER BY name", (role,))
        return self.query("SELECT * FROM people ORDER BY role DESC, name")

    def person_for_recipient(self, recipient: str) -> dict | None:
        return self.query_one("SELECT * FROM people WHERE recipient = ?", (recipient,))

    # -- assignment ----------------------------------------------------------

    def assign(self, teacher: str, coach: str) -> dict:
        """Make ``teacher`` and ``coach`` (names or ids) the recipients of new recordings."""
        teacher_row = self.find_person(teacher)
        coach_row = self.find_person(coach)
        if teacher_row["role"] != "teacher":
            raise WrongRole(f"{teacher_row['name']} is a {teacher_row['role']}, not a teacher")
        if coach_row["role"] != "coach":
            raise WrongRole(f"{coach_row['name']} is a {coach_row['role']}, not a coach")
        row = {
            "id": 1,
            "teacher_id": teacher_row["id"],
            "coach_id": coach_row["id"],
            "assigned_at": self.clock.now().wall_iso,
        }
        with self.transaction() as db:
            db["assignment"].upsert(row, pk="id")
            self.emit(
                "assignment.changed",
                {"teacher_id": teacher_row["id"], "coach_id": coach_row["id"]},
            )
        return self.get_assignment()  # type: ignore[return-value]

    def get_assignment(self) -> dict | None:
        """``{"teacher": person, "coach": person, "assigned_at": …}`` or None."""
        row = self.query_one("SELECT * FROM assignment WHERE id = 1")
        if row is None:
            return None
        teacher = self.get_person(row["teacher_id"])
        coach = self.get_person(row["coach_id"])
        if teacher is None or coach is None:
            return None
        return {"teacher": teacher, "coach": coach, "assigned_at": row["assigned_at"]}

    def require_assignment(self) -> dict:
        assignment = self.get_assignment()
        if assignment is None:
            raise NoAssignment()
        return assignment

    def clear_assignment(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM assignment WHERE id = 1")
            self.emit("assignment.cleared", {})
