"""Write each kit's read-only directory: roster, assignment, settings, groups, ack, tls.

Files are only rewritten when their content changes (atomically, via a
dot-name the kit's pull excludes), so a sync with nothing new transfers no
file data at all.
"""

from __future__ import annotations

import json
from pathlib import Path

from appliance.durable import write_atomic

from . import db
from .layout import Layout


def _write_if_changed(path: Path, value: dict) -> bool:
    data = (json.dumps(value, indent=1, sort_keys=True) + "\n").encode()
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    # durable's temp name starts with a dot: the kit's pull excludes it.
    write_atomic(path, data, mode=0o644)
    return True


def publish_ack(layout: Layout, conn, kit_id: str) -> None:
    row = conn.execute("SELECT applied_through FROM kits WHERE id = ?", (kit_id,)).fetchone()
    _write_if_changed(layout.roster(kit_id) / "ack.json", {"version": 1, "applied_through": row[0]})


def publish(layout: Layout, kit_ids: list[str] | None = None, tls_lines: list[str] | None = None) -> list[str]:
    """Publish for the given kits (default all); returns the files that changed.

    Kits' TLS certificate requests are answered here too (``tls.json``, see
    :mod:`sync.server.tls.issue`); one line per kit about that goes to ``tls_lines``.
    """
    from .tls.issue import publish_tls  # it uses _write_if_changed from here
    conn = db.connect(layout.db)
    changed = []
    try:
        people = [dict(r) for r in conn.execute("SELECT id, name, role, recipient FROM people ORDER BY id")]
        settings = {r["key"]: json.loads(r["value"]) for r in conn.execute("SELECT key, value FROM settings")}
        members: dict[str, list[str]] = {}
        for r in conn.execute("SELECT group_id, person_id FROM intervisie_members ORDER BY group_id, person_id"):
            members.setdefault(r["group_id"], []).append(r["person_id"])
        groups = [{"id": r["id"], "name": r["name"], "members": members.get(r["id"], [])}
                  for r in conn.execute("SELECT id, name FROM intervisie_groups ORDER BY id")]
        ids = kit_ids or [r[0] for r in conn.execute("SELECT id FROM kits ORDER BY id")]
        for kit_id in ids:
            roster_dir = layout.roster(kit_id)
            roster_dir.mkdir(parents=True, exist_ok=True)
            row = conn.execute("SELECT teacher_id, coach_id FROM assignments WHERE kit_id = ?",
                               (kit_id,)).fetchone()
            files = {
                "roster.json": {"version": 1, "people": people},
                "assignment.json": {"version": 1, "teacher_id": row["teacher_id"] if row else None,
                                    "coach_id": row["coach_id"] if row else None},
                "settings.json": {"version": 1, "settings": settings},
                "groups.json": {"version": 1, "groups": groups},
            }
            for name, value in files.items():
                if _write_if_changed(roster_dir / name, value):
                    changed.append(f"{kit_id}/{name}")
            publish_ack(layout, conn, kit_id)
        changed += publish_tls(layout, conn, ids, tls_lines)
    finally:
        conn.close()
    return changed
