"""Sharing a clip with an intervisie group: only the filmed teacher, only the clip, only to them.

A share is made with the teacher's own unlocked keys (the footage must open
with them) and encrypted to her pinned key and the pinned keys of the
group's enrolled members; her coach gets it only as a member. On disk:

    DATA/shares/<share-id>/clip.mp4.age       the exact clip, one MP4 (also the portable file)
    DATA/shares/<share-id>/share.json.age     title, her question, the members' names, the clip's span
    DATA/shares/<share-id>/comments/NNNNNNNN.json.age   one sealed file per comment

all to the same recipients. The catalogue row holds what is not personal
(ids, the recipients' public keys, dates): who may see a share is who holds
one of its keys, the rule recordings follow. Withdrawing shreds the
directory and keeps the row as a receipt; deleting the recording (by hand
or by the retention policy) shreds its shares with it. Where the school's
setting ``intervisie_counts`` is on, the outbox gets ``intervisie.shared``
and ``intervisie.withdrawn`` with the group's id and nothing else.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any, Iterable

from appliance import age
from appliance.catalogue.schema import ensure_tables
from appliance.catalogue.views import RECIPIENT_MATCH, recipient_param
from appliance.durable import fsync_dir
from appliance.errors import KitError
from appliance.footage.clip import recording_clip
from appliance.paths import KitPaths
from appliance.retention.shred import shred_tree
from appliance.sealed import read_sealed_json, write_sealed, write_sealed_json

from .groups import Groups

STATEMENTS = [
    """CREATE TABLE IF NOT EXISTS intervisie_shares (
        id TEXT PRIMARY KEY,
        recording_id TEXT NOT NULL,
        teacher_id TEXT NOT NULL,
        group_id TEXT NOT NULL,
        recipients TEXT NOT NULL,
        created_at TEXT NOT NULL,
        withdrawn_at TEXT
    )""",
]
SHARE_ID_RE = re.compile(r"^s-[0-9a-f]{12}$")
MAX_TEXT = 2000
MAX_COMMENTS = 500
#: A share is a fragment, not the lesson: cutting re-encodes it in memory on a small machine.
MAX_CLIP_S = 600
_COMMENT_RE = re.compile(r"^(\d{8})\.json\.age$")
CLIP = "clip.mp4.age"
DOCUMENT = "share.json.age"


class NotYours(KitError):
    """Only the filmed teacher shares or withdraws her footage."""


class Changed(KitError):
    """The group or the clip changed since the teacher saw them: nothing was shared."""


class NotEnrolled(KitError):
    """A member has no key pinned on this kit (a roster entry only): nothing can be encrypted to her."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"not enrolled on this kit yet: {', '.join(names)}")
        self.names = names


def _recipients_where(recipients: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    keys = tuple(recipients)
    if not keys:
        return "0", ()
    clause = "(" + " OR ".join([RECIPIENT_MATCH.replace("r.recipients", "s.recipients")] * len(keys)) + ")"
    return clause, tuple(recipient_param(k) for k in keys)


class Shares:
    def __init__(self, catalogue: Any, data_dir: str | Path) -> None:
        self.catalogue = catalogue
        self.paths = KitPaths(data_dir)
        self.groups = Groups(catalogue)
        ensure_tables(catalogue, ("intervisie_shares",), STATEMENTS)

    # -- the teacher -------------------------------------------------------

    def recipients_for(self, teacher_id: str, group_id: str) -> list[dict]:
        """The people a share goes to: the teacher and every enrolled member (pinned keys only)."""
        teacher = self.catalogue.get_person(teacher_id)
        people = [teacher, *[m for m in self.groups.members(group_id) if m["id"] != teacher_id]]
        missing = [p["name"] for p in people if not p["signing_key"]]
        if missing:
            raise NotEnrolled(missing)
        return people

    def create(self, recording_id: str, teacher_id: str, identities: list[Any], group_id: str,
               in_s: float, out_s: float, *, title: str = "", question: str = "",
               expect_members: Iterable[str] | None = None) -> dict:
        """Cut ``[in_s, out_s)`` of the recording and share it with the group; returns the share row.

        ``expect_members``: the member ids the teacher was shown; if the group
        changed since (a sync landed meanwhile), ``Changed`` and nothing is shared.
        """
        if not 0 < float(out_s) - float(in_s) <= MAX_CLIP_S:
            raise KitError(f"a shared clip is between 0 and {MAX_CLIP_S // 60} minutes long")
        rec = self.catalogue.get_recording(recording_id)
        if rec is None:
            raise KitError("no such recording")
        if rec["teacher_id"] != teacher_id:
            raise NotYours("only the teacher who was filmed can share her footage")
        if not self.groups.is_member(group_id, teacher_id):
            raise NotYours("she can share only with a group she is a member of")
        if rec["state"] == "recording":
            raise KitError("the recording is still running")
        if expect_members is not None and sorted(expect_members) != self.member_ids(group_id):
            raise Changed("the group's members changed since the page was opened")
        people = self.recipients_for(teacher_id, group_id)
        recipients = [p["recipient"] for p in people]
        clip = recording_clip(self.paths.recording(recording_id), self.catalogue.segment_views(recording_id),
                              identities, float(in_s), float(out_s))
        share_id = "s-" + secrets.token_hex(6)
        directory = self.paths.share(share_id)
        directory.mkdir(parents=True, mode=0o700)
        fsync_dir(directory.parent)
        try:
            parsed = [age.parse_recipient(r) for r in recipients]
            write_sealed(directory, CLIP, [clip], parsed)
            write_sealed_json(directory / DOCUMENT, {
                "title": str(title)[:200], "question": str(question)[:MAX_TEXT],
                "recording_started_at": rec["started_at"], "in": float(in_s), "out": float(out_s),
                "members": [p["name"] for p in people],
            }, recipients)
            with self.catalogue.transaction() as db:
                # Deleted (by her or the retention policy) while the clip was cut: no share may outlive it.
                if db.execute("SELECT 1 FROM recordings WHERE id = ?", (recording_id,)).fetchone() is None:
                    raise KitError("the recording was deleted meanwhile")
                db.execute("INSERT INTO intervisie_shares (id, recording_id, teacher_id, group_id, recipients, "
                           "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           (share_id, recording_id, teacher_id, group_id, json.dumps(recipients),
                            self.catalogue.clock.now().wall_iso))
                self._count("intervisie.shared", group_id)
        except BaseException:
            shred_tree(directory)
            raise
        return self.row(share_id)

    def member_ids(self, group_id: str) -> list[str]:
        return sorted(m["id"] for m in self.groups.members(group_id))

    def withdraw(self, share_id: str, teacher_id: str) -> dict:
        """Shred every file of the share; the row stays as the receipt."""
        row = self.row(share_id)
        if row is None:
            raise KitError("no such share")
        if row["teacher_id"] != teacher_id:
            raise NotYours("only the teacher who shared it can withdraw it")
        shred_tree(self.paths.share(share_id))
        with self.catalogue.transaction() as db:
            done = db.execute("UPDATE intervisie_shares SET withdrawn_at = ? WHERE id = ? AND withdrawn_at IS NULL",
                              (self.catalogue.clock.now().wall_iso, share_id)).rowcount
            if done:
                self._count("intervisie.withdrawn", row["group_id"])
        return self.row(share_id)

    def _count(self, kind: str, group_id: str) -> None:
        """An outbox event the school can count, only if its setting asks for counts (no title, names, text)."""
        if self.catalogue.get_setting("intervisie_counts", False) is True:
            self.catalogue.emit(kind, {"group_id": group_id})

    def shred_for_recording(self, recording_id: str) -> int:
        """Every share of a recording that is being deleted; returns how many files went."""
        files = 0
        for row in self.catalogue.query("SELECT id FROM intervisie_shares WHERE recording_id = ?", (recording_id,)):
            files += shred_tree(self.paths.share(row["id"])).files
        return files

    # -- everyone who holds a key -------------------------------------------

    def row(self, share_id: str) -> dict | None:
        if not SHARE_ID_RE.match(share_id or ""):
            return None
        row = self.catalogue.query_one("SELECT * FROM intervisie_shares WHERE id = ?", (share_id,))
        if row is not None:
            row["recipients"] = json.loads(row["recipients"])
        return row

    def visible_to(self, share_id: str, recipients: Iterable[str]) -> dict | None:
        """The share if it is live and encrypted to one of ``recipients``, else None."""
        row = self.row(share_id)
        if row is None or row["withdrawn_at"] or not set(row["recipients"]) & set(recipients):
            return None
        return row

    def list_for(self, recipients: Iterable[str]) -> list[dict]:
        """Live shares encrypted to any of ``recipients``, newest first."""
        where, params = _recipients_where(recipients)
        rows = self.catalogue.query(
            f"SELECT s.* FROM intervisie_shares s WHERE s.withdrawn_at IS NULL AND {where} ORDER BY s.created_at DESC",
            params)
        for row in rows:
            row["recipients"] = json.loads(row["recipients"])
        return rows

    def document(self, share_id: str, identities: list[Any]) -> dict:
        return read_sealed_json(self.paths.share(share_id) / DOCUMENT, identities)

    def clip_path(self, share_id: str) -> Path:
        return self.paths.share(share_id) / CLIP

    def comments(self, share_id: str, identities: list[Any]) -> list[dict]:
        directory = self.paths.share(share_id) / "comments"
        if not directory.is_dir():
            return []
        paths = sorted(p for p in directory.iterdir() if _COMMENT_RE.match(p.name))
        return [read_sealed_json(p, identities) for p in paths]

    def comment(self, share_id: str, person: dict, text: str, recipients: Iterable[str] | None = None) -> None:
        """A member's reflection, sealed to the share's recipients (the group and the teacher).

        ``recipients``: the keys she holds (all of them after a renewal); her pinned one by default.
        """
        row = self.visible_to(share_id, recipients or [person["recipient"]])
        if row is None:
            raise KitError("no such share")
        text = str(text).strip()[:MAX_TEXT]
        if not text:
            raise KitError("an empty comment")
        directory = self.paths.share(share_id) / "comments"
        directory.mkdir(exist_ok=True, mode=0o700)
        entry = {"at": self.catalogue.clock.now().wall_iso, "person_id": person["id"], "name": person["name"],
                 "text": text}
        while True:
            numbers = [int(m.group(1)) for p in directory.iterdir() if (m := _COMMENT_RE.match(p.name))]
            if len(numbers) >= MAX_COMMENTS:
                raise KitError("this share has as many comments as it can hold")
            try:
                write_sealed_json(directory / f"{max(numbers, default=0) + 1:08d}.json.age", entry,
                                  row["recipients"], exclusive=True)
                return
            except FileExistsError:
                continue
