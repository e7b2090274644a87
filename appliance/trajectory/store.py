"""Trajectories on the kit: create, walk the state machine, link recordings,
and keep the kit's assignment in line with the active trajectory.

Metadata (who, state, step, dates) is in the catalogue and every change
queues a ``trajectory.*`` outbox event in the same transaction. The
personal part (learning question, chosen clips, action points, checklist
notes) is one age document encrypted to the teacher and the coach.

>>> import tempfile, pathlib
>>> from appliance.catalogue import Catalogue
>>> data = pathlib.Path(tempfile.mkdtemp())
>>> cat = Catalogue(data / "catalogue.db")
>>> from appliance import age
>>> t_key, c_key = age.generate_identity(), age.generate_identity()
>>> _ = cat.add_person("Anna", "teacher", str(t_key.recipient), person_id="anna")
>>> _ = cat.add_person("Bram", "coach", str(c_key.recipient), person_id="bram")
>>> trajectories = Trajectories(cat, data)
>>> t = trajectories.create("anna", "bram", learning_question="Hoe activeer ik stille leerlingen?")
>>> trajectories.act(t["id"], "intake")["state"], cat.get_assignment()["teacher"]["id"]
('intake_done', 'anna')
>>> trajectories.private(t["id"], [c_key])["learning_question"]
'Hoe activeer ik stille leerlingen?'
"""

from __future__ import annotations

import secrets
import threading
from copy import deepcopy
from pathlib import Path
from typing import Any, Callable

from appliance.paths import KitPaths
from appliance.errors import KitError

from . import schema
from appliance.sealed import read_sealed_json, write_sealed_json
from .states import (
    DEFAULT_RECORDINGS,
    FINAL_STATES,
    METHODS,
    InvalidTransition,
    Position,
    advance,
    check_planned,
)

MAX_TEXT = 5_000
MAX_ITEMS = 200
# Teacher and coach may edit the same document at once (two browsers, one
# process): each change is applied to the latest version under this lock.
_DOCUMENT_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _document_lock(trajectory_id: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _DOCUMENT_LOCKS.setdefault(trajectory_id, threading.Lock())


class UnknownTrajectory(KitError):
    def __init__(self, trajectory_id: str) -> None:
        super().__init__(f"unknown trajectory: {trajectory_id!r}")


def empty_private(trajectory_id: str) -> dict[str, Any]:
    return {"version": 1, "trajectory_id": trajectory_id, "learning_question": "",
            "meetings": {}, "checklists": []}


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise KitError(f"{what} must be text")
    if len(value) > MAX_TEXT:
        raise KitError(f"{what} is too long (at most {MAX_TEXT} characters)")
    return value


def position(row: dict) -> Position:
    return Position(row["state"], row["step"], row["planned_recordings"], row["paused_from"])


class Trajectories:
    def __init__(self, catalogue: Any, data_dir: str | Path,
                 now: Callable[[], str] | None = None) -> None:
        self.catalogue = catalogue
        self.data_dir = Path(data_dir)
        self._now = now or (lambda: catalogue.clock.now().wall_iso)
        schema.ensure(catalogue)

    # -- reading ---------------------------------------------------------------

    def get(self, trajectory_id: str) -> dict | None:
        return self.catalogue.query_one("SELECT * FROM trajectories WHERE id = ?", (trajectory_id,))

    def require(self, trajectory_id: str) -> dict:
        row = self.get(trajectory_id)
        if row is None:
            raise UnknownTrajectory(trajectory_id)
        return row

    def list(self, person_id: str | None = None) -> list[dict]:
        if person_id:
            return self.catalogue.query(
                "SELECT * FROM trajectories WHERE teacher_id = ? OR coach_id = ? ORDER BY opened_at DESC",
                (person_id, person_id))
        return self.catalogue.query("SELECT * FROM trajectories ORDER BY opened_at DESC")

    def active(self) -> dict | None:
        return self.catalogue.query_one("SELECT * FROM trajectories WHERE active = 1")

    def events(self, trajectory_id: str) -> list[dict]:
        return self.catalogue.query(
            "SELECT action, state, step, at FROM trajectory_events WHERE trajectory_id = ? ORDER BY id",
            (trajectory_id,))

    def recordings(self, trajectory_id: str) -> list[dict]:
        """The recordings of a trajectory with their step, oldest first."""
        return self.catalogue.query(
            "SELECT l.step, r.id AS recording_id, r.state, r.started_at, r.duration_s, r.retention_until "
            "FROM trajectory_recordings l JOIN recordings r ON r.id = l.recording_id "
            "WHERE l.trajectory_id = ? ORDER BY l.step, r.started_at", (trajectory_id,))

    def trajectory_of(self, recording_id: str) -> dict | None:
        return self.catalogue.query_one(
            "SELECT t.*, l.step AS recording_step FROM trajectory_recordings l "
            "JOIN trajectories t ON t.id = l.trajectory_id WHERE l.recording_id = ?", (recording_id,))

    def checklist_confirmations(self, trajectory_id: str) -> list[str]:
        rows = self.catalogue.query(
            "SELECT confirmed_at FROM trajectory_checklists WHERE trajectory_id = ? ORDER BY id",
            (trajectory_id,))
        return [r["confirmed_at"] for r in rows]

    def recipients(self, row: dict) -> list[str]:
        people = [self.catalogue.get_person(row["teacher_id"]), self.catalogue.get_person(row["coach_id"])]
        return [p["recipient"] for p in people if p is not None]

    # -- creating and walking ----------------------------------------------------

    def create(self, teacher: str, coach: str, *, method: str = "beeldcoaching",
               planned_recordings: int = DEFAULT_RECORDINGS, learning_question: str = "",
               activate: bool = True) -> dict:
        teacher_row = self.catalogue.find_person(teacher)
        coach_row = self.catalogue.find_person(coach)
        if teacher_row["role"] != "teacher" or coach_row["role"] != "coach":
            raise KitError("a trajectory needs a teacher and a coach")
        if method not in METHODS:
            raise KitError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
        check_planned(planned_recordings)
        question = _text(learning_question, "the learning question")
        now = self._now()
        row = {
            "id": "t-" + secrets.token_hex(8), "teacher_id": teacher_row["id"], "coach_id": coach_row["id"],
            "method": method, "planned_recordings": planned_recordings, "state": "planned", "step": 0,
            "paused_from": None, "active": 0, "opened_at": now, "updated_at": now, "closed_at": None,
        }
        doc = empty_private(row["id"])
        doc["learning_question"] = question
        # The document first: a trajectory row never exists without its encrypted part.
        write_sealed_json(self.private_path(row["id"]), doc,
                          [teacher_row["recipient"], coach_row["recipient"]])
        with self.catalogue.transaction() as db:
            db["trajectories"].insert(row)
            self._log(row, "created", now)
            if activate:
                self._activate(row["id"])
        return self.require(row["id"])

    def act(self, trajectory_id: str, action: str) -> dict:
        """Apply ``intake``, ``review``, ``close``, ``pause``, ``resume`` or ``stop``."""
        if action == "recorded":
            raise InvalidTransition("a step is recorded by recording it (press the button)")
        with self.catalogue.transaction():
            row = self.require(trajectory_id)
            self._move(row, action)
        return self.require(trajectory_id)

    def activate(self, trajectory_id: str) -> dict:
        """Make this the kit's trajectory: new recordings go to its teacher and coach."""
        with self.catalogue.transaction():
            row = self.require(trajectory_id)
            if row["state"] in FINAL_STATES:
                raise InvalidTransition("a closed or stopped trajectory cannot be the kit's trajectory")
            self._activate(trajectory_id)
        return self.require(trajectory_id)

    def link_recording(self, trajectory_id: str, recording_id: str, step: int | None = None) -> None:
        """Put an existing recording into a step (the trigger does this for new ones)."""
        with self.catalogue.transaction() as db:
            row = self.require(trajectory_id)
            rec = self.catalogue.require_recording(recording_id)
            if (rec["teacher_id"], rec["coach_id"]) != (row["teacher_id"], row["coach_id"]):
                raise KitError("that recording belongs to another teacher or coach")
            if step is None:
                step = position(row).expects_recording
                if step is None:
                    raise InvalidTransition(f"the trajectory expects no recording now ({position(row).describe()})")
            if not 0 <= step <= row["planned_recordings"]:
                raise KitError(f"step must be 0 (baseline) to {row['planned_recordings']}")
            db.execute("INSERT OR REPLACE INTO trajectory_recordings (recording_id, trajectory_id, step) "
                       "VALUES (?, ?, ?)", (recording_id, trajectory_id, step))
            self.catalogue.emit("trajectory.recording_linked",
                                {"trajectory_id": trajectory_id, "recording_id": recording_id, "step": step})
        self.advance_recorded()

    def advance_recorded(self) -> list[str]:
        """Move trajectories whose expected recording is finished to the next state.

        Called periodically by the kit's housekeeping and by every page that
        shows a trajectory; returns the ids that moved.
        """
        moved = []
        for row in self.catalogue.query(
                "SELECT * FROM trajectories WHERE state IN ('intake_done', 'baseline_recorded', 'reviewed')"):
            expected = position(row).expects_recording
            if expected is None:
                continue
            done = self.catalogue.query_one(
                "SELECT r.id FROM trajectory_recordings l JOIN recordings r ON r.id = l.recording_id "
                "WHERE l.trajectory_id = ? AND l.step = ? AND r.state IN ('complete', 'interrupted') "
                "AND r.segments > 0 LIMIT 1", (row["id"], expected))
            if done is None:
                continue
            with self.catalogue.transaction():
                fresh = self.require(row["id"])
                if fresh["state"] == row["state"] and fresh["step"] == row["step"]:
                    self._move(fresh, "recorded", recording_id=done["id"])
                    moved.append(row["id"])
        return moved

    # -- the encrypted part ----------------------------------------------------

    def private_path(self, trajectory_id: str) -> Path:
        return KitPaths(self.data_dir).trajectory(trajectory_id)

    def private(self, trajectory_id: str, identities: list[Any]) -> dict[str, Any]:
        self.require(trajectory_id)
        path = self.private_path(trajectory_id)
        if not path.exists():
            return empty_private(trajectory_id)
        doc = read_sealed_json(path, identities)
        if not isinstance(doc, dict) or doc.get("trajectory_id") != trajectory_id:
            raise KitError("the trajectory document belongs to another trajectory")
        base = empty_private(trajectory_id)
        base.update({k: doc[k] for k in base if k in doc})
        return base

    def update_private(self, trajectory_id: str, identities: list[Any],
                       change: Callable[[dict[str, Any]], Any]) -> Any:
        row = self.require(trajectory_id)
        with _document_lock(trajectory_id):
            draft = deepcopy(self.private(trajectory_id, identities))
            result = change(draft)
            write_sealed_json(self.private_path(trajectory_id), draft, self.recipients(row))
        return result

    def set_learning_question(self, trajectory_id: str, identities: list[Any], text: str) -> None:
        question = _text(text, "the learning question")
        self.update_private(trajectory_id, identities, lambda d: d.__setitem__("learning_question", question))

    def choose_clips(self, trajectory_id: str, step: int, identities: list[Any],
                     clips: list[dict[str, Any]]) -> dict[str, Any]:
        """The clips for review meeting ``step``: ``[{recording_id, clip_id, kind}]``."""
        row = self.require(trajectory_id)
        self._check_meeting(row, step)
        chosen = []
        for clip in clips[:MAX_ITEMS]:
            if clip.get("kind") not in ("pearl", "puzzle"):
                raise KitError("a chosen clip is a pearl or a puzzle")
            chosen.append({"recording_id": str(clip["recording_id"])[:64], "clip_id": str(clip["clip_id"])[:64],
                           "kind": clip["kind"]})

        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            meeting = doc["meetings"].setdefault(str(step), {"clips": [], "action_points": []})
            meeting["clips"] = chosen
            return meeting

        return self.update_private(trajectory_id, identities, apply)

    def add_action_point(self, trajectory_id: str, step: int, identities: list[Any], text: str) -> dict:
        row = self.require(trajectory_id)
        self._check_meeting(row, step)
        text = _text(text, "an action point").strip()
        if not text:
            raise KitError("an action point needs some text")
        point = {"id": "a-" + secrets.token_hex(6), "text": text, "created_at": self._now()}

        def apply(doc: dict[str, Any]) -> None:
            meeting = doc["meetings"].setdefault(str(step), {"clips": [], "action_points": []})
            if len(meeting["action_points"]) >= MAX_ITEMS:
                raise KitError("too many action points in one meeting")
            meeting["action_points"].append(point)

        self.update_private(trajectory_id, identities, apply)
        return point

    def change_action_point(self, trajectory_id: str, step: int, identities: list[Any], point_id: str,
                            text: str | None) -> None:
        """Edit an action point's text, or delete it (``text=None``); KitError if there is none such."""
        row = self.require(trajectory_id)
        self._check_meeting(row, step)
        if text is not None:
            text = _text(text, "an action point").strip()
            if not text:
                raise KitError("an action point needs some text")

        def apply(doc: dict[str, Any]) -> None:
            points = doc["meetings"].get(str(step), {}).get("action_points", [])
            found = [p for p in points if p.get("id") == point_id]
            if not found:
                raise KitError("no such action point")
            if text is None:
                points.remove(found[0])
            else:
                found[0]["text"] = text
                found[0]["changed_at"] = self._now()

        self.update_private(trajectory_id, identities, apply)

    def confirm_checklist(self, trajectory_id: str, identities: list[Any], class_label: str,
                          note: str = "") -> str:
        """The teacher confirms the before-recording checklist for a class.

        The class and any note stay in the encrypted document; the catalogue
        and the school server learn only that (and when) it was confirmed.
        """
        self.require(trajectory_id)
        label = _text(class_label, "the class").strip()[:100]
        if not label:
            raise KitError("name the class the checklist is for")
        note = _text(note, "the note")
        now = self._now()

        def apply(doc: dict[str, Any]) -> None:
            doc["checklists"] = [c for c in doc["checklists"] if c.get("class") != label]
            doc["checklists"].append({"class": label, "note": note, "confirmed_at": now})

        self.update_private(trajectory_id, identities, apply)
        with self.catalogue.transaction() as db:
            db.execute("INSERT INTO trajectory_checklists (trajectory_id, confirmed_at) VALUES (?, ?)",
                       (trajectory_id, now))
            self.catalogue.emit("trajectory.checklist_confirmed", {"trajectory_id": trajectory_id, "at": now})
        return now

    # -- internals (inside a transaction) ----------------------------------------

    @staticmethod
    def _check_meeting(row: dict, step: int) -> None:
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= row["planned_recordings"]:
            raise KitError(f"review meetings are numbered 1 to {row['planned_recordings']}")

    def _move(self, row: dict, action: str, recording_id: str | None = None) -> None:
        new = advance(position(row), action)
        now = self._now()
        closed_at = now if new.state in FINAL_STATES else None
        active = row["active"] if new.state not in FINAL_STATES else 0
        self.catalogue.db.execute(
            "UPDATE trajectories SET state = ?, step = ?, paused_from = ?, updated_at = ?, "
            "closed_at = COALESCE(closed_at, ?), active = ? WHERE id = ?",
            (new.state, new.step, new.paused_from, now, closed_at, active, row["id"]))
        fresh = self.require(row["id"])
        self._log(fresh, action, now, recording_id=recording_id)
        self._follow_assignment(fresh, was_active=bool(row["active"]))

    def _log(self, row: dict, action: str, now: str, recording_id: str | None = None) -> None:
        self.catalogue.db.execute(
            "INSERT INTO trajectory_events (trajectory_id, action, state, step, at) VALUES (?, ?, ?, ?, ?)",
            (row["id"], action, row["state"], row["step"], now))
        payload = {
            "trajectory_id": row["id"], "teacher_id": row["teacher_id"], "coach_id": row["coach_id"],
            "state": row["state"], "step": row["step"], "phase": f"{row['step']}/{row['planned_recordings']}",
            "opened_at": row["opened_at"], "closed_at": row["closed_at"], "at": now,
        }
        if recording_id:
            payload["recording_id"] = recording_id
        self.catalogue.emit("trajectory.created" if action == "created" else "trajectory.changed", payload)

    def _activate(self, trajectory_id: str) -> None:
        db = self.catalogue.db
        previous = self.active()
        db.execute("UPDATE trajectories SET active = (id = ?)", (trajectory_id,))
        if previous and previous["id"] != trajectory_id:
            self._follow_assignment(self.require(previous["id"]), was_active=True)
        self._follow_assignment(self.require(trajectory_id), was_active=False)

    def _follow_assignment(self, row: dict, was_active: bool) -> None:
        """The kit records for the active trajectory while it expects a recording, else not for it."""
        current = self.catalogue.query_one("SELECT teacher_id, coach_id FROM assignment WHERE id = 1")
        pair = {"teacher_id": row["teacher_id"], "coach_id": row["coach_id"]}
        wanted = bool(row["active"]) and position(row).expects_recording is not None
        if wanted and current != pair:
            self.catalogue.assign(row["teacher_id"], row["coach_id"])
        elif not wanted and current == pair and (was_active or row["active"]):
            self.catalogue.clear_assignment()
