"""Apply what the school server published for this kit to the catalogue.

The files come from the server, but they are still checked before use: a
person needs a well-formed id, role and ``age1…`` recipient; settings are an
allow-list with types and ranges. Only differences are written, so a sync
with nothing new changes nothing (and queues no outbox event). A person who
enrolled on this kit has her key pinned: a roster entry that would change
her recipient or role is refused, kept for the Beheer page and reported to
the server once (``person.key_refused``). Intervisie groups the school
publishes (``groups.json``) only say whom a teacher may choose: they never
reach into a share already made, and never replace a group made on the kit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.errors import KitError
from appliance.intervisie import Groups
from sync.protocol import SETTINGS, setting_ok, valid_recipient

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MAX_FILE = 4 * 1024 * 1024


class RosterInvalid(KitError):
    pass


@dataclass
class Applied:
    people_added: int = 0
    people_updated: int = 0
    assignment_changed: bool = False
    settings_changed: list[str] = field(default_factory=list)
    groups_changed: int = 0
    acked_through: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return (self.people_added + self.people_updated + int(self.assignment_changed) + len(self.settings_changed)
                + self.groups_changed)


def _load(path: Path) -> Any:
    if not path.exists():
        return None
    if path.stat().st_size > MAX_FILE:
        raise RosterInvalid(f"{path.name} from the server is too large")
    try:
        value = json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise RosterInvalid(f"{path.name} from the server is not valid JSON") from None
    if not isinstance(value, dict) or value.get("version") != 1:
        raise RosterInvalid(f"{path.name} from the server has an unknown format")
    return value


def _valid_person(p: Any) -> bool:
    return (isinstance(p, dict) and isinstance(p.get("id"), str) and _ID_RE.match(p["id"]) is not None
            and p.get("role") in ("teacher", "coach") and isinstance(p.get("name"), str)
            and 0 < len(p["name"].strip()) <= 100
            and isinstance(p.get("recipient"), str) and valid_recipient(p["recipient"]))


def apply(catalogue, incoming: Path) -> Applied:
    result = Applied()
    roster = _load(incoming / "roster.json")
    if roster is not None:
        for person in roster.get("people", []):
            if not _valid_person(person):
                result.skipped.append(str(person.get("id") if isinstance(person, dict) else person)[:64])
                continue
            _apply_person(catalogue, person, result)
    assignment = _load(incoming / "assignment.json")
    if assignment and assignment.get("teacher_id") and assignment.get("coach_id"):
        current = catalogue.query_one("SELECT teacher_id, coach_id FROM assignment WHERE id = 1")
        wanted = {"teacher_id": assignment["teacher_id"], "coach_id": assignment["coach_id"]}
        if current != wanted:
            try:
                catalogue.assign(wanted["teacher_id"], wanted["coach_id"])
                result.assignment_changed = True
            except KitError as exc:
                result.skipped.append(f"assignment: {exc}")
    settings = _load(incoming / "settings.json")
    if settings:
        for key, value in (settings.get("settings") or {}).items():
            spec = SETTINGS.get(key)
            if spec is None or not setting_ok(value, spec):
                result.skipped.append(f"setting {str(key)[:40]}")
                continue
            if catalogue.get_setting(key) != value:
                catalogue.set_setting(key, value)
                result.settings_changed.append(key)
    published = _load(incoming / "groups.json")
    if published is not None:
        offered = published.get("groups")
        if isinstance(offered, list):
            result.skipped += [f"group {str(g.get('id') if isinstance(g, dict) else g)[:40]}"
                               for g in offered if not _valid_group(g)][:20]
            result.groups_changed = Groups(catalogue).publish([g for g in offered if _valid_group(g)])
        else:  # a broken file changes nothing: the groups stay as they were
            result.skipped.append("groups.json: groups is not a list")
    ack = _load(incoming / "ack.json")
    if ack and isinstance(ack.get("applied_through"), int) and not isinstance(ack["applied_through"], bool):
        result.acked_through = ack["applied_through"]
    return result


_GROUP_ID_RE = re.compile(r"^gs-[a-z0-9]{1,32}$")


def _valid_group(g: Any) -> bool:
    return (isinstance(g, dict) and isinstance(g.get("id"), str) and _GROUP_ID_RE.match(g["id"]) is not None
            and isinstance(g.get("name"), str) and 0 < len(g["name"].strip()) <= 80
            and isinstance(g.get("members"), list) and len(g["members"]) <= 30
            and all(isinstance(m, str) and _ID_RE.match(m) for m in g["members"]))


def _apply_person(catalogue, person: dict, result: Applied) -> None:
    existing = catalogue.get_person(person["id"])
    name = " ".join(person["name"].split())
    if existing is None:
        if catalogue.query_one("SELECT id FROM people WHERE name = ?", (name,)):
            result.skipped.append(f"{person['id']}: name already used by another person on this kit")
            return
        catalogue.add_person(name, person["role"], person["recipient"], person_id=person["id"])
        result.people_added += 1
        return
    if (existing["name"], existing["role"], existing["recipient"]) == (name, person["role"], person["recipient"]):
        return
    if existing["signing_key"] and (existing["recipient"], existing["role"]) != (person["recipient"], person["role"]):
        # She enrolled on this kit: her key is pinned. Only she can replace it,
        # on the kit; the school server cannot make her recordings go elsewhere.
        with catalogue.transaction() as db:
            seen = db.execute("SELECT 1 FROM refused_key_changes WHERE person_id = ? AND offered_recipient = ?",
                              (person["id"], person["recipient"])).fetchone()
            if not seen:  # reported once per offered key, not at every sync
                db.execute("INSERT INTO refused_key_changes (person_id, offered_recipient, refused_at)"
                           " VALUES (?, ?, ?)", (person["id"], person["recipient"], catalogue.clock.now().wall_iso))
                catalogue.emit("person.key_refused", {"person_id": person["id"], "role": existing["role"]})
        result.skipped.append(f"{person['id']}: key change refused (enrolled on this kit; her key is pinned)")
        return
    # The catalogue has no update call; a small, explicit one here, with its
    # outbox event in the same transaction as the change.
    with catalogue.transaction() as db:
        db.execute("UPDATE people SET name = ?, role = ?, recipient = ? WHERE id = ?",
                   (name, person["role"], person["recipient"], person["id"]))
        catalogue.emit("person.updated", {"person_id": person["id"], "role": person["role"]})
    result.people_updated += 1
