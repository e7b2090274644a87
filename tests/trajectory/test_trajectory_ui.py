"""The trajectory pages through the Flask test client: who sees what, the
checklist, deleting one's own recording, and the audit log the requests feed."""

from __future__ import annotations

import json
import re

import pytest

from appliance.trajectory import Trajectories
from trajectory_kit import PASSPHRASES
from ui import create_app
from appliance.coding.annotations import AnnotationStore
from ui.config import TestingConfig

CLASS = "klas-uniek-41b7 groep 7b"
NOTE = "notitie-uniek-93aa: Sem en Lotte niet in beeld"
ADMIN = "admin-password-123"


@pytest.fixture
def walked(kit):
    trajectories = Trajectories(kit.catalogue, kit.data_dir)
    t = trajectories.create("Anna", "Bram", learning_question="leervraag-uniek-0c51")
    trajectories.act(t["id"], "intake")
    baseline = kit.press_and_record(0.8)
    trajectories.advance_recorded()
    return t, baseline


@pytest.fixture
def client(kit):
    app = create_app(controller=None, data_dir=kit.data_dir, config=TestingConfig(admin_password=ADMIN))
    app.testing = True
    return app.test_client()


def csrf(client) -> str:
    return client.get("/api/session").get_json()["csrf_token"]


def unlock(client, kit, name: str):
    response = client.post("/unlock", data={"csrf_token": csrf(client), "person": kit.people[name]["id"],
                                            "passphrase": PASSPHRASES[name]})
    assert response.status_code == 302
    return csrf(client)


def test_only_teacher_and_coach_see_a_trajectory(kit, walked, client):
    t, _ = walked
    unlock(client, kit, "Cor")
    assert client.get(f"/trajectories/{t['id']}").status_code == 404
    assert t["id"] not in client.get("/trajectories").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf(client)})
    client.post("/admin/login", data={"csrf_token": csrf(client), "password": ADMIN})
    assert client.get(f"/trajectories/{t['id']}").status_code == 403
    client.post("/admin/logout", data={"csrf_token": csrf(client)})
    client.post("/logout", data={"csrf_token": csrf(client)})
    unlock(client, kit, "Bram")
    html = client.get(f"/trajectories/{t['id']}").get_data(as_text=True)
    assert "leervraag-uniek-0c51" in html and "nulmeting opgenomen" in html  # Dutch by default
    assert "baseline recorded" in client.get(f"/trajectories/{t['id']}?lang=en").get_data(as_text=True)


def test_checklist_stores_only_the_confirmation(kit, walked, client):
    t, _ = walked
    token = unlock(client, kit, "Bram")
    refused = client.post(f"/trajectories/{t['id']}/checklist",
                          data={"csrf_token": token, "class_label": CLASS, "out_of_frame": "yes"})
    assert refused.status_code == 403  # the teacher confirms, not the coach
    client.post("/logout", data={"csrf_token": token})
    token = unlock(client, kit, "Anna")
    missing_tick = client.post(f"/trajectories/{t['id']}/checklist", data={"csrf_token": token, "class_label": CLASS})
    assert missing_tick.status_code == 400
    ok = client.post(f"/trajectories/{t['id']}/checklist",
                     data={"csrf_token": token, "class_label": CLASS, "out_of_frame": "yes", "note": NOTE})
    assert ok.status_code == 302
    assert CLASS in client.get(f"/trajectories/{t['id']}").get_data(as_text=True)
    db_bytes = (kit.data_dir / "catalogue.db").read_bytes() + (kit.data_dir / "catalogue.db-wal").read_bytes()
    assert b"klas-uniek-41b7" not in db_bytes and b"notitie-uniek-93aa" not in db_bytes
    events = [r for r in kit.catalogue.outbox(limit=10_000) if r["kind"] == "trajectory.checklist_confirmed"]
    assert len(events) == 1 and set(events[0]["payload"]) == {"trajectory_id", "at"}


def test_teacher_deletes_her_recording_coach_cannot(kit, walked, client):
    _, baseline = walked
    token = unlock(client, kit, "Bram")
    assert client.post(f"/trajectories/recordings/{baseline}/delete",
                       data={"csrf_token": token, "confirm": "yes"}).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    token = unlock(client, kit, "Anna")
    assert client.post(f"/trajectories/recordings/{baseline}/delete",
                       data={"csrf_token": token}).status_code == 400  # not confirmed
    assert client.post(f"/trajectories/recordings/{baseline}/delete",
                       data={"csrf_token": "wrong", "confirm": "yes"}).status_code == 400  # CSRF
    assert (kit.data_dir / "recordings" / baseline).is_dir()
    done = client.post(f"/trajectories/recordings/{baseline}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 302
    assert not (kit.data_dir / "recordings" / baseline).exists()
    assert client.get(f"/recordings/{baseline}").status_code == 404


def test_audit_log_records_unlock_play_export_delete_encrypted(kit, walked, client):
    t, baseline = walked
    token = unlock(client, kit, "Bram")
    assert client.get(f"/media/{baseline}/playlist.m3u8").status_code == 200
    client.get(f"/media/{baseline}/playlist.m3u8")  # the player asks again: one entry
    assert client.get(f"/export/{baseline}/annotations.csv").status_code == 200
    client.post("/logout", data={"csrf_token": token})
    token = unlock(client, kit, "Anna")
    client.post(f"/trajectories/recordings/{baseline}/delete", data={"csrf_token": token, "confirm": "yes"})
    html = client.get(f"/trajectories/{t['id']}/audit?lang=en").get_data(as_text=True)
    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td>\s*<td>([^<]*?)\s*(?:<small>\(([^<]*)\)</small>)?</td>"
                      r"\s*<td>([^<]*)</td>", html)
    assert [(who, what) for who, what, _detail, _lesson in rows[::-1]] == [
        ("Bram", "unlocked"), ("Bram", "played"), ("Bram", "exported"), ("Anna", "unlocked"), ("Anna", "deleted")]
    exported = next(r for r in rows if r[1] == "exported")
    assert exported[2] == "codes as CSV"  # what was exported, not only that something was
    assert exported[3] == "a deleted recording"  # the lesson by its date while it exists; it is gone now
    assert "<th>When</th><th>Who</th><th>What</th><th>Lesson</th>" in html
    audit_files = list((kit.data_dir / "audit").rglob("*.age"))
    assert len(audit_files) == 5
    assert all(b"Bram" not in p.read_bytes() and baseline.encode() not in p.read_bytes() for p in audit_files)
    counted = [r["payload"] for r in kit.catalogue.outbox(limit=10_000) if r["kind"] == "audit.counted"][-1]
    assert counted["counts"] == {"unlocked": 2, "played": 1, "exported": 1, "deleted": 1}
    assert set(counted) == {"teacher_id", "coach_id", "counts"}


def test_meeting_and_action_points_through_forms(kit, walked, client):
    t, baseline = walked
    trajectories = Trajectories(kit.catalogue, kit.data_dir)
    rec1 = kit.press_and_record(0.8)
    trajectories.advance_recorded()
    pair = [kit.people["Anna"]["recipient"], kit.people["Bram"]["recipient"]]
    store = AnnotationStore(kit.data_dir / "recordings")
    store.update(rec1, [kit.identity("Bram")], pair,
                 lambda d: d["clips"].append({"id": "k-1", "in": 0.0, "out": 0.5, "kind": "pearl", "title": "",
                                              "reflection": None}))
    token = unlock(client, kit, "Bram")
    assert client.get(f"/trajectories/{t['id']}/meetings/9").status_code == 404
    client.post(f"/trajectories/{t['id']}/meetings/1/clips", data={"csrf_token": token, "clip": [f"{rec1}/k-1"]})
    client.post(f"/trajectories/{t['id']}/meetings/1/actions", data={"csrf_token": token, "text": "actie-uniek-77"})
    html = client.get(f"/trajectories/{t['id']}/meetings/1").get_data(as_text=True)
    assert "actie-uniek-77" in html and re.search(r'id="balance-pearls">1<', html)
    doc = trajectories.private(t["id"], [kit.identity("Anna")])
    assert doc["meetings"]["1"]["clips"] == [{"recording_id": rec1, "clip_id": "k-1", "kind": "pearl"}]
    assert "actie-uniek-77" not in json.dumps(kit.catalogue.outbox(limit=10_000))
    assert client.post(f"/trajectories/{t['id']}/meetings/1/actions",
                       data={"csrf_token": token, "text": "x" * 6000}).status_code == 400

    # Editing and deleting an action point, by either of the two; nobody else, and no point that is not there.
    point = doc["meetings"]["1"]["action_points"][0]["id"]
    path = f"/trajectories/{t['id']}/meetings/1/actions/{point}"
    assert client.post(path, data={"csrf_token": token, "text": "actie-bewerkt-78"}).status_code == 302
    assert "actie-bewerkt-78" in client.get(f"/trajectories/{t['id']}/meetings/1").get_data(as_text=True)
    assert client.post(path, data={"csrf_token": token, "text": "   "}).status_code == 400
    assert client.post(path.replace(point, "a-bestaatniet"), data={"csrf_token": token, "text": "x"}).status_code == 400
    client.post("/logout", data={"csrf_token": token})
    cor_token = unlock(client, kit, "Cor")
    assert client.post(path, data={"csrf_token": cor_token, "delete": "yes"}).status_code == 404
    client.post("/logout", data={"csrf_token": cor_token})
    anna_token = unlock(client, kit, "Anna")
    assert client.post(path, data={"csrf_token": anna_token, "delete": "yes"}).status_code == 302
    assert trajectories.private(t["id"], [kit.identity("Anna")])["meetings"]["1"]["action_points"] == []


def test_full_disk_while_saving_an_action_point_loses_nothing(kit, walked, client, monkeypatch):
    t, _ = walked
    token = unlock(client, kit, "Bram")
    client.post(f"/trajectories/{t['id']}/meetings/1/actions", data={"csrf_token": token, "text": "eerste-punt"})
    before = Trajectories(kit.catalogue, kit.data_dir).private_path(t["id"]).read_bytes()
    import errno
    import os

    import appliance.durable as sealed

    def disk_full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sealed.os, "write", disk_full)
    response = client.post(f"/trajectories/{t['id']}/meetings/1/actions",
                           data={"csrf_token": token, "text": "tweede-punt"})
    monkeypatch.undo()
    assert response.status_code == 503 and "No space left on device" in response.get_data(as_text=True)
    path = Trajectories(kit.catalogue, kit.data_dir).private_path(t["id"])
    assert path.read_bytes() == before and not list(path.parent.glob("*.partial"))
    doc = Trajectories(kit.catalogue, kit.data_dir).private(t["id"], [kit.identity("Anna")])
    assert [p["text"] for p in doc["meetings"]["1"]["action_points"]] == ["eerste-punt"]
    assert os.path.exists(path)


def test_hostile_ids_are_404(kit, walked, client):
    token = unlock(client, kit, "Anna")
    for tid in ("../../etc/passwd", "x" * 500, "t-doesnotexist", "%00"):
        assert client.get(f"/trajectories/{tid}").status_code == 404
        assert client.post(f"/trajectories/{tid}/act", data={"csrf_token": token, "action": "stop"}).status_code == 404
    t, _ = walked
    assert client.post(f"/trajectories/{t['id']}/act", data={"csrf_token": token, "action": "drop"}).status_code == 400
    assert client.post(f"/trajectories/{t['id']}/act", data={"csrf_token": token, "action": "close"}).status_code == 400
    assert client.post("/trajectories/recordings/..%2F..%2Fidentities/delete",
                       data={"csrf_token": token, "confirm": "yes"}).status_code == 404


def test_countdown_and_warning_a_week_before(kit, walked, client):
    import datetime as dt

    from appliance.retention import Retention

    _, baseline = walked
    kit.catalogue.set_setting("retention_days", 10)
    week_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=7)
    Retention(kit.catalogue, kit.data_dir, now=lambda: week_ago).run()  # housekeeping a week ago set the date
    unlock(client, kit, "Anna")
    html = client.get("/trajectories").get_data(as_text=True)
    assert 'id="retention-warning"' in html and "binnen een week verwijderd" in html
    row = html[html.index(f'id="rec-{baseline}"'):]
    row = row[:row.index("</tr>")]
    assert re.search(r"over [23] dagen verwijderd", row) and "minder dan een week te gaan" in row
    kit.catalogue.set_setting("retention_days", 30)
    Retention(kit.catalogue, kit.data_dir, now=lambda: week_ago).run()
    html = client.get("/trajectories").get_data(as_text=True)
    assert 'id="retention-warning"' not in html and re.search(r"over 2[23] dagen verwijderd", html)


def test_my_audit_log_covers_recordings_outside_a_trajectory(kit, client):
    kit.catalogue.assign("Cor", "Bram")
    loose = kit.press_and_record(0.8)
    token = unlock(client, kit, "Bram")
    assert client.get(f"/media/{loose}/playlist.m3u8").status_code == 200
    client.post("/logout", data={"csrf_token": token})
    unlock(client, kit, "Cor")
    html = client.get("/trajectories/audit?lang=en").get_data(as_text=True)
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    assert body.count("<tr>") == 3 and "played" in body and "Bram" in body  # Bram unlocked + played, Cor unlocked
    client.post("/logout", data={"csrf_token": csrf(client)})
    unlock(client, kit, "Anna")
    assert "<tr>" not in client.get("/trajectories/audit").get_data(as_text=True)  # not Anna's recording


def test_an_earlier_recording_is_attached_to_a_step_by_the_pair_only(kit, client):
    kit.catalogue.assign("Cor", "Bram")
    earlier = kit.press_and_record(0.8)  # a lesson before any trajectory
    t = Trajectories(kit.catalogue, kit.data_dir).create("Cor", "Bram", planned_recordings=3, activate=False)
    token = unlock(client, kit, "Bram")
    page = client.get(f"/trajectories/{t['id']}").get_data(as_text=True)
    assert 'id="link-recording"' in page and f'value="{earlier}"' in page
    # Anna is not in this trajectory: 404, and nothing is linked.
    other = create_app(data_dir=kit.data_dir, config=TestingConfig()).test_client()
    anna_token = unlock(other, kit, "Anna")
    assert other.post(f"/trajectories/{t['id']}/link",
                      data={"csrf_token": anna_token, "recording": earlier, "step": "0"}).status_code == 404
    assert client.post(f"/trajectories/{t['id']}/link",
                       data={"csrf_token": token, "recording": earlier, "step": "x"}).status_code == 400
    assert client.post(f"/trajectories/{t['id']}/link",
                       data={"csrf_token": token, "recording": earlier, "step": "9"}).status_code == 400
    done = client.post(f"/trajectories/{t['id']}/link", data={"csrf_token": token, "recording": earlier, "step": "0"})
    assert done.status_code == 302 and done.headers["Location"].endswith("#step-0")
    assert [r["recording_id"] for r in Trajectories(kit.catalogue, kit.data_dir).recordings(t["id"])] == [earlier]
    assert 'id="link-recording"' not in client.get(f"/trajectories/{t['id']}").get_data(as_text=True)
    assert client.post(f"/trajectories/{t['id']}/link",
                       data={"csrf_token": token, "recording": earlier, "step": "1"}).status_code == 409
