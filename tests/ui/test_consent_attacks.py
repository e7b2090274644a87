"""Only the filmed teacher decides who can watch: the attacks, through the review app's HTTP surface.

Each attack ends with the kit unable to record, or recording only to the
pair the teacher confirmed; the positive controls show that the confirmed
pair still records, and that its footage opens with its keys only.
"""

from __future__ import annotations

import re
import time

import pytest

from appliance import age
from appliance.consent import Consents
from appliance.footage.store import list_segments
from appliance.identities import unwrap
from ui_helpers import csrf_of, login_admin, page_csrf, unlock
from ui_recording import PASSPHRASES


def record_a_little(client, app, seconds: float = 2.5) -> dict:
    """Start from the live page as a person does, let it seal a segment, stop."""
    page = client.get("/live").get_data(as_text=True)
    started = client.post("/live/start", data={"csrf_token": page_csrf(page)})
    assert started.status_code == 302, started.get_data(as_text=True)
    status = client.get("/api/status").get_json()
    assert status["state"] == "recording", status
    time.sleep(seconds)
    client.post("/live/stop", data={"csrf_token": csrf_of(client)})
    return app.extensions["kit_catalogue"].get_recording(status["recording_id"])


def opens_with(data_dir, recording_id: str, identity) -> bool:
    init = next(p for p in list_segments(data_dir / "recordings" / recording_id) if p.name == "init.mp4.age")
    try:
        with open(init, "rb") as f:
            age.Decryptor(f, [identity]).read()
        return True
    except age.NoIdentityMatch:
        return False


def enrol(app, code: str, passphrase: str):
    client = app.test_client()
    response = client.post("/enrol", data={"csrf_token": csrf_of(client), "code": code,
                                           "passphrase": passphrase, "passphrase_again": passphrase})
    assert response.status_code == 200, response.get_data(as_text=True)
    return client


def test_the_admin_cannot_make_a_teachers_recording_open_with_a_key_it_holds(live_app, kit):
    controller = live_app.extensions["kit_controller"]
    admin = live_app.test_client()
    login_admin(admin)
    # The admin invites a "coach", enrols it himself with a passphrase he chose, and assigns it to Anna.
    page = admin.post("/admin/invitations", data={"csrf_token": csrf_of(admin), "name": "Eve", "role": "coach"})
    code = re.search(r'<p class="code"><strong>([A-Z0-9-]+)</strong>', page.get_data(as_text=True)).group(1)
    enrol(live_app, code, "chosen-by-the-admin")
    eve = live_app.extensions["kit_catalogue"].find_person("Eve")
    assigned = admin.post("/admin/assignment", data={"csrf_token": csrf_of(admin), "teacher": kit.people["Anna"]["id"],
                                                     "coach": eve["id"]})
    assert assigned.status_code == 302
    status = controller.status()
    assert (status["state"], status["reason"]) == ("cannot_record", "no_consent")
    assert "has not confirmed coach Eve" in status["message"]
    assert "5 blinks" not in status["message"]  # the words, not the LED code
    # Nor can Eve confirm on Anna's behalf: only a teacher confirms, with her own key.
    eve_client = live_app.test_client()
    eve_client.post("/unlock", data={"csrf_token": csrf_of(eve_client), "name": "Eve",
                                     "passphrase": "chosen-by-the-admin"})
    refused = eve_client.post("/consent/confirm", data={"csrf_token": csrf_of(eve_client), "coach": eve["id"]})
    assert refused.status_code == 403
    assert eve_client.post("/consent/accept", data={"csrf_token": csrf_of(eve_client),
                                                    "teacher": kit.people["Anna"]["id"]}).status_code == 404
    anna = live_app.test_client()
    unlock(anna, kit, "Anna")
    page = anna.get("/live").get_data(as_text=True)
    assert anna.post("/live/start", data={"csrf_token": page_csrf(page)}).status_code in (302, 409)
    assert controller.status()["state"] == "cannot_record"  # nothing was recorded to Eve's key

    # Positive control: back to Anna's confirmed pair, the kit records, for Anna and Bram only.
    admin.post("/admin/assignment", data={"csrf_token": csrf_of(admin), "teacher": kit.people["Anna"]["id"],
                                          "coach": kit.people["Bram"]["id"]})
    row = record_a_little(anna, live_app)
    assert sorted(row["recipients"]) == sorted([kit.people["Anna"]["recipient"], kit.people["Bram"]["recipient"]])
    assert opens_with(kit.data_dir, row["id"], unwrap(kit.data_dir, kit.people["Anna"]["id"], PASSPHRASES["Anna"]))
    assert not opens_with(kit.data_dir, row["id"], unwrap(kit.data_dir, eve["id"], "chosen-by-the-admin"))


def test_a_coach_cannot_start_recording_a_teacher_who_did_not_confirm_him(live_app, kit):
    controller = live_app.extensions["kit_controller"]
    bram = live_app.test_client()
    unlock(bram, kit, "Bram")
    # Bram starts a trajectory with Cor (who never confirmed him) and runs its intake.
    made = bram.post("/trajectories", data={"csrf_token": csrf_of(bram), "partner": kit.people["Cor"]["id"],
                                            "planned_recordings": "3", "learning_question": "x"})
    assert made.status_code == 302
    trajectory = made.headers["Location"].rsplit("/", 1)[1]
    bram.post(f"/trajectories/{trajectory}/act", data={"csrf_token": csrf_of(bram), "action": "intake"})
    assignment = live_app.extensions["kit_catalogue"].get_assignment()
    assert assignment["teacher"]["name"] == "Cor"  # the trajectory chose the pair ...
    status = controller.status()
    assert (status["state"], status["reason"]) == ("cannot_record", "no_consent")  # ... but Cor did not
    assert "Cor heeft coach Bram nog niet met haar eigen sleutel bevestigd" in bram.get(f"/trajectories/{trajectory}").get_data(as_text=True)

    # Positive control: Cor confirms Bram with her own key, Bram accepts, and the kit records for them.
    cor = live_app.test_client()
    unlock(cor, kit, "Cor")
    assert cor.post("/consent/confirm", data={"csrf_token": csrf_of(cor),
                                              "coach": kit.people["Bram"]["id"]}).status_code == 302
    assert controller.status()["reason"] == "no_consent"  # still waiting for the coach
    assert bram.post("/consent/accept", data={"csrf_token": csrf_of(bram),
                                              "teacher": kit.people["Cor"]["id"]}).status_code == 302
    assert controller.status()["state"] == "idle"
    row = record_a_little(cor, live_app)
    assert sorted(row["recipients"]) == sorted([kit.people["Cor"]["recipient"], kit.people["Bram"]["recipient"]])

    # Cor withdraws: the kit cannot record for the pair any more.
    cor.post("/consent/withdraw", data={"csrf_token": csrf_of(cor), "teacher": kit.people["Cor"]["id"],
                                        "coach": kit.people["Bram"]["id"]})
    assert controller.status()["reason"] == "no_consent"


def test_a_row_written_behind_the_teachers_back_does_not_verify(live_app, kit):
    """Whatever writes the database (a bug, a restored backup) cannot forge a signature or a key."""
    controller = live_app.extensions["kit_controller"]
    catalogue = live_app.extensions["kit_catalogue"]
    anna, bram = kit.people["Anna"], kit.people["Bram"]
    intruder = age.generate_identity()
    with catalogue.transaction() as db:  # swap Bram's key for the intruder's
        db.execute("UPDATE people SET recipient = ? WHERE id = ?", (str(intruder.recipient), bram["id"]))
    status = controller.status()
    assert (status["state"], status["reason"]) == ("cannot_record", "no_consent")
    assert "the key of Bram changed" in status["message"]
    with catalogue.transaction() as db:  # put it back: the signed pair verifies again
        db.execute("UPDATE people SET recipient = ? WHERE id = ?", (bram["recipient"], bram["id"]))
    assert controller.status()["state"] == "idle"
    with catalogue.transaction() as db:  # a forged teacher signature
        db.execute("UPDATE consents SET teacher_signature = ? WHERE teacher_id = ?", ("00" * 64, anna["id"]))
    assert "not signed by Anna" in controller.status()["message"]
    assert Consents(catalogue).problem(anna["id"], bram["id"]) is not None


def test_the_unlock_page_does_not_list_the_schools_roster(live_app, kit):
    catalogue = live_app.extensions["kit_catalogue"]
    catalogue.add_person("Dora Nieuw", "teacher", str(age.generate_identity().recipient))
    page = live_app.test_client().get("/unlock").get_data(as_text=True)
    assert "Dora Nieuw" not in page
    assert "Anna" in page and "Bram" in page  # people with recordings or a confirmed pair here
    assert 'name="name"' in page  # everyone else types her name
