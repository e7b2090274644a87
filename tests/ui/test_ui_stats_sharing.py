"""Per-lesson statistics reach the outbox only where the teacher opted in,
as counts only, and the school server accepts them and drops them again
when the teacher withdraws."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.catalogue import Catalogue
from sync.agent import export
from sync.agent.config import SyncPaths

from ui_helpers import csrf_of, login_admin, unlock

ROOT = Path(__file__).resolve().parents[2]
KIT_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3Xq1Lq9zYbqgq3yqSxq6gM9E0x5Kx0b1Hx3o4v3kDa"
COUNT_KEYS = {"instruction", "question", "feedback", "question_cat1", "question_cat2", "question_cat3",
              "feedback_positive", "feedback_negative", "pearls", "puzzles"}
SECRET_NOTE = "Pupil Jesse cried during the lesson"


def stats_events(kit) -> list[dict]:
    cat = Catalogue(kit.data_dir / "catalogue.db")
    try:
        return [e for e in cat.outbox(limit=100000) if e["kind"].startswith("stats.")]
    finally:
        cat.close()


def api(client, method: str, path: str, body) -> object:
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf_of(client)})


def annotate(client, kit) -> None:
    rec = f"/api/recordings/{kit.own_recording}"
    for code in ({"t": 1, "kind": "instruction"}, {"t": 2, "kind": "question", "category": 1},
                 {"t": 3, "kind": "question", "category": 3}, {"t": 4, "kind": "question", "category": 3},
                 {"t": 5, "kind": "feedback", "valence": "positive", "level": "strategy"},
                 {"t": 6, "kind": "feedback", "valence": "negative", "level": "personal"}):
        assert api(client, "POST", rec + "/codes", code).status_code == 201
    assert api(client, "POST", rec + "/clips", {"in": 1, "out": 4, "kind": "pearl", "title": "Good start"}).status_code == 201
    assert api(client, "PUT", rec + "/texts", {"notes": SECRET_NOTE}).status_code == 200


def share(client, kit, on: bool):
    return client.post(f"/recordings/{kit.own_recording}/stats/sharing",
                       data={"csrf_token": csrf_of(client), "share": "on" if on else "off"})


def test_no_statistics_leave_without_opt_in(client, kit):
    unlock(client, kit, "Anna")
    annotate(client, kit)
    assert stats_events(kit) == []
    page = client.get(f"/recordings/{kit.own_recording}/stats").get_data(as_text=True)
    assert "worden niet gedeeld" in page and 'id="sharing-button"' in page


def test_teacher_opt_in_queues_counts_only(client, kit):
    unlock(client, kit, "Anna")
    annotate(client, kit)
    assert share(client, kit, True).status_code == 302
    [event] = stats_events(kit)
    assert event["kind"] == "stats.lesson"
    data = event["payload"]
    assert set(data) == {"recording_id", "opted_in", "duration_s", "counts"}
    assert data["recording_id"] == kit.own_recording and data["opted_in"] is True
    assert data["duration_s"] == pytest.approx(kit.own_duration_s, abs=0.1)
    assert data["counts"] == {"instruction": 1, "question": 3, "feedback": 2, "question_cat1": 1,
                              "question_cat2": 0, "question_cat3": 2, "feedback_positive": 1,
                              "feedback_negative": 1, "pearls": 1, "puzzles": 0}
    assert set(data["counts"]) == COUNT_KEYS
    assert "Good start" not in json.dumps(data) and SECRET_NOTE not in json.dumps(data)
    assert "worden met de school gedeeld" in client.get(f"/recordings/{kit.own_recording}/stats").get_data(as_text=True)

    # Each save that changes a number queues the new counts; a text-only save does not.
    rec = f"/api/recordings/{kit.own_recording}"
    assert api(client, "POST", rec + "/clips", {"in": 5, "out": 8, "kind": "puzzle"}).status_code == 201
    assert api(client, "PUT", rec + "/texts", {"notes": SECRET_NOTE + " again"}).status_code == 200
    events = stats_events(kit)
    assert [e["kind"] for e in events] == ["stats.lesson", "stats.lesson"]
    assert events[1]["payload"]["counts"]["puzzles"] == 1


def test_coach_and_admin_cannot_opt_the_teacher_in(client, kit, app):
    unlock(client, kit, "Bram")  # the coach: a recipient of the recording, not its teacher
    assert share(client, kit, True).status_code == 403
    page = client.get(f"/recordings/{kit.own_recording}/stats").get_data(as_text=True)
    assert 'id="sharing-button"' not in page and "Alleen de leraar van deze les" in page
    admin = app.test_client()
    login_admin(admin)
    assert share(admin, kit, True).status_code == 403
    assert stats_events(kit) == []
    teacher = app.test_client()
    unlock(teacher, kit, "Anna")
    annotate(teacher, kit)
    assert stats_events(kit) == []


def test_opt_out_withdraws_and_stops_further_counts(client, kit):
    unlock(client, kit, "Anna")
    annotate(client, kit)
    share(client, kit, True)
    assert share(client, kit, False).status_code == 302
    events = stats_events(kit)
    assert [e["kind"] for e in events] == ["stats.lesson", "stats.withdrawn"]
    assert events[1]["payload"] == {"recording_id": kit.own_recording, "opted_in": False}
    api(client, "POST", f"/api/recordings/{kit.own_recording}/codes", {"t": 9, "kind": "instruction"})
    assert len(stats_events(kit)) == 2


def test_no_setting_can_share_for_the_teacher(client, kit):
    """Attack: the admin or the school server sets a "share by default" setting. Nothing is shared
    until the teacher herself switches sharing on (positive control)."""
    login_admin(client)
    forced = client.post("/admin/settings", data={"csrf_token": csrf_of(client), "key": "stats_opt_in_default",
                                                  "value": "true"})
    assert forced.status_code in (404, 405)  # the admin has no way to write settings any more
    client.post("/admin/logout", data={"csrf_token": csrf_of(client)})
    cat = Catalogue(kit.data_dir / "catalogue.db")
    cat.set_setting("stats_opt_in_default", True)  # even a row in the catalogue changes nothing
    cat.close()
    unlock(client, kit, "Anna")
    annotate(client, kit)
    assert stats_events(kit) == []
    share(client, kit, True)
    assert [e["kind"] for e in stats_events(kit)] == ["stats.lesson"]


def test_bad_choice_is_refused(client, kit):
    unlock(client, kit, "Anna")
    response = client.post(f"/recordings/{kit.own_recording}/stats/sharing",
                           data={"csrf_token": csrf_of(client), "share": "maybe"})
    assert response.status_code == 400
    assert client.post(f"/recordings/{kit.own_recording}/stats/sharing", data={"share": "on"}).status_code == 400
    assert client.post(f"/recordings/{kit.foreign_recording}/stats/sharing",
                       data={"csrf_token": csrf_of(client), "share": "on"}).status_code == 404
    assert stats_events(kit) == []


def kit_server(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sync.server.cli", "--root", str(root), *args],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def push(kit, root: Path) -> None:
    """What rsync does, minus the wire: the exported batches into the kit's inbox."""
    cat = Catalogue(kit.data_dir / "catalogue.db")
    try:
        export.export(cat, SyncPaths(kit.data_dir))
    finally:
        cat.close()
    inbox = root / "kits" / "kit-ui" / "inbox"
    for batch in sorted((kit.data_dir / "sync" / "outgoing").glob("*.jsonl")):
        if not (root / "kits" / "kit-ui" / "archive" / batch.name).exists():
            shutil.copy(batch, inbox / batch.name)
    out = kit_server(root, "ingest")
    assert out.returncode == 0, out.stderr


def server_stats(root: Path) -> list[tuple[str, dict]]:
    conn = sqlite3.connect(root / "server.db")
    try:
        return [(k, json.loads(d)) for k, d in
                conn.execute("SELECT kind, data FROM events WHERE kind LIKE 'stats.%' ORDER BY seq")]
    finally:
        conn.close()


def test_the_server_accepts_the_counts_and_drops_them_on_withdrawal(client, kit, tmp_path):
    root = tmp_path / "srv"
    assert kit_server(root, "init").returncode == 0
    assert kit_server(root, "add-kit", "kit-ui", *KIT_KEY.split()).returncode == 0
    unlock(client, kit, "Anna")
    annotate(client, kit)
    share(client, kit, True)
    push(kit, root)
    assert not any((root / "quarantine").rglob("*")), "the server refused a batch"
    [(kind, data)] = server_stats(root)
    assert kind == "stats.lesson" and data["counts"]["question_cat3"] == 2

    share(client, kit, False)
    push(kit, root)
    assert not any((root / "quarantine").rglob("*")), "the server refused a batch"
    assert server_stats(root) == [("stats.lesson", {"recording_id": kit.own_recording, "withdrawn": True}),
                                  ("stats.withdrawn", {"recording_id": kit.own_recording, "opted_in": False})]
    raw = b"".join(p.read_bytes() for p in (root / "kits" / "kit-ui" / "archive").glob("*.jsonl"))
    assert SECRET_NOTE.encode() not in raw and b"Good start" not in raw
    # the archived batch kept by the server lost the numbers too (other kinds,
    # such as the audit log's counts, may still say "counts")
    archived = [json.loads(line) for line in raw.decode().splitlines()]
    lessons = [e for e in archived if e.get("kind") == "stats.lesson"]
    assert lessons and all(e["data"] == {"recording_id": kit.own_recording, "withdrawn": True} for e in lessons)
    assert b"question_cat3" not in raw
