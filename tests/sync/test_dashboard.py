"""kit-server run: login, Dutch by default, metadata only."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sync import protocol
from sync.server import admin, ingest, kits
from sync.server.dashboard import create_app

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3Xq1Lq9zYbqgq3yqSxq6gM9E0x5Kx0b1Hx3o4v3kDa"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"


@pytest.fixture
def server(layout):
    kits.add_kit(layout, "kit-7", KEY)
    admin.add_person(layout, "Anna de Vries", "teacher", "age1" + "q" * 58, "p-anna")
    admin.add_person(layout, "Bert Jansen", "coach", "age1" + "p" * 58, "p-bert")
    admin.assign(layout, "kit-7", "p-anna", "p-bert")
    admin.add_user(layout, "coordinator", "coordinator", PASSWORD)
    events = [
        {"seq": 1, "kind": "recording.finished", "at": "2026-03-02T09:15:00Z",
         "data": {"recording_id": "r-secretid0001", "teacher_id": "p-anna", "coach_id": "p-bert",
                  "started_at": "2026-03-02T08:30:11Z", "duration_s": 2700.0, "state": "complete"}},
        {"seq": 2, "kind": "trajectory.changed", "at": "2026-03-02T10:00:00Z",
         "data": {"trajectory_id": "t-1", "teacher_id": "p-anna", "coach_id": "p-bert", "state": "open",
                  "phase": "baseline"}},
        {"seq": 3, "kind": "kit.health", "at": "2026-03-02T10:00:00Z",
         "data": {"disk_total_bytes": 100, "disk_free_bytes": 5, "temperature_c": 51.5, "version": "0.1.0",
                  "last_error": "camera not found"}},
    ]
    (layout.inbox("kit-7") / protocol.batch_name(1, 3)).write_bytes(protocol.encode_batch(1, 3, events, "t"))
    ingest.ingest(layout)
    return layout


def login(client, password=PASSWORD):
    client.get("/login")
    with client.session_transaction() as s:
        csrf = s["csrf"]
    return client.post("/login", data={"name": "coordinator", "password": password, "csrf": csrf})


def test_every_page_needs_a_login(server):
    client = create_app(server).test_client()
    for page in ("/", "/people", "/trajectories"):
        response = client.get(page)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert login(client, "wrong password").status_code == 401
    assert client.get("/").status_code == 302


def test_dutch_by_default_english_on_request(server):
    client = create_app(server).test_client()
    assert login(client).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Schijf vrij" in page and "kit-7" in page and "5 %" in page and "51.5 °C" in page
    assert "camera not found" in page
    page = client.get("/trajectories?lang=en").get_data(as_text=True)
    assert "Recordings per teacher" in page and "Anna de Vries" in page and "baseline" in page
    assert "Opnames" in client.get("/trajectories?lang=nl").get_data(as_text=True)


def test_nothing_that_points_at_a_lesson_is_shown(server):
    client = create_app(server).test_client()
    login(client)
    for page in ("/", "/people", "/trajectories"):
        html = client.get(page).get_data(as_text=True)
        assert "r-secretid0001" not in html and "08:30" not in html and "age1" not in html


def test_logout_needs_the_form_token(server):
    client = create_app(server).test_client()
    login(client)
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 400
    assert client.get("/").status_code == 200


@pytest.mark.browser
def test_login_in_a_real_browser(server):
    from playwright import sync_api
    from waitress.server import create_server

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make deps` installs Debian's chromium")
    http = create_server(create_app(server), host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=http.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{http.effective_port}"
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.goto(base + "/")
            assert "Aanmelden" in page.content()
            page.fill("input[name=name]", "coordinator")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("text=Laatst gegevens ontvangen")
            page.click("nav a[lang=en]")
            page.wait_for_selector("text=Last data received")
            page.click("nav a[href='/people']")
            page.wait_for_selector("text=Bert Jansen")
            assert "Bert Jansen" in page.content() and "kit-7" in page.content()
            browser.close()
    finally:
        http.close()
