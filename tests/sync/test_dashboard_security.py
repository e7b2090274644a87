"""The dashboard's login under attack, through its HTTP interface: logout ends
a session for whoever holds its cookie, failed logins are refused at once
per address and per name (the real user still gets in from elsewhere),
``next=`` never leads off the site, and no page may be stored."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from flask.sessions import SecureCookieSessionInterface

from sync.server import admin, db
from sync.server.dashboard import create_app

PASSWORD = "correct horse battery"
ATTACKER, REAL_USER = "10.0.0.66", "10.0.0.7"
PAGES = ("/", "/people", "/trajectories", "/progress", "/deletions")


@pytest.fixture
def server(layout):
    admin.add_user(layout, "coordinator", "coordinator", PASSWORD)
    return layout


@pytest.fixture
def app(server):
    return create_app(server)


def client_at(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def csrf_of(client):
    client.get("/login")
    with client.session_transaction() as s:
        return s["csrf"]


def login(client, password=PASSWORD, name="coordinator", next_=None):
    url = "/login" if next_ is None else "/login?" + urlencode({"next": next_})
    return client.post(url, data={"name": name, "password": password, "csrf": csrf_of(client)})


def page_csrf(client):
    html = client.get("/").get_data(as_text=True)
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


# -- sessions ---------------------------------------------------------------

def test_a_stolen_cookie_stops_working_after_logout(app):
    victim = client_at(app, REAL_USER)
    assert login(victim).status_code == 302
    stolen = victim.get_cookie("session").value
    thief = client_at(app, ATTACKER)
    thief.set_cookie("session", stolen)
    assert thief.get("/").status_code == 200  # while the victim is logged in, the copy works

    assert victim.post("/logout", data={"csrf": page_csrf(victim)}).status_code == 302
    for client in (thief, victim):
        response = client.get("/people")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    # the old cookie, replayed exactly as it was, is no login either
    replay = client_at(app, ATTACKER)
    replay.set_cookie("session", stolen)
    assert replay.get("/").status_code == 302


def test_the_cookie_holds_no_user_and_a_forged_one_gets_nothing(app, server):
    victim = client_at(app, REAL_USER)
    login(victim)
    cookie = victim.get_cookie("session").value
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert set(serializer.loads(cookie)) == {"sid"}
    # Even signed with the server's key, a cookie naming a user (what the
    # session used to hold) or a made-up token is not a login.
    for forged in ({"user": {"name": "coordinator", "role": "coordinator"}, "csrf": "x"},
                   {"sid": "A" * 43}):
        forger = client_at(app, ATTACKER)
        forger.set_cookie("session", serializer.dumps(forged))
        assert forger.get("/").status_code == 302


def test_a_new_password_ends_every_login_of_that_user(app, server):
    client = client_at(app, REAL_USER)
    login(client)
    admin.add_user(server, "coordinator", "coordinator", "another long password")
    assert client.get("/").status_code == 302


def test_an_idle_login_ends(app, server):
    client = client_at(app, REAL_USER)
    login(client)
    conn = db.connect(server.db)
    conn.execute("UPDATE dashboard_sessions SET seen_at = seen_at - 7200")
    conn.close()
    assert client.get("/").status_code == 302
    conn = db.connect(server.db)
    assert conn.execute("SELECT COUNT(*) FROM dashboard_sessions").fetchone()[0] == 0
    conn.close()


def test_logging_in_gives_a_new_session_not_the_one_from_before(app):
    client = client_at(app, REAL_USER)
    before = (csrf_of(client), client.get_cookie("session").value)
    login(client)
    assert client.get_cookie("session").value != before[1]
    assert page_csrf(client) != before[0]


# -- throttling -------------------------------------------------------------

@pytest.fixture
def counted(monkeypatch):
    """How often a password was really checked; and no thread may sleep."""
    calls = []
    real = admin.check_password
    monkeypatch.setattr(admin, "check_password", lambda stored, pw: calls.append(pw) or real(stored, pw))
    monkeypatch.setattr(time, "sleep", lambda s: pytest.fail(f"a request slept {s} s"))
    return calls


def test_guessing_a_password_is_refused_at_once_and_the_real_user_gets_in_from_elsewhere(app, counted):
    attacker = client_at(app, ATTACKER)
    for i in range(5):
        assert login(attacker, f"guess {i}").status_code == 401
    checked = len(counted)
    refused = login(attacker, "guess 5")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 900
    assert "Te veel mislukte pogingen. Probeer het over 15 minuten opnieuw." in refused.get_data(as_text=True)
    assert login(attacker).status_code == 429  # refused before the password is looked at: even the right one
    assert len(counted) == checked
    # the real user, from her own address, logs in
    real = client_at(app, REAL_USER)
    response = login(real)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert real.get("/").status_code == 200


def test_one_address_trying_many_names_is_refused_for_all_of_them(app, counted):
    attacker = client_at(app, ATTACKER)
    for name in ("coordinator", "admin", "root", "leader", "directie", "ict", "beheer", "test", "school", "user"):
        assert login(attacker, "guess", name=name).status_code == 401
    checked = len(counted)
    for name in ("coordinator", "someone-new"):
        assert login(attacker, name=name).status_code == 429
    assert len(counted) == checked
    assert login(client_at(app, REAL_USER)).status_code == 302


def test_guessing_one_name_from_many_addresses_locks_those_addresses_not_the_user(app, counted):
    addresses = [f"10.0.1.{i}" for i in range(1, 6)]
    for address in addresses:
        assert login(client_at(app, address), "guess").status_code == 401
    for address in addresses:  # each guesser now waits, right password or not
        assert login(client_at(app, address)).status_code == 429
        assert "Retry-After" in login(client_at(app, address), "guess").headers
    assert login(client_at(app, "10.0.1.99"), "guess").status_code == 401  # a fresh address gets one try
    assert login(client_at(app, "10.0.1.99"), "guess").status_code == 429
    assert login(client_at(app, REAL_USER)).status_code == 302


def test_the_throttle_forgets_after_its_window(server, counted):
    clock = [0.0]
    from sync.server.dashboard.throttle import LoginThrottle

    app = create_app(server, throttle=LoginThrottle(clock=lambda: clock[0]))
    attacker = client_at(app, ATTACKER)
    for _ in range(5):
        login(attacker, "guess")
    assert login(attacker).status_code == 429
    clock[0] += 901
    assert login(attacker).status_code == 302


# -- redirects --------------------------------------------------------------

EVIL = ["//evil.example", "//evil.example/people", "/\\evil.example", "\\\\evil.example", "/\\/evil.example",
        "https:evil.example", "https://evil.example", "http:/evil.example", "javascript:alert(1)",
        "/\t/evil.example", "/\n/evil.example", " //evil.example", "/%2F/evil.example", "%2F%2Fevil.example",
        "evil.example", "/people#@evil.example", "/nowhere", "///evil.example", "/.//evil.example"]


@pytest.mark.parametrize("target", EVIL)
def test_next_never_leads_off_the_site(app, target):
    response = login(client_at(app, REAL_USER), next_=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/", (target, response.headers["Location"])


def test_next_leads_back_to_the_page_that_asked_for_the_login(app):
    client = client_at(app, REAL_USER)
    asked = client.get("/deletions")
    assert asked.status_code == 302 and asked.headers["Location"] == "/login?next=/deletions"
    assert login(client, next_="/deletions").headers["Location"] == "/deletions"
    assert login(client_at(app, REAL_USER), next_="/people?lang=en").headers["Location"] == "/people?lang=en"


# -- caching ----------------------------------------------------------------

def test_no_page_may_be_stored(app):
    anonymous = client_at(app, REAL_USER)
    responses = [anonymous.get(p) for p in PAGES] + [anonymous.get("/login")]
    client = client_at(app, REAL_USER)
    responses.append(login(client))
    responses += [client.get(p) for p in PAGES]
    responses.append(client.post("/logout", data={"csrf": page_csrf(client)}))
    attacker = client_at(app, ATTACKER)
    responses += [login(attacker, "guess") for _ in range(6)]
    assert {r.status_code for r in responses} == {200, 302, 401, 429}
    assert all(r.headers["Cache-Control"] == "no-store" for r in responses)


# -- what older, unchecked ingests may have left ----------------------------

def test_pages_survive_kit_data_of_the_wrong_type_from_before_the_checks(app, server):
    from sync.server import kits

    kits.add_kit(server, "kit-old", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + "O" * 43)
    conn = db.connect(server.db)
    conn.execute("UPDATE kits SET health = ? WHERE id = 'kit-old'",
                 ('{"disk_total_bytes": "0", "disk_free_bytes": [5], "temperature_c": "hot", "version": 3}',))
    conn.execute("INSERT INTO events VALUES ('kit-old', 1, 'audit.counted', 't', ?)",
                 ('{"teacher_id": "p-x", "coach_id": "p-y", "counts": [1, 2]}',))
    conn.close()
    client = client_at(app, REAL_USER)
    login(client)
    for page in PAGES:
        assert client.get(page).status_code == 200, page
