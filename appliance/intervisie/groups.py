"""Intervisie groups: a name and members, made by a teacher (or IT on the command line).

Membership decides only whom a teacher may choose to share a clip with:
it gives nobody footage.

>>> import tempfile, pathlib
>>> from appliance.catalogue import Catalogue
>>> cat = Catalogue(pathlib.Path(tempfile.mkdtemp()) / "catalogue.db")
>>> ann = cat.add_person("Anna", "teacher", "age1" + "q" * 58)
>>> ben = cat.add_person("Ben", "teacher", "age1" + "p" * 58)
>>> groups = Groups(cat)
>>> g = groups.create("Intervisie wiskunde", [ann["id"], ben["id"]], created_by=ann["id"])
>>> [m["name"] for m in groups.members(g["id"])]
['Anna', 'Ben']
>>> [x["name"] for x in groups.of(ben["id"])]
['Intervisie wiskunde']
>>> groups.create("Leeg", [ann["id"]])
Traceback (most recent call last):
...
appliance.errors.KitError: a group needs at least two members
"""

from __future__ import annotations

import secrets
from typing import Any, Iterable

from appliance.catalogue.schema import ensure_tables
from appliance.errors import KitError

STATEMENTS = [
    """CREATE TABLE IF NOT EXISTS intervisie_groups (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_by TEXT,
        created_at TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'kit' CHECK (source IN ('kit', 'server'))
    )""",
    """CREATE TABLE IF NOT EXISTS intervisie_members (
        group_id TEXT NOT NULL REFERENCES intervisie_groups(id),
        person_id TEXT NOT NULL REFERENCES people(id),
        PRIMARY KEY (group_id, person_id)
    )""",
]
MAX_NAME = 80
MAX_MEMBERS = 30


class Groups:
    def __init__(self, catalogue: Any) -> None:
        self.catalogue = catalogue
        ensure_tables(catalogue, ("intervisie_groups", "intervisie_members"), STATEMENTS)

    def create(self, name: str, member_ids: Iterable[str], created_by: str | None = None) -> dict:
        """A new group; the creator (a person) is always a member."""
        name = " ".join(str(name).split())[:MAX_NAME]
        if not name:
            raise KitError("a group needs a name")
        members = list(dict.fromkeys([*([created_by] if created_by else []), *member_ids]))
        if len(members) < 2:
            raise KitError("a group needs at least two members")
        if len(members) > MAX_MEMBERS:
            raise KitError(f"a group has at most {MAX_MEMBERS} members")
        for person_id in members:
            if self.catalogue.get_person(person_id) is None:
                raise KitError("no such person on this kit")
        group_id = "g-" + secrets.token_hex(6)
        with self.catalogue.transaction() as db:
            db.execute("INSERT INTO intervisie_groups (id, name, created_by, created_at) VALUES (?, ?, ?, ?)",
                       (group_id, name, created_by, self.catalogue.clock.now().wall_iso))
            for person_id in members:
                db.execute("INSERT INTO intervisie_members VALUES (?, ?)", (group_id, person_id))
        return self.get(group_id)

    def publish(self, groups: list[dict]) -> int:
        """The school server's groups (``gs-…`` ids) as it published them; returns how many changed.

        Members the kit does not know are left out; a group with fewer than
        two known members is not offered. Groups made on the kit are never
        touched, and a server group that disappears goes (shares made with
        it keep their recipients: membership never reaches into a share).
        """
        changed = 0
        wanted = {}
        for group in groups:
            members = [m for m in dict.fromkeys(group["members"]) if self.catalogue.get_person(m) is not None]
            if len(members) >= 2:
                wanted[group["id"]] = (" ".join(group["name"].split())[:MAX_NAME], members[:MAX_MEMBERS])
        with self.catalogue.transaction() as db:
            current = {r["id"]: r for r in self.catalogue.query("SELECT * FROM intervisie_groups WHERE source = 'server'")}
            for group_id in set(current) - set(wanted):
                db.execute("DELETE FROM intervisie_members WHERE group_id = ?", (group_id,))
                db.execute("DELETE FROM intervisie_groups WHERE id = ?", (group_id,))
                changed += 1
            for group_id, (name, members) in wanted.items():
                existing = self.get(group_id)
                if existing is not None and existing["source"] != "server":
                    continue
                had = [m["id"] for m in self.members(group_id)] if existing else None
                if existing and existing["name"] == name and sorted(had) == sorted(members):
                    continue
                db.execute("INSERT INTO intervisie_groups (id, name, created_by, created_at, source) "
                           "VALUES (?, ?, NULL, ?, 'server') ON CONFLICT(id) DO UPDATE SET name = excluded.name",
                           (group_id, name, self.catalogue.clock.now().wall_iso))
                db.execute("DELETE FROM intervisie_members WHERE group_id = ?", (group_id,))
                for person_id in members:
                    db.execute("INSERT INTO intervisie_members VALUES (?, ?)", (group_id, person_id))
                changed += 1
        return changed

    def get(self, group_id: str) -> dict | None:
        return self.catalogue.query_one("SELECT * FROM intervisie_groups WHERE id = ?", (group_id,))

    def find(self, name_or_id: str) -> dict | None:
        return self.get(name_or_id) or self.catalogue.query_one(
            "SELECT * FROM intervisie_groups WHERE name = ? COLLATE NOCASE ORDER BY created_at LIMIT 1",
            (name_or_id,))

    def members(self, group_id: str) -> list[dict]:
        return self.catalogue.query(
            "SELECT p.* FROM intervisie_members m JOIN people p ON p.id = m.person_id"
            " WHERE m.group_id = ? ORDER BY p.name COLLATE NOCASE", (group_id,))

    def of(self, person_id: str) -> list[dict]:
        """The groups the person is a member of."""
        return self.catalogue.query(
            "SELECT g.* FROM intervisie_groups g JOIN intervisie_members m ON m.group_id = g.id"
            " WHERE m.person_id = ? ORDER BY g.name COLLATE NOCASE", (person_id,))

    def all(self) -> list[dict]:
        return self.catalogue.query("SELECT * FROM intervisie_groups ORDER BY name COLLATE NOCASE")

    def is_member(self, group_id: str, person_id: str) -> bool:
        return self.catalogue.query_one("SELECT 1 FROM intervisie_members WHERE group_id = ? AND person_id = ?",
                                        (group_id, person_id)) is not None
