"""Dashboard pages for a school's data-protection officer: trajectory progress
per teacher and coach, the deletion receipts kits sent, and how often
recordings were unlocked, played, exported or deleted (counts only).

Everything here comes from the metadata events kits sync (``trajectory.*``,
``deletion.recorded``, ``audit.counted``): states, dates, reasons and
numbers — never a learning question, an annotation or a checklist.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from flask import Flask, render_template

REASONS = ("after_close", "max_age", "teacher_request")


def audit_totals(conn: Any) -> dict[tuple[Any, Any], dict[str, int]]:
    """Counts per (teacher, coach): each kit's latest running totals, summed over kits.

    A kit only ever speaks for its own audit log, so one kit's event can add
    to a pair's numbers but never replace what another kit reported.
    """
    latest: dict[tuple[str, Any, Any], dict[str, int]] = {}
    for row in conn.execute("SELECT kit_id, data FROM events WHERE kind = 'audit.counted' ORDER BY kit_id, seq"):
        data = json.loads(row["data"])
        counts = data.get("counts") if isinstance(data.get("counts"), dict) else {}
        latest[(row["kit_id"], data.get("teacher_id"), data.get("coach_id"))] = {
            k: v for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}
    totals: dict[tuple[Any, Any], dict[str, int]] = {}
    for (_, teacher, coach), counts in latest.items():
        pair = totals.setdefault((teacher, coach), {})
        for name, value in counts.items():
            pair[name] = pair.get(name, 0) + value
    return totals


def intervisie_totals(conn: Any) -> list[dict[str, Any]]:
    """Shares made and withdrawn per (kit, group), from the counts kits send where the school asked.

    Only the group's id travels; a school group (``gs-…``) is named from the
    server's own table, a group a teacher made on a kit stays anonymous.
    """
    names = {r["id"]: r["name"] for r in conn.execute("SELECT id, name FROM intervisie_groups")}
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for row in conn.execute(
            "SELECT kit_id, kind, json_extract(data, '$.group_id') AS group_id, count(*) AS n FROM events "
            "WHERE kind IN ('intervisie.shared', 'intervisie.withdrawn') GROUP BY kit_id, kind, group_id"):
        key = (row["kit_id"], str(row["group_id"]))
        entry = totals.setdefault(key, {"kit": row["kit_id"], "group": names.get(row["group_id"]),
                                        "shared": 0, "withdrawn": 0})
        entry["shared" if row["kind"] == "intervisie.shared" else "withdrawn"] += row["n"]
    return sorted(totals.values(), key=lambda e: (e["group"] is None, e["group"] or "", e["kit"]))


def register(app: Flask, conn: Callable[[], Any], login_required: Callable) -> None:
    @app.get("/progress")
    @login_required
    def progress() -> Any:
        c = conn()
        names = {r["id"]: r["name"] for r in c.execute("SELECT id, name FROM people")}
        pairs: dict[tuple[str, str], dict[str, Any]] = {}
        for t in c.execute("SELECT teacher_id, coach_id, state, phase FROM trajectories"):
            pair = pairs.setdefault((t["teacher_id"], t["coach_id"]),
                                    {"open": 0, "closed": 0, "stopped": 0, "current": None, "audit": {}})
            if t["state"] in ("closed", "stopped"):
                pair[t["state"]] += 1
            else:
                pair["open"] += 1
                pair["current"] = (t["state"], t["phase"])
        for key, counts in audit_totals(c).items():
            pair = pairs.setdefault(key, {"open": 0, "closed": 0, "stopped": 0, "current": None, "audit": {}})
            pair["audit"] = counts
        rows = [dict(teacher=names.get(t, "—"), coach=names.get(k, "—"), **v)
                for (t, k), v in sorted(pairs.items(), key=lambda i: (names.get(i[0][0], ""), names.get(i[0][1], "")))]
        return render_template("progress.html", rows=rows, intervisie=intervisie_totals(c))

    @app.get("/deletions")
    @login_required
    def deletions() -> Any:
        c = conn()
        names = {r["id"]: r["name"] for r in c.execute("SELECT id, name FROM people")}
        receipts = []
        for row in c.execute(
                "SELECT e.kit_id, e.data, r.teacher_id, r.coach_id FROM events e "
                "LEFT JOIN recordings r ON r.kit_id = e.kit_id AND r.id = json_extract(e.data, '$.recording_id') "
                "WHERE e.kind = 'deletion.recorded' ORDER BY json_extract(e.data, '$.deleted_at') DESC"):
            data = json.loads(row["data"])
            receipts.append({
                "kit": row["kit_id"], "recording_id": data.get("recording_id"),
                "teacher": names.get(row["teacher_id"], "—"), "coach": names.get(row["coach_id"], "—"),
                "deleted_at": data.get("deleted_at"),
                "reason": data.get("reason") if data.get("reason") in REASONS else "—",
                "segments": data.get("segments"), "method": data.get("method") or "—",
            })
        return render_template("deletions.html", receipts=receipts)
