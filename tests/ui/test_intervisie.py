"""Intervisie: Anna shares one clip of her lesson with her group of four teachers.

Each member's own wrapped key opens the share with the real ``age`` CLI and
it plays for the clip's length from 0; her coach Bram (not a member), the
admin and anyone else cannot, through the CLI or HTTP. Only the filmed
teacher can share; withdrawing (or deleting the recording) leaves no file
of the share; the data and temp directories hold no plaintext media.
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from pathlib import Path

import av
import pytest

from appliance import age
from appliance.catalogue import Catalogue
from appliance.errors import KitError
from appliance.footage.plaintext_scan import scan_for_plaintext_media
from appliance.identities import create_person
from appliance.intervisie import Shares
from appliance.retention import Retention
from kit.cli.main import main as kit_main
from ui_helpers import csrf_of, login_admin, unlock
from ui_recording import PASSPHRASES

MORE = {"Dora": "dora-shares-with-anna", "Eva": "eva-shares-with-anna"}
IN_S, OUT_S = 3.5, 9.25


@pytest.fixture
def group_kit(kit):
    """The UI kit plus two more enrolled teachers, Dora and Eva."""
    catalogue = Catalogue(kit.data_dir / "catalogue.db")
    for name, passphrase in MORE.items():
        create_person(kit.data_dir, catalogue, name, "teacher", passphrase, work_factor=10)
    catalogue.close()
    return kit


def passphrases() -> dict[str, str]:
    return {**PASSPHRASES, **MORE}


def key_file_of(kit, tmp_path: Path, name: str) -> Path:
    """The member's own key, out of her passphrase-wrapped key file, as age reads it."""
    catalogue = Catalogue(kit.data_dir / "catalogue.db")
    person = catalogue.find_person(name)
    catalogue.close()
    wrapped = (kit.data_dir / "identities" / f"{person['id']}.age").read_bytes()
    path = tmp_path / f"{name}.key"
    path.write_text("".join(age.identity_file_text(i) for i in age.unwrap_identities(wrapped, passphrases()[name])))
    return path


def kit_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = kit_main(list(argv))
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


def test_each_member_opens_the_share_with_age_and_nobody_else_can(group_kit, tmp_path, capsys, monkeypatch):
    kit, data = group_kit, str(group_kit.data_dir)
    temp = tmp_path / "tmp"  # the temp directory of the commands below (they run in this process)
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    code, group_id, _ = kit_cli(capsys, "group", "add", "Intervisie bovenbouw", "--member", "Anna", "--member", "Cor",
                                "--member", "Dora", "--member", "Eva", "--data", data)
    assert code == 0 and group_id.startswith("g-")
    secret = tmp_path / "anna.pass"
    secret.write_text(PASSPHRASES["Anna"] + "\n")
    code, share_id, err = kit_cli(capsys, "share", "clip", kit.own_recording, "--from", str(IN_S), "--to", str(OUT_S),
                                  "--group", "Intervisie bovenbouw", "--as", "Anna", "--passphrase-file", str(secret),
                                  "--data", data)
    assert code == 0, err
    assert share_id.startswith("s-")
    clip = kit.data_dir / "shares" / share_id / "clip.mp4.age"

    for name in ("Anna", "Cor", "Dora", "Eva"):
        opened = subprocess.run(["age", "-d", "-i", str(key_file_of(kit, tmp_path, name)), str(clip)],
                                capture_output=True, timeout=60)
        assert opened.returncode == 0, (name, opened.stderr)
        with av.open(io.BytesIO(opened.stdout)) as container:
            video = container.streams.video[0]
            frames = [f.time for f in container.decode(video)]
        assert frames[0] == pytest.approx(0.0, abs=1e-6)  # starts at 0 ...
        assert frames[-1] - frames[0] == pytest.approx(OUT_S - IN_S, abs=2 / 15)  # ... and holds only the clip
    # Her coach is not a member: his own key does not open it.
    refused = subprocess.run(["age", "-d", "-i", str(key_file_of(kit, tmp_path, "Bram")), str(clip)],
                             capture_output=True, timeout=60)
    assert refused.returncode != 0 and b"no identity matched" in refused.stderr.lower()
    # Nothing about the share travels to the school server: no outbox event names it.
    catalogue = Catalogue(kit.data_dir / "catalogue.db")
    assert not [e for e in catalogue.outbox() if share_id in str(e["payload"])]
    catalogue.close()

    # Only the filmed teacher can share: Cor, a member with her own passphrase, cannot share Anna's lesson.
    cor = tmp_path / "cor.pass"
    cor.write_text(PASSPHRASES["Cor"] + "\n")
    code, _, err = kit_cli(capsys, "share", "clip", kit.own_recording, "--from", "1", "--to", "3",
                           "--group", group_id, "--as", "Cor", "--passphrase-file", str(cor), "--data", data)
    assert code != 0 and "only the teacher who was filmed" in err
    # Withdrawing shreds every file of it.
    code, _, err = kit_cli(capsys, "share", "withdraw", share_id, "--as", "Anna", "--passphrase-file", str(secret),
                           "--data", data)
    assert code == 0, err
    assert not (kit.data_dir / "shares" / share_id).exists()
    assert scan_for_plaintext_media([kit.data_dir, temp]) == []


def share_from_the_form(client, kit, clip_id: str, group: str, question: str = ""):
    """Open the share form and send it as a browser does: with the members and span it showed."""
    form = client.get(f"/intervisie/share/{kit.own_recording}/{clip_id}").get_data(as_text=True)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    return client.post(f"/intervisie/share/{kit.own_recording}/{clip_id}",
                       data={**hidden, "csrf_token": csrf_of(client), "group": group, "question": question})


def _anna_shares(app, kit) -> tuple[object, str, str]:
    """Anna, in the review app: a clip, a group with Cor and Dora, the share. Returns (client, group, share)."""
    anna = app.test_client()
    unlock(anna, kit, "Anna")
    api = f"/api/recordings/{kit.own_recording}"
    made = anna.post(api + "/clips", json={"in": IN_S, "out": OUT_S, "kind": "pearl"},
                     headers={"X-CSRF-Token": csrf_of(anna)})
    assert made.status_code in (200, 201), made.get_data(as_text=True)
    clip_id = anna.get(api + "/annotations").get_json()["clips"][0]["id"]
    catalogue = app.extensions["kit_catalogue"]
    members = [catalogue.find_person(n)["id"] for n in ("Cor", "Dora")]
    assert anna.post("/intervisie/groups", data={"csrf_token": csrf_of(anna), "name": "Kijkgroep",
                                                 "member": members}).status_code == 302
    form = anna.get(f"/intervisie/share/{kit.own_recording}/{clip_id}").get_data(as_text=True)
    assert "Kijkgroep" in form and "Cor" in form and "Dora" in form and "Bram" not in form
    group = Shares(catalogue, kit.data_dir).groups.find("Kijkgroep")["id"]
    shared = share_from_the_form(anna, kit, clip_id, group, "Wat zien jullie hier?")
    assert shared.status_code == 302, shared.get_data(as_text=True)
    return anna, group, shared.headers["Location"].rsplit("/", 1)[1]


def test_members_watch_and_reflect_and_everyone_else_gets_nothing(app, group_kit):
    kit = group_kit
    anna, _group, share_id = _anna_shares(app, kit)

    cor = app.test_client()
    unlock(cor, kit, "Cor")
    listed = cor.get("/intervisie").get_data(as_text=True)
    assert f"/shares/{share_id}" in listed
    page = cor.get(f"/shares/{share_id}").get_data(as_text=True)
    assert "Wat zien jullie hier?" in page
    clip = cor.get(f"/shares/{share_id}/clip.mp4", headers={"Range": "bytes=0-99"})
    assert clip.status_code == 206 and clip.data[4:8] == b"ftyp"
    assert cor.post(f"/shares/{share_id}/comments", data={"csrf_token": csrf_of(cor),
                                                         "text": "Mooie wachttijd na je vraag"}).status_code == 302
    assert "Mooie wachttijd na je vraag" in anna.get(f"/shares/{share_id}").get_data(as_text=True)
    # A member cannot withdraw it or share Anna's footage on.
    assert cor.post(f"/shares/{share_id}/withdraw", data={"csrf_token": csrf_of(cor)}).status_code == 403

    # Her coach (not a member) and a teacher outside the group: 404, the clip too; the admin: 403.
    bram = app.test_client()
    unlock(bram, kit, "Bram")
    for path in (f"/shares/{share_id}", f"/shares/{share_id}/clip.mp4", f"/shares/{share_id}/clip.mp4.age"):
        assert bram.get(path).status_code == 404
    assert f"/shares/{share_id}" not in bram.get("/intervisie").get_data(as_text=True)
    assert bram.post(f"/shares/{share_id}/comments", data={"csrf_token": csrf_of(bram), "text": "x"}).status_code == 404
    eva = app.test_client()
    eva.post("/unlock", data={"csrf_token": csrf_of(eva), "name": "Eva", "passphrase": MORE["Eva"]})
    assert eva.get(f"/shares/{share_id}/clip.mp4").status_code == 404
    admin = app.test_client()
    login_admin(admin)
    assert admin.get(f"/shares/{share_id}").status_code == 403
    # Bram holds a key to the recording, but only Anna shares it: 403. Cor does not even see the clip: 404.
    clip_id = anna.get(f"/api/recordings/{kit.own_recording}/annotations").get_json()["clips"][0]["id"]
    assert bram.get(f"/intervisie/share/{kit.own_recording}/{clip_id}").status_code == 403
    assert cor.get(f"/intervisie/share/{kit.own_recording}/{clip_id}").status_code == 404

    # Anna cannot share to a group she is not in (Cor's own group with Dora and Eva).
    catalogue = app.extensions["kit_catalogue"]
    theirs = Shares(catalogue, kit.data_dir).groups.create(
        "Zonder Anna", [catalogue.find_person("Dora")["id"], catalogue.find_person("Eva")["id"]],
        created_by=kit.people["Cor"]["id"])
    assert share_from_the_form(anna, kit, clip_id, theirs["id"]).status_code == 403

    # Anna withdraws: every file goes, members get 404.
    assert anna.post(f"/shares/{share_id}/withdraw", data={"csrf_token": csrf_of(anna)}).status_code == 302
    assert not (kit.data_dir / "shares" / share_id).exists()
    assert cor.get(f"/shares/{share_id}").status_code == 404
    assert scan_for_plaintext_media([kit.data_dir]) == []


def test_a_share_does_not_outlive_its_recording(app, group_kit):
    kit = group_kit
    _anna, _group, share_id = _anna_shares(app, kit)
    assert (kit.data_dir / "shares" / share_id / "clip.mp4.age").is_file()
    catalogue = app.extensions["kit_catalogue"]
    Retention(catalogue, kit.data_dir).delete(kit.own_recording, "teacher_request",
                                              by_person=kit.people["Anna"]["id"])
    assert not (kit.data_dir / "shares" / share_id).exists()
    assert Shares(catalogue, kit.data_dir).row(share_id) is None


def test_a_member_who_never_enrolled_stops_the_share_with_a_clear_message(app, group_kit):
    kit = group_kit
    catalogue = app.extensions["kit_catalogue"]
    # A roster entry from the school server: a key the kit never pinned.
    outsider = catalogue.add_person("Fleur Rooster", "teacher", str(age.generate_identity().recipient))
    anna = app.test_client()
    unlock(anna, kit, "Anna")
    api = f"/api/recordings/{kit.own_recording}"
    anna.post(api + "/clips", json={"in": 1.0, "out": 3.0, "kind": "puzzle"}, headers={"X-CSRF-Token": csrf_of(anna)})
    clip_id = anna.get(api + "/annotations").get_json()["clips"][0]["id"]
    group = Shares(catalogue, kit.data_dir).groups.create("Met Fleur", [outsider["id"]],
                                                          created_by=kit.people["Anna"]["id"])
    refused = share_from_the_form(anna, kit, clip_id, group["id"])
    assert refused.status_code == 400
    assert "Fleur Rooster" in refused.get_data(as_text=True)
    assert not (kit.data_dir / "shares").exists() or not any((kit.data_dir / "shares").iterdir())


def test_share_counts_leave_the_kit_only_where_the_school_asks_and_carry_only_the_group(app, group_kit):
    kit = group_kit
    catalogue = app.extensions["kit_catalogue"]
    anna, group, share_id = _anna_shares(app, kit)
    assert [e for e in catalogue.outbox() if e["kind"].startswith("intervisie.")] == []  # off by default
    catalogue.set_setting("intervisie_counts", True)  # as the school's published setting does
    clip_id = anna.get(f"/api/recordings/{kit.own_recording}/annotations").get_json()["clips"][0]["id"]
    again = share_from_the_form(anna, kit, clip_id, group, "Tweede keer")
    assert again.status_code == 302
    second = again.headers["Location"].rsplit("/", 1)[1]
    anna.post(f"/shares/{second}/withdraw", data={"csrf_token": csrf_of(anna)})
    events = [(e["kind"], e["payload"]) for e in catalogue.outbox() if e["kind"].startswith("intervisie.")]
    assert events == [("intervisie.shared", {"group_id": group}), ("intervisie.withdrawn", {"group_id": group})]
    assert share_id not in str(events) and "Tweede keer" not in str(events)


def test_a_share_goes_only_to_the_members_she_was_shown(app, group_kit):
    """A sync that changes the group between the form and the click shares nothing (409)."""
    kit = group_kit
    anna, group, first = _anna_shares(app, kit)
    catalogue = app.extensions["kit_catalogue"]
    clip_id = anna.get(f"/api/recordings/{kit.own_recording}/annotations").get_json()["clips"][0]["id"]
    form = anna.get(f"/intervisie/share/{kit.own_recording}/{clip_id}").get_data(as_text=True)
    shown = re.search(rf'name="members-{group}" value="([^"]*)"', form).group(1)
    span = re.search(r'name="span" value="([^"]*)"', form).group(1)
    with catalogue.transaction() as db:  # Eva joins the group meanwhile (a school group synced, say)
        db.execute("INSERT INTO intervisie_members VALUES (?, ?)", (group, catalogue.find_person("Eva")["id"]))
    refused = anna.post(f"/intervisie/share/{kit.own_recording}/{clip_id}",
                        data={"csrf_token": csrf_of(anna), "group": group, f"members-{group}": shown, "span": span})
    assert refused.status_code == 409 and "Er is niets gedeeld" in refused.get_data(as_text=True)
    # The clip moved meanwhile (its coach edited the out point): also 409.
    moved = anna.post(f"/intervisie/share/{kit.own_recording}/{clip_id}",
                      data={"csrf_token": csrf_of(anna), "group": group, f"members-{group}": shown + ",x",
                            "span": "0.000-1.000"})
    assert moved.status_code == 409
    assert [s["id"] for s in Shares(catalogue, kit.data_dir).list_for([kit.people["Anna"]["recipient"]])] == [first]
    # Positive control: with what the page shows now, it shares.
    form = anna.get(f"/intervisie/share/{kit.own_recording}/{clip_id}").get_data(as_text=True)
    shown = re.search(rf'name="members-{group}" value="([^"]*)"', form).group(1)
    assert anna.post(f"/intervisie/share/{kit.own_recording}/{clip_id}",
                     data={"csrf_token": csrf_of(anna), "group": group, f"members-{group}": shown,
                           "span": span}).status_code == 302


def test_a_whole_lesson_is_not_a_clip(app, group_kit):
    kit = group_kit
    catalogue = app.extensions["kit_catalogue"]
    keys = [age.unwrap_identity((kit.data_dir / "identities" / f"{kit.people['Anna']['id']}.age").read_bytes(),
                                PASSPHRASES["Anna"])]
    shares = Shares(catalogue, kit.data_dir)
    group = shares.groups.create("Lang", [kit.people["Cor"]["id"]], created_by=kit.people["Anna"]["id"])
    with pytest.raises(KitError, match="between 0 and 10 minutes"):
        shares.create(kit.own_recording, kit.people["Anna"]["id"], keys, group["id"], 0.0, 601.0)
