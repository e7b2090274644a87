"""A person renews her own key, through the review app: only she can, and nothing is lost.

Her next recording opens with the new key only; her old recordings still
open (the old key stays in her key file, and the backup holds both, in the
format ``age`` reads); her confirmed pair goes on recording without anyone
confirming again, because her old consent key signed the step. Nobody
else — the admin, her coach, a row written behind her back — can renew a
key or make one up.
"""

from __future__ import annotations

import subprocess
import time

from appliance import age
from appliance.consent import Consents
from appliance.footage.store import list_segments
from appliance.identities import unwrap
from test_consent_attacks import opens_with, record_a_little
from ui_helpers import csrf_of, login_admin, unlock
from ui_recording import PASSPHRASES

NEW = "anna-her-new-passphrase"


def renew(client, current: str, new: str = NEW, again: str | None = None):
    """POST the renewal form; a 429 from the throttle (after a wrong try) is waited out once."""
    def post():
        return client.post("/key/renew", data={"csrf_token": csrf_of(client), "passphrase": current,
                                               "new_passphrase": new,
                                               "new_passphrase_again": new if again is None else again})
    response = post()
    if response.status_code == 429:
        time.sleep(float(response.headers["Retry-After"]) + 0.1)
        response = post()
    return response


def key_file(kit, name: str = "Anna") -> bytes:
    return (kit.data_dir / "identities" / f"{kit.people[name]['id']}.age").read_bytes()


def test_a_teacher_renews_her_key_and_keeps_her_old_recordings(live_app, kit, tmp_path):
    catalogue = live_app.extensions["kit_catalogue"]
    controller = live_app.extensions["kit_controller"]
    anna_id, bram = kit.people["Anna"]["id"], kit.people["Bram"]
    old_key = unwrap(kit.data_dir, anna_id, PASSPHRASES["Anna"])
    anna, elsewhere = live_app.test_client(), live_app.test_client()
    unlock(anna, kit, "Anna")
    unlock(elsewhere, kit, "Anna")
    before = record_a_little(anna, live_app)
    page = anna.get("/key").get_data(as_text=True)
    assert "Je sleutel vernieuwen" in page and 'autocomplete="current-password"' in page

    # Refusals change nothing: a wrong current passphrase, two different new ones, a short one.
    file_before = key_file(kit)
    wrong = renew(anna, "not-her-passphrase")
    assert wrong.status_code == 403 and "Je huidige wachtwoordzin klopt niet" in wrong.get_data(as_text=True)
    assert renew(anna, PASSPHRASES["Anna"], again=NEW + "!").status_code == 400
    assert renew(anna, PASSPHRASES["Anna"], new="short").status_code == 400
    assert renew(anna, "").status_code == 400  # no current passphrase typed
    assert key_file(kit) == file_before
    assert catalogue.get_person(anna_id)["recipient"] == str(old_key.recipient)

    done = renew(anna, PASSPHRASES["Anna"])
    assert done.status_code == 200, done.get_data(as_text=True)
    assert "Je sleutel is vernieuwd" in done.get_data(as_text=True)
    pinned = catalogue.get_person(anna_id)
    assert pinned["recipient"] != str(old_key.recipient)
    # The key file, under the new passphrase only, holds the new key first and the old one after it.
    held = age.unwrap_identities(key_file(kit), NEW)
    assert [str(i.recipient) for i in held] == [pinned["recipient"], str(old_key.recipient)]
    try:
        age.unwrap_identities(key_file(kit), PASSPHRASES["Anna"])
        raise AssertionError("the old passphrase still opens the key file")
    except age.NoIdentityMatch:
        pass
    # Her other device is locked: whoever knew the old passphrase may be holding it.
    assert elsewhere.get("/api/recordings").status_code == 401

    # The confirmed pair still records, now to her new key and Bram's, without asking anyone again.
    assert Consents(catalogue).recipients(anna_id, bram["id"]) == [pinned["recipient"], bram["recipient"]]
    assert controller.status()["state"] == "idle"
    after = record_a_little(anna, live_app)
    assert sorted(after["recipients"]) == sorted([pinned["recipient"], bram["recipient"]])
    assert opens_with(kit.data_dir, after["id"], held[0])
    assert not opens_with(kit.data_dir, after["id"], old_key)
    assert opens_with(kit.data_dir, before["id"], old_key)

    # She sees and plays both, in this session and after unlocking again with the new passphrase only.
    for client in (anna, live_app.test_client()):
        if client is not anna:
            assert unlock(client, kit, "Anna").status_code == 401  # the old passphrase
            time.sleep(1.1)  # the throttle's pause after that wrong try
            assert unlock(client, kit, "Anna", passphrase=NEW).status_code == 302
        listed = {r["id"] for r in client.get("/api/recordings").get_json()}
        assert {before["id"], after["id"]} <= listed
        for rec in (before, after):
            assert client.get(f"/recordings/{rec['id']}").status_code == 200
            init = client.get(f"/media/{rec['id']}/init.mp4")  # decrypted with the key it needs
            assert init.status_code == 200 and init.data[4:8] == b"ftyp"

    # The backup she downloads holds both keys, and the real age opens old and new footage with it.
    backup = anna.get("/key-backup")
    assert backup.status_code == 200 and backup.data == key_file(kit)
    keys = tmp_path / "keys.txt"
    keys.write_text("".join(age.identity_file_text(i) for i in age.unwrap_identities(backup.data, NEW)))
    for rec in (before, after):
        init = next(p for p in list_segments(kit.data_dir / "recordings" / rec["id"]) if p.name == "init.mp4.age")
        opened = subprocess.run(["age", "-d", "-i", str(keys), str(init)], capture_output=True, timeout=30)
        assert opened.returncode == 0 and opened.stdout[4:8] == b"ftyp", opened.stderr


def test_only_she_renews_her_key(live_app, kit):
    anna_id = kit.people["Anna"]["id"]
    catalogue = live_app.extensions["kit_catalogue"]
    pinned = catalogue.get_person(anna_id)["recipient"]
    file_before = key_file(kit)

    admin = live_app.test_client()
    login_admin(admin)
    assert admin.get("/key").status_code == 403
    assert renew(admin, PASSPHRASES["Anna"]).status_code == 403
    stranger = live_app.test_client()
    assert renew(stranger, PASSPHRASES["Anna"]).status_code == 401
    # Her coach, unlocked, knows (say) her passphrase: the form renews only his own key, with his own.
    bram = live_app.test_client()
    unlock(bram, kit, "Bram")
    assert renew(bram, PASSPHRASES["Anna"]).status_code == 403
    assert key_file(kit) == file_before and catalogue.get_person(anna_id)["recipient"] == pinned
    # A person id in the form is not read: it renews the unlocked person's key or nobody's.
    sneaky = bram.post("/key/renew", data={"csrf_token": csrf_of(bram), "person": anna_id,
                                           "passphrase": PASSPHRASES["Bram"], "new_passphrase": NEW,
                                           "new_passphrase_again": NEW})
    if sneaky.status_code == 429:
        time.sleep(float(sneaky.headers["Retry-After"]) + 0.1)
        sneaky = renew(bram, PASSPHRASES["Bram"])
    assert sneaky.status_code == 200
    assert key_file(kit) == file_before and catalogue.get_person(anna_id)["recipient"] == pinned
    assert catalogue.get_person(kit.people["Bram"]["id"])["recipient"] != kit.people["Bram"]["recipient"]
    # Positive control: Bram's renewal keeps the pair recordable, to Anna and Bram's new key.
    assert live_app.extensions["kit_controller"].status()["state"] == "idle"


def test_a_renewal_nobody_signed_does_not_verify(live_app, kit):
    """A row that pins another key and claims a renewal, without the old key's signature, stops the recorder."""
    catalogue = live_app.extensions["kit_catalogue"]
    controller = live_app.extensions["kit_controller"]
    anna = kit.people["Anna"]
    Consents(catalogue)  # its tables, as on a kit that recorded
    intruder = age.generate_identity()
    from appliance.consent import consent_key, public_key_hex

    with catalogue.transaction() as db:
        db.execute("UPDATE people SET recipient = ?, signing_key = ? WHERE id = ?",
                   (str(intruder.recipient), public_key_hex(consent_key(intruder)), anna["id"]))
        db.execute("INSERT INTO key_renewals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (anna["id"], anna["recipient"], anna["signing_key"], str(intruder.recipient),
                    public_key_hex(consent_key(intruder)), "00" * 64, "00" * 64, "2026-12-01T00:00:00Z"))
    status = controller.status()
    assert (status["state"], status["reason"]) == ("cannot_record", "no_consent")
    assert "the key of Anna changed" in status["message"]
    # The intruder signs the step with its own key instead: still not Anna's old key.
    from appliance.consent.renewal import _statement

    statement = _statement(anna["id"], {"recipient": anna["recipient"], "key": anna["signing_key"]},
                           {"recipient": str(intruder.recipient), "key": public_key_hex(consent_key(intruder))})
    with catalogue.transaction() as db:
        db.execute("UPDATE key_renewals SET signature = ?, new_signature = ?",
                   (consent_key(intruder).sign(statement).hex(), consent_key(intruder).sign(statement).hex()))
    assert controller.status()["state"] == "cannot_record"

    # The other way round: a consent for (Anna, Eve) naming a key X the intruder made up, signed with X,
    # Eve's acceptance, and a step "X → Anna's pinned key" signed with X. Anna's pinned key never signed it.
    from appliance.consent.store import PURPOSE
    import json as _json

    made_up, eve = age.generate_identity(), age.generate_identity()
    eve_row = catalogue.add_person("Eve", "coach", str(eve.recipient), signing_key=public_key_hex(consent_key(eve)))
    x = {"id": anna["id"], "recipient": str(made_up.recipient), "key": public_key_hex(consent_key(made_up))}
    forged = _json.dumps({"v": 1, "purpose": PURPOSE, "teacher": x,
                          "coach": {"id": eve_row["id"], "recipient": eve_row["recipient"],
                                    "key": eve_row["signing_key"]}}, sort_keys=True, separators=(",", ":"))
    step = _statement(anna["id"], {"recipient": x["recipient"], "key": x["key"]},
                      {"recipient": anna["recipient"], "key": anna["signing_key"]})
    with catalogue.transaction() as db:
        db.execute("DELETE FROM key_renewals")
        db.execute("UPDATE people SET recipient = ?, signing_key = ? WHERE id = ?",
                   (anna["recipient"], anna["signing_key"], anna["id"]))
        db.execute("INSERT INTO consents VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (anna["id"], eve_row["id"], forged, consent_key(made_up).sign(forged.encode()).hex(),
                    consent_key(eve).sign(forged.encode()).hex(), "2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z"))
        db.execute("INSERT INTO key_renewals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (anna["id"], x["recipient"], x["key"], anna["recipient"], anna["signing_key"],
                    consent_key(made_up).sign(step).hex(), consent_key(made_up).sign(step).hex(), "2026-12-01"))
    assert Consents(catalogue).state(anna["id"], eve_row["id"]).value == "broken"
    with catalogue.transaction() as db:
        db.execute("DELETE FROM consents WHERE coach_id = ?", (eve_row["id"],))

    # Positive control: the real renewal, signed by her old key, verifies.
    with catalogue.transaction() as db:
        db.execute("DELETE FROM key_renewals")
        db.execute("UPDATE people SET recipient = ?, signing_key = ? WHERE id = ?",
                   (anna["recipient"], anna["signing_key"], anna["id"]))
    anna_client = live_app.test_client()
    unlock(anna_client, kit, "Anna")
    assert renew(anna_client, PASSPHRASES["Anna"]).status_code == 200
    assert controller.status()["state"] == "idle"


def test_a_failed_pin_puts_the_old_key_file_back(live_app, kit, monkeypatch):
    """If the catalogue cannot pin the new key, the old key file (and passphrase) stays: nothing changed."""
    from appliance.consent.renewal import Renewals

    def refuse(self, *args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Renewals, "record", refuse)
    file_before = key_file(kit)
    anna = live_app.test_client()
    unlock(anna, kit, "Anna")
    failed = renew(anna, PASSPHRASES["Anna"])
    assert failed.status_code == 409 and "er is niets veranderd" in failed.get_data(as_text=True)
    assert key_file(kit) == file_before
    assert age.unwrap_identities(key_file(kit), PASSPHRASES["Anna"])


def test_a_cut_after_writing_the_key_file_leaves_her_recording_to_the_pinned_key(live_app, kit):
    """Power lost between the key file and the catalogue: the file holds a key nobody pinned.

    The pinned key stays current (unlock picks it, the recorder uses it), so
    nothing is encrypted to a key the catalogue does not name.
    """
    anna_id = kit.people["Anna"]["id"]
    old_key = unwrap(kit.data_dir, anna_id, PASSPHRASES["Anna"])
    orphan = age.generate_identity()
    path = kit.data_dir / "identities" / f"{anna_id}.age"
    path.write_bytes(age.wrap_identities([orphan, old_key], NEW, work_factor=10))
    anna = live_app.test_client()
    assert unlock(anna, kit, "Anna", passphrase=NEW).status_code == 302
    rec = record_a_little(anna, live_app)
    assert str(old_key.recipient) in rec["recipients"] and str(orphan.recipient) not in rec["recipients"]
    # Renewing again from there works and pins a fresh key, keeping every key she held.
    time.sleep(0.1)
    assert renew(anna, NEW, new=NEW + "-2").status_code == 200
    held = age.unwrap_identities(path.read_bytes(), NEW + "-2")
    assert {str(i.recipient) for i in held} >= {str(old_key.recipient), str(orphan.recipient)}
    assert opens_with(kit.data_dir, rec["id"], held[1])
