"""The school server never learns lesson content: after a full trajectory
with a learning question, annotations, a class checklist, action points, an
audit trail and a deletion has been synced over real ssh + rsync and
ingested, neither the dashboard's pages nor any file of the server (database,
archived batches) contains any of the test's unique strings — while the
trajectory's progress and the deletion receipt are there."""

from __future__ import annotations


import pytest

from appliance.audit import AuditLog
from appliance.retention import Retention
from appliance.trajectory import Trajectories
from tests.support import testbed
from sync.agent import sync_once
from sync.server import admin, ingest
from sync.server.dashboard import create_app
from appliance.coding.annotations import AnnotationStore

pytestmark = pytest.mark.network
SECRETS = {
    "learning question": "LQ-geheim-4e1f9a hoe betrek ik Daan?",
    "clip title": "CLIP-geheim-7c2d01",
    "reflection": "REFL-geheim-a9b3c4",
    "annotation notes": "NOTES-geheim-55e0aa",
    "class": "KLAS-geheim-groep-8c",
    "checklist note": "PUPIL-geheim-Fenna-van-Dijk",
    "action point": "ACTIE-geheim-0b6f12",
}
PASSWORD = "dashboard-password-1"


def build_history(kit) -> tuple[dict, str]:
    trajectories = Trajectories(kit.catalogue, kit.data_dir)
    anna, bram = kit.people["Anna"], kit.people["Bram"]
    pair = [anna["recipient"], bram["recipient"]]
    t = trajectories.create("Anna", "Bram", planned_recordings=1, learning_question=SECRETS["learning question"])
    trajectories.confirm_checklist(t["id"], [kit.identity("Anna")], SECRETS["class"], SECRETS["checklist note"])
    trajectories.act(t["id"], "intake")
    baseline = kit.press_and_record(0.8)
    trajectories.advance_recorded()
    rec1 = kit.press_and_record(0.8)
    trajectories.advance_recorded()

    def annotate(doc):
        doc["notes"] = SECRETS["annotation notes"]
        doc["learning_question"] = SECRETS["learning question"]
        doc["clips"].append({"id": "k-1", "in": 0.0, "out": 0.5, "kind": "pearl", "title": SECRETS["clip title"],
                             "reflection": {"teacher": {"feel": SECRETS["reflection"]}}})

    AnnotationStore(kit.data_dir / "recordings").update(rec1, [kit.identity("Bram")], pair, annotate)
    trajectories.choose_clips(t["id"], 1, [kit.identity("Bram")],
                              [{"recording_id": rec1, "clip_id": "k-1", "kind": "pearl"}])
    trajectories.add_action_point(t["id"], 1, [kit.identity("Bram")], SECRETS["action point"])
    trajectories.act(t["id"], "review")
    AuditLog(kit.catalogue, kit.data_dir).record("played", bram["id"], anna["id"], bram["id"], pair, rec1)
    Retention(kit.catalogue, kit.data_dir).delete(baseline, "teacher_request", by_person=anna["id"])
    trajectories.act(t["id"], "close")
    return t, baseline


def test_dashboard_and_server_files_hold_no_lesson_content(kit, school_server):
    layout = school_server.layout
    testbed.provision_kit(kit.data_dir, layout, "kit-privacy", school_server)
    for name, role in (("Anna", "teacher"), ("Bram", "coach")):
        person = kit.people[name]
        admin.add_person(layout, name, role, person["recipient"], person["id"])
    admin.add_user(layout, "dpo", "coordinator", PASSWORD)
    t, deleted = build_history(kit)

    sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    reports = ingest.ingest(layout, ["kit-privacy"])
    assert reports["kit-privacy"].applied and not reports["kit-privacy"].quarantined

    app = create_app(layout)
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as s:
        csrf = s["csrf"]
    assert client.post("/login", data={"name": "dpo", "password": PASSWORD, "csrf": csrf}).status_code == 302
    pages = {}
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint not in ("static", "login"):
            for lang in ("nl", "en"):
                response = client.get(f"{rule.rule}?lang={lang}")
                assert response.status_code == 200, rule.rule
                pages[f"{rule.rule}?lang={lang}"] = response.get_data(as_text=True)
    everything = "\n".join(pages.values())
    # The evidence a data-protection officer asks for is there...
    assert t["id"] in everything or "Anna" in pages["/trajectories?lang=nl"]
    assert "closed" in pages["/trajectories?lang=en"] or "afgesloten" in pages["/trajectories?lang=nl"]
    progress = pages["/progress?lang=en"]
    row = progress[progress.index("<td>Anna</td>"):]
    row = row[:row.index("</tr>")]
    assert "<td>Bram</td>" in row and "0 / 1 / 0 / 1" in row  # played once, deleted once: counts only
    deletions = pages["/deletions?lang=nl"]
    assert deleted in deletions and "door de leraar verwijderd" in deletions and "crypto-shred" in deletions
    # ...and nothing of the lessons themselves.
    for what, secret in SECRETS.items():
        assert secret not in everything, f"the dashboard shows the {what}"
    files = [p for p in layout.root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".jsonl" for p in files)  # the archived batches were scanned too
    for path in files:
        data = path.read_bytes()
        for what, secret in SECRETS.items():
            assert secret.encode() not in data, f"{path.relative_to(layout.root)} holds the {what}"
            assert secret.split("-geheim-")[1][:6].encode() not in data, f"{path.name} holds part of the {what}"
