"""Live view while recording, with the real controller and a simulated camera."""

from __future__ import annotations

import time

import pytest

from ui_helpers import csrf_of, page_csrf, unlock


def wait_for_segments(app, recording_id: str, count: int, timeout_s: float = 30.0) -> None:
    catalogue = app.extensions["kit_catalogue"]
    deadline = time.monotonic() + timeout_s
    while len([s for s in catalogue.segment_views(recording_id) if s.idx >= 1]) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"no {count} sealed segments within {timeout_s} s")
        time.sleep(0.2)


def test_start_watch_bookmark_stop(live_app, kit):
    anna = live_app.test_client()
    unlock(anna, kit)
    page = anna.get("/live").get_data(as_text=True)
    assert 'id="live-start"' in page
    assert anna.post("/live/start", data={"csrf_token": page_csrf(page)}).status_code == 302
    status = anna.get("/api/status").get_json()
    assert status["state"] == "recording" and status["watchable"]
    rec = status["recording_id"]
    wait_for_segments(live_app, rec, 2)

    playlist = anna.get(f"/media/{rec}/playlist.m3u8").get_data(as_text=True)
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in playlist and "#EXT-X-ENDLIST" not in playlist
    assert anna.get(f"/media/{rec}/seg-000001.m4s").status_code == 200
    assert anna.get(f"/media/{rec}/init.mp4").status_code == 200

    token = csrf_of(anna)
    assert anna.post("/api/control/bookmark", headers={"X-CSRF-Token": token}).status_code == 200
    assert len(live_app.extensions["kit_catalogue"].bookmark_offsets(rec)) == 1
    page = anna.get("/live").get_data(as_text=True)
    assert anna.post("/live/stop", data={"csrf_token": page_csrf(page)}).status_code == 302
    assert anna.get("/api/status").get_json()["state"] == "idle"
    playlist = anna.get(f"/media/{rec}/playlist.m3u8").get_data(as_text=True)
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and playlist.rstrip().endswith("#EXT-X-ENDLIST")


def test_someone_else_cannot_start_or_watch(live_app, kit):
    anna = live_app.test_client()
    unlock(anna, kit)
    assert anna.post("/api/control/start", headers={"X-CSRF-Token": csrf_of(anna)}).status_code == 200
    cor = live_app.test_client()
    unlock(cor, kit, "Cor")
    status = cor.get("/api/status").get_json()
    assert status["state"] == "recording" and status["watchable"] is False and status["recording_id"] is None
    token = csrf_of(cor)
    assert cor.post("/api/control/stop", headers={"X-CSRF-Token": token}).status_code == 409
    assert cor.post("/api/control/bookmark", headers={"X-CSRF-Token": token}).status_code == 409
    assert anna.get("/api/status").get_json()["state"] == "recording"
    assert anna.post("/api/control/stop", headers={"X-CSRF-Token": csrf_of(anna)}).status_code == 200


def test_only_the_assigned_pair_may_start(live_app, kit):
    cor = live_app.test_client()
    unlock(cor, kit, "Cor")
    response = cor.post("/api/control/start", headers={"X-CSRF-Token": csrf_of(cor)})
    assert response.status_code == 403
    assert live_app.extensions["kit_controller"].status()["state"] == "idle"


def test_cannot_record_reason_is_shown(live_app, kit, controller):
    controller.catalogue.clear_assignment()
    anna = live_app.test_client()
    unlock(anna, kit)
    page = anna.get("/live").get_data(as_text=True)
    assert "Kan niet opnemen" in page and 'id="live-start"' not in page
    response = anna.post("/api/control/start", headers={"X-CSRF-Token": csrf_of(anna)})
    assert response.status_code == 403  # nobody is assigned, so nobody may start


def test_live_requires_unlock_and_refuses_admin(live_app):
    from ui_helpers import login_admin

    c = live_app.test_client()
    assert c.get("/api/status").status_code == 401
    assert login_admin(c).status_code == 302
    assert c.get("/live").status_code == 403
    assert c.post("/api/control/start", headers={"X-CSRF-Token": csrf_of(c)}).status_code == 403


def test_unlocking_browser_offers_its_clock(live_app, kit, controller):
    clock = controller.catalogue.clock
    if clock.trusted:
        pytest.skip("this machine's clock is already vouched for (NTP), so the kit ignores browsers")
    c = live_app.test_client()
    form = {"csrf_token": csrf_of(c), "person": kit.people["Anna"]["id"], "passphrase": "wrong-passphrase",
            "browser_time": str(time.time())}
    c.post("/unlock", data=form)
    assert not clock.trusted  # a stranger cannot set the kit's time
    live_app.extensions["kit_throttle"].clear(f"person:{kit.people['Anna']['id']}", "client:127.0.0.1")
    form.update(csrf_token=csrf_of(c), passphrase="anna-correct-horse")
    assert c.post("/unlock", data=form).status_code == 302
    assert clock.trusted
