"""Unlocking, locking, CSRF, cookies, throttling and the admin's limits."""

from __future__ import annotations

import re

import pytest

from ui_helpers import ADMIN_PASSWORD, csrf_of, login_admin, page_csrf, unlock
from ui import create_app
from ui.config import TestingConfig


def test_unlock_shows_only_own_recordings(client, kit):
    assert client.get("/library").status_code == 302  # locked: sent to unlock
    response = unlock(client, kit)
    assert response.status_code == 302
    html = client.get("/library").get_data(as_text=True)
    assert kit.own_recording in html
    assert kit.foreign_recording not in html


def test_session_cookie_is_httponly_strict_and_holds_no_key(client, kit):
    response = unlock(client, kit)
    cookies = response.headers.get_all("Set-Cookie")
    assert cookies, "unlocking must set a fresh session id"
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert "AGE-SECRET-KEY" not in cookie.upper()
    sid = cookies[0].split(";")[0].split("=", 1)[1]
    assert len(sid) >= 40


def test_wrong_passphrase_refused_then_slowed(client, kit):
    response = unlock(client, kit, passphrase="not-the-passphrase")
    assert response.status_code == 401
    assert "klopt niet" in response.get_data(as_text=True)
    # Right away, even the right passphrase waits: the person is throttled.
    response = unlock(client, kit)
    assert response.status_code == 429
    assert client.get("/library").status_code == 302


def test_throttle_is_per_client_with_a_looser_per_person_ceiling(kit):
    now = [100.0]
    app = create_app(data_dir=kit.data_dir, config=TestingConfig(throttle_base_s=30, throttle_max_s=60,
                                                                 throttle_person_free=2, throttle_person_base_s=5),
                     clock=lambda: now[0])
    guesser = app.test_client()
    assert unlock(guesser, kit, "Anna", passphrase="guess-1").status_code == 401
    # Another person from the same client is slowed too (per client) ...
    assert unlock(guesser, kit, "Bram").status_code == 429
    # ... but Anna from another device is not: the person limit starts only after a few failures.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert unlock(other, kit, "Anna").status_code == 302
    # Failures from many addresses ("rotating phones") do reach it, and it holds for every new device.
    for i, address in enumerate(("10.0.0.10", "10.0.0.11"), start=2):
        phone = app.test_client()
        phone.environ_base["REMOTE_ADDR"] = address
        assert unlock(phone, kit, "Anna", passphrase=f"guess-{i}").status_code == 401
    fresh = app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "10.0.0.12"
    refused = unlock(fresh, kit, "Anna")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "5"
    # The device Anna unlocked on before is judged by its own backoff, not by the flood against her name.
    assert unlock(other, kit, "Anna").status_code == 302
    now[0] += 5
    assert unlock(fresh, kit, "Anna").status_code == 302  # the person limit is short: it never locks her out
    now[0] += 26
    assert unlock(guesser, kit, "Anna").status_code == 302


def test_delay_grows_with_each_failure(kit):
    now = [0.0]
    app = create_app(data_dir=kit.data_dir, config=TestingConfig(throttle_base_s=1, throttle_max_s=60),
                     clock=lambda: now[0])
    c = app.test_client()
    for expected_wait in (1, 2, 4, 8):
        assert unlock(c, kit, passphrase="wrong").status_code == 401
        now[0] += expected_wait - 0.5
        assert unlock(c, kit).status_code == 429
        now[0] += 0.5


def test_post_without_csrf_token_is_refused(client, kit):
    unlock(client, kit)
    rec = kit.own_recording
    response = client.post(f"/api/recordings/{rec}/codes", json={"t": 1, "kind": "instruction"})
    assert response.status_code == 400
    response = client.post(f"/api/recordings/{rec}/codes", json={"t": 1, "kind": "instruction"},
                           headers={"X-CSRF-Token": "forged"})
    assert response.status_code == 400
    response = client.post("/lock")  # even locking needs the token
    assert response.status_code == 400
    assert client.get("/library").status_code == 200


def test_unlock_form_without_token_is_refused(client, kit):
    response = client.post("/unlock", data={"person": kit.people["Anna"]["id"], "passphrase": "anna-correct-horse"})
    assert response.status_code == 400
    assert client.get("/library").status_code == 302


def test_lock_forgets_the_key(client, kit):
    unlock(client, kit)
    rec = kit.own_recording
    assert client.get(f"/media/{rec}/init.mp4").status_code == 200
    token = page_csrf(client.get("/library").get_data(as_text=True))
    assert client.post("/lock", data={"csrf_token": token}).status_code == 302
    assert client.get(f"/media/{rec}/init.mp4").status_code == 401
    assert client.get(f"/media/{rec}/seg-000001.m4s").status_code == 401
    assert client.get(f"/api/recordings/{rec}/annotations").status_code == 401
    assert client.application.extensions["kit_sessions"].unlocked_count() == 0


def test_logout_ends_the_session(client, kit):
    unlock(client, kit)
    token = page_csrf(client.get("/library").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert "kit_session=;" in " ".join(response.headers.get_all("Set-Cookie"))
    assert client.application.extensions["kit_sessions"].unlocked_count() == 0


def test_key_forgotten_after_idle_timeout(kit):
    now = [0.0]
    app = create_app(data_dir=kit.data_dir, config=TestingConfig(), clock=lambda: now[0])
    c = app.test_client()
    unlock(c, kit)
    now[0] += 14 * 60
    assert c.get(f"/media/{kit.own_recording}/init.mp4").status_code == 200  # activity keeps it alive
    now[0] += 15 * 60 + 1
    assert c.get(f"/media/{kit.own_recording}/init.mp4").status_code == 401
    assert app.extensions["kit_sessions"].unlocked_count() == 0


def personal_urls(kit) -> list[str]:
    rec = kit.own_recording
    return [
        "/library", f"/recordings/{rec}", f"/recordings/{rec}/clips", f"/recordings/{rec}/stats",
        f"/media/{rec}/playlist.m3u8", f"/media/{rec}/init.mp4", f"/media/{rec}/seg-000001.m4s",
        f"/media/{rec}/full.mp4", f"/export/{rec}/annotations.vtt", f"/export/{rec}/annotations.csv",
        f"/export/{rec}/annotations.eaf", f"/api/recordings", f"/api/recordings/{rec}",
        f"/api/recordings/{rec}/annotations", f"/api/recordings/{rec}/stats", "/api/status", "/live",
        "/key-backup", f"/export/{rec}/clips/k-0123456789ab.mp4", f"/export/{rec}/clips/k-0123456789ab.mp4.age",
        f"/export/{rec}/clips/k-0123456789ab.view.mp4", f"/media/{rec}/thumb.jpg",
    ]


def test_admin_gets_403_on_everything_personal(client, kit):
    assert login_admin(client).status_code == 302
    assert client.get("/admin/").status_code == 200
    for url in personal_urls(kit):
        assert client.get(url).status_code == 403, url
    token = csrf_of(client)
    rec = kit.own_recording
    for url, body in ((f"/api/recordings/{rec}/codes", {"t": 1, "kind": "instruction"}),
                      (f"/api/recordings/{rec}/clips", {"in": 1, "out": 2, "kind": "pearl"})):
        assert client.post(url, json=body, headers={"X-CSRF-Token": token}).status_code == 403


def test_admin_wrong_password(client):
    assert login_admin(client, "nope-nope-nope").status_code == 401
    assert client.get("/admin/").status_code == 302


def test_person_cannot_use_admin_pages(client, kit):
    unlock(client, kit)
    assert client.get("/admin/").status_code == 302
    token = csrf_of(client)
    assert client.post("/admin/invitations", data={"csrf_token": token, "name": "X", "role": "coach"}).status_code == 403


def test_admin_invites_a_person_who_enrols_with_her_own_passphrase(client, kit):
    login_admin(client)
    token = page_csrf(client.get("/admin/").get_data(as_text=True))
    assert client.post("/admin/people", data={"csrf_token": token, "name": "Dirk", "role": "coach",
                                              "passphrase": "chosen-by-admin", "passphrase_again": "chosen-by-admin"}
                       ).status_code in (404, 405)  # the admin can no longer set anyone's passphrase
    page = client.post("/admin/invitations", data={"csrf_token": token, "name": "Dirk", "role": "coach"})
    code = re.search(r'<p class="code"><strong>([A-Z0-9-]+)</strong>', page.get_data(as_text=True)).group(1)
    assert "Dirk" in page.get_data(as_text=True)

    dirk = client.application.test_client()
    enrolled = dirk.post("/enrol", data={"csrf_token": csrf_of(dirk), "code": code,
                                         "passphrase": "dirk-long-passphrase", "passphrase_again": "dirk-long-passphrase"})
    assert enrolled.status_code == 200 and "Welkom, Dirk" in enrolled.get_data(as_text=True)
    people = {p.name: p for p in client.application.extensions["kit_catalogue"].person_views()}
    wrapped = (kit.data_dir / "identities" / f"{people['Dirk'].id}.age").read_bytes()
    assert b"AGE-SECRET-KEY" not in wrapped.upper() and wrapped.startswith(b"age-encryption.org/v1")
    # The code works once.
    again = client.application.test_client()
    assert again.post("/enrol", data={"csrf_token": csrf_of(again), "code": code, "passphrase": "someone-else-here",
                                      "passphrase_again": "someone-else-here"}).status_code == 400
    # Dirk has no recordings or pair yet: the unlock page does not name him; he types his name.
    assert "Dirk" not in dirk.get("/unlock").get_data(as_text=True)
    dirk.post("/unlock", data={"csrf_token": csrf_of(dirk), "name": "dirk", "passphrase": "dirk-long-passphrase"})
    assert dirk.get("/library").status_code == 200


@pytest.mark.parametrize("lang,word", [("nl", "Ontgrendel"), ("en", "Unlock your recordings")])
def test_language(client, lang, word):
    if lang == "nl":
        html = client.get("/unlock").get_data(as_text=True)
    else:
        html = client.get("/unlock?lang=en").get_data(as_text=True)
        assert word in html
        html = client.get("/unlock").get_data(as_text=True)  # remembered in a cookie
    assert word in html


def test_admin_password_from_config_is_stored_hashed(kit):
    create_app(data_dir=kit.data_dir, config=TestingConfig(admin_password=ADMIN_PASSWORD))
    stored = (kit.data_dir / "admin-password").read_text()
    assert ADMIN_PASSWORD not in stored and stored.startswith("scrypt$")


def test_kit_admin_password_command(tmp_path):
    import subprocess
    import sys

    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "pw").write_text("kort\n")
    cmd = [sys.executable, "-m", "kit", "admin-password", "--data", str(data),
           "--password-file", str(tmp_path / "pw")]
    short = subprocess.run(cmd, capture_output=True, text=True)
    assert short.returncode == 1 and short.stderr.startswith("kit: ") and "Traceback" not in short.stderr
    assert not (data / "admin-password").exists()
    (tmp_path / "pw").write_text("een-lang-wachtwoord\n")
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    app = create_app(data_dir=data)
    c = app.test_client()
    assert c.post("/admin/login", data={"csrf_token": csrf_of(c), "password": "een-lang-wachtwoord"}).status_code == 302


def test_idle_keys_are_swept_without_any_request(kit):
    import time as _time

    now = [0.0]
    app = create_app(data_dir=kit.data_dir, config=TestingConfig(sweep_every_s=0.05), clock=lambda: now[0])
    c = app.test_client()
    unlock(c, kit)
    sessions = app.extensions["kit_sessions"]
    assert sessions.unlocked_count() == 1
    now[0] += 15 * 60 + 1  # the browser never comes back
    deadline = _time.monotonic() + 10
    while sessions.unlocked_count() and _time.monotonic() < deadline:
        _time.sleep(0.05)
    assert sessions.unlocked_count() == 0
    sessions.close()


def test_beheer_shows_the_kits_health_in_dutch(live_app, kit):
    import shutil

    admin = live_app.test_client()
    login_admin(admin)
    page = admin.get("/admin/").get_data(as_text=True)
    card = page[page.index('id="kit-health"'):]
    free_gb = shutil.disk_usage(kit.data_dir).free / 1e9
    shown = card[card.index("Opslag: ") + len("Opslag: "):card.index(" GB vrij")]
    assert abs(float(shown.replace(".", "").replace(",", ".")) - free_gb) < 0.5  # Dutch decimal comma
    assert "uur opnemen" in card and "Softwareversie" in card
    assert "Temperatuur:" in card


@pytest.mark.parametrize("target", ["//evil.example/", "/\t/evil.example", "/\\evil.example", "https://evil.example",
                                    "/library\n/x"])
def test_unlock_never_sends_anyone_to_another_site(client, kit, target):
    from ui_recording import PASSPHRASES

    response = client.post("/unlock", data={"csrf_token": csrf_of(client), "person": kit.people["Anna"]["id"],
                                            "passphrase": PASSPHRASES["Anna"], "next": target})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/library")
