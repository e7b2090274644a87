"""The sync status line and the admin's "sync now", against a data directory
written by the sync agent's own functions (status.json, state.json, the lock)."""

from __future__ import annotations

import json
import socket
import time

import pytest

from appliance.catalogue import Catalogue
from sync.agent import config as sync_config
from sync.agent import state as sync_state
from sync.agent.config import SyncPaths
from sync.agent.netwatch import NetState
from sync.agent.service import SyncService, _Lock, _record_failure, write_status
from ui.blueprints.library import DateFormatter

from ui_helpers import csrf_of, login_admin, page_csrf, unlock

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3Xq1Lq9zYbqgq3yqSxq6gM9E0x5Kx0b1Hx3o4v3kDa"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def set_up(kit, port: int = 22) -> SyncPaths:
    paths = SyncPaths(kit.data_dir)
    sync_config.setup(paths, "127.0.0.1", HOST_KEY, port=port)
    return paths


def line(client) -> str:
    html = client.get("/library").get_data(as_text=True)
    start = html.index('id="sync-status"')
    return html[html.index(">", start) + 1:html.index("</p>", start)]


def status_json(client) -> dict:
    response = client.get("/api/sync-status")
    assert response.status_code == 200
    return response.get_json()


def test_not_set_up(client, kit):
    assert unlock(client, kit).status_code == 302
    assert line(client) == "Synchronisatie: niet ingesteld"
    assert status_json(client)["state"] == "not_configured"
    assert not (kit.data_dir / "sync").exists()  # reading the status writes nothing


def test_set_up_but_never_synced(client, kit):
    set_up(kit)
    unlock(client, kit)
    assert line(client) == "Nog niet gesynchroniseerd"
    assert status_json(client)["state"] == "never"


def test_syncing_while_the_agent_holds_the_lock(client, kit):
    paths = set_up(kit)
    unlock(client, kit)
    write_status(paths, "syncing")
    with _Lock(paths.lock_file, 0):
        assert line(client) == "Bezig met synchroniseren…"
        assert status_json(client)["state"] == "syncing"
    # The same status.json with nobody holding the lock is a sync that died.
    info = status_json(client)
    assert info["state"] == "failed" and "cut off" in info["error"]


def test_last_sync_time_in_both_languages(client, kit):
    paths = set_up(kit)
    unlock(client, kit)
    write_status(paths, "done", batches=2, seconds=1.5)
    at = json.loads((paths.root / "status.json").read_text())["at"]
    assert line(client) == f"Laatst gesynchroniseerd op {DateFormatter('nl')(at)}"
    client.get("/library?lang=en")
    assert line(client) == f"Last sync at {DateFormatter('en')(at)}"
    info = status_json(client)
    assert (info["state"], info["at"], info["text"]) == ("done", at, f"Last sync at {DateFormatter('en')(at)}")


def test_failed_sync_gives_the_one_line_reason(client, kit):
    paths = set_up(kit)
    unlock(client, kit)
    _record_failure(paths, sync_state.load(paths), "ssh: connect to host 127.0.0.1\nport 22: Connection refused")
    assert line(client) == "Synchronisatie mislukt: ssh: connect to host 127.0.0.1 port 22: Connection refused"
    assert status_json(client)["state"] == "failed"


def test_admin_sees_the_line_and_strangers_see_nothing(client, kit, app):
    set_up(kit)
    stranger = app.test_client()
    assert 'id="sync-status"' not in stranger.get("/unlock").get_data(as_text=True)
    assert stranger.get("/api/sync-status").status_code == 401
    assert login_admin(client).status_code == 302
    html = client.get("/admin/").get_data(as_text=True)
    assert "Nog niet gesynchroniseerd" in html and 'id="sync-now"' in html
    assert status_json(client)["state"] == "never"


def test_sync_now_is_for_the_admin_with_a_csrf_token(client, kit, app):
    paths = set_up(kit, port=closed_port())
    offline = NetState(frozenset(), False)
    catalogue = Catalogue(kit.data_dir / "catalogue.db")
    # poll_s is long: the service only wakes when someone calls trigger().
    service = SyncService(kit.data_dir, catalogue, poll_s=3600, read_net=lambda: offline)
    service.start()
    app.extensions["kit_sync"] = service  # what kit run hands to create_app(sync_service=...)
    try:
        person = app.test_client()
        unlock(person, kit)
        assert person.post("/admin/sync-now", data={"csrf_token": csrf_of(person)}).status_code == 403

        login_admin(client)
        refused = client.post("/admin/sync-now", data={"csrf_token": "not-the-token"})
        assert refused.status_code == 400
        assert not service._wake.is_set() and service.runs == 0

        token = page_csrf(client.get("/admin/").get_data(as_text=True))
        done = client.post("/admin/sync-now", data={"csrf_token": token})
        assert done.status_code == 302 and "done=sync" in done.headers["Location"]
        assert "Synchronisatie gestart." in client.get(done.headers["Location"]).get_data(as_text=True)
        deadline = time.monotonic() + 60
        while service.last_error is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert service.runs == 1 and service.last_error  # it really tried: nothing listens on that port
        info = status_json(client)
        assert info["state"] == "failed" and info["text"].startswith("Synchronisatie mislukt: ")
        assert json.loads((paths.root / "status.json").read_text())["phase"] == "failed"
    finally:
        service.stop()
        catalogue.close()


def test_sync_now_says_clearly_when_sync_is_not_set_up_or_not_running(client, kit):
    login_admin(client)
    token = page_csrf(client.get("/admin/").get_data(as_text=True))
    response = client.post("/admin/sync-now", data={"csrf_token": token})
    assert response.status_code == 409
    assert "Synchronisatie is op deze kit niet ingesteld" in response.get_data(as_text=True)
    set_up(kit)
    response = client.post("/admin/sync-now", data={"csrf_token": token})
    assert response.status_code == 503
    assert "De synchronisatiedienst draait niet" in response.get_data(as_text=True)


@pytest.mark.parametrize("lang,text", [("en", "Sync: not set up"), ("nl", "Synchronisatie: niet ingesteld")])
def test_json_text_follows_the_language(client, kit, lang, text):
    unlock(client, kit)
    client.get(f"/library?lang={lang}")
    assert status_json(client)["text"] == text
