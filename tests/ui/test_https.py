"""The review app over HTTPS only, as a browser on the hotspot meets it.

Real TLS (the kit's own listener and certificate store), a test CA
installed in Chromium's certificate store (never "ignore certificate
errors"), and the plain-HTTP listener that only redirects.
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import socket
import ssl
from pathlib import Path

import pytest

from appliance.tls import TlsStore
from appliance.tls.context import ServingContexts
from kit.web_server import https_listener
from tests.support.tls import KIT_ID, KIT_NAME, kit_contexts
from ui import create_app
from ui.config import TestingConfig
from ui_recording import PASSPHRASES
from ui_server import CHROMIUM, CHROMIUM_ARGS, free_port, school_ca, serve, serve_redirect

pytestmark = pytest.mark.browser
from playwright import sync_api  # a test dependency: missing, the run fails rather than skips


@pytest.fixture
def app(kit):
    return create_app(data_dir=kit.data_dir, config=TestingConfig())


def peer_certificate(port: int, server_name: str | None) -> bytes:
    """The DER certificate the kit presents for ``server_name`` (None: by address, as the teacher card does)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # we only look at what is presented
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            return tls.getpeercert(binary_form=True)


def der_of(pem_path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem_path.read_text().split("-----END CERTIFICATE-----")[0]
                                    + "-----END CERTIFICATE-----\n")


def test_chromium_trusts_the_kit_through_the_installed_ca_and_unlocks(browser, app, kit):
    with serve(app) as site:
        context = browser.new_context()
        page = context.new_page()
        response = page.goto(site + "/unlock")
        assert response.ok and site.startswith("https://")
        assert response.headers["strict-transport-security"] == "max-age=31536000"
        page.select_option("#person", kit.people["Anna"]["id"])
        page.fill("#passphrase", PASSPHRASES["Anna"])
        page.click("#unlock-button")
        page.wait_for_url(site + "/library")
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["kit_session"]["secure"] and cookies["kit_session"]["httpOnly"]
        context.close()


def test_a_browser_without_the_ca_refuses_the_kit(browser, app, tmp_path):
    """Negative control: the trust above comes from the installed CA, not from ignored errors."""
    with serve(app) as site:
        home = tmp_path / "home"
        (home / ".pki" / "nssdb").mkdir(parents=True)
        bare = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                           env={**os.environ, "HOME": str(home)})
        try:
            page = bare.new_page()
            with pytest.raises(sync_api.Error, match="ERR_CERT_AUTHORITY_INVALID"):
                page.goto(site + "/unlock")
        finally:
            bare.close()


def test_plain_http_only_redirects_and_never_serves_the_unlock_form(browser, app, kit):
    with serve_redirect(app) as (plain, secure):
        port = int(plain.rsplit(":", 1)[1])
        for path in ("/", "/unlock", "/library", "/hotspot-detect.html", "/generate_204"):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers={"Host": f"{KIT_NAME}:{port}"})
            response = conn.getresponse()
            body = response.read()
            assert response.status == 301, path
            assert response.getheader("Location").startswith(secure), path
            assert response.getheader("Set-Cookie") is None
            assert b"passphrase" not in body and b"<form" not in body
        # A passphrase posted over plain HTTP is refused, not processed (and not redirected for a resend).
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/unlock", body=f"person={kit.people['Anna']['id']}&passphrase=x",
                     headers={"Host": KIT_NAME, "Content-Type": "application/x-www-form-urlencoded"})
        refused = conn.getresponse()
        assert refused.status == 403 and refused.getheader("Set-Cookie") is None

        # The browser typed the plain address and landed on the HTTPS page.
        page = browser.new_page()
        page.goto(plain + "/unlock")
        assert page.url == secure + "/unlock"
        assert page.locator("#passphrase").count() == 1
        page.close()


def test_by_name_the_issued_certificate_by_address_the_self_signed_one(app):
    with serve(app) as site:
        port = int(site.rsplit(":", 1)[1])
        from ui_server import _kit_tls

        contexts = _kit_tls()
        by_name = peer_certificate(port, KIT_NAME)
        by_address = peer_certificate(port, None)
        assert by_name == der_of(contexts.store.issued_path("school-ca"))
        assert by_address == der_of(contexts.store.self_signed_path)


def test_a_new_certificate_is_served_without_a_restart_and_expiry_falls_back(app, tmp_path):
    """A certificate that arrives with a sync is served at the next handshake; offline past its
    expiry the kit falls back to its self-signed certificate instead of serving an expired one."""
    clock = [dt.datetime.now(dt.timezone.utc)]
    store = TlsStore(tmp_path / "tls", KIT_ID, now=lambda: clock[0])
    store.ensure()
    contexts = ServingContexts(store)
    listener = https_listener(app, "127.0.0.1", free_port(), contexts).start()
    try:
        assert peer_certificate(listener.port, KIT_NAME) == der_of(store.self_signed_path)
        store.install({"issuer": "school-ca", "chain_pem": school_ca().sign(store.csr(), KIT_NAME, days=10)})
        assert contexts.refresh()
        assert peer_certificate(listener.port, KIT_NAME) == der_of(store.issued_path("school-ca"))
        # A client that trusts the school CA verifies the kit's name.
        strict = ssl.create_default_context(cadata=school_ca().pem.decode())
        with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as raw:
            with strict.wrap_socket(raw, server_hostname=KIT_NAME) as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
        # 10 days left is under the 30-day renewal mark: once the last CSR is a day old, ask again.
        assert not store.wants_csr() and store.wants_csr(clock[0] + dt.timedelta(days=1))

        clock[0] += dt.timedelta(days=11)  # offline past the expiry
        assert contexts.refresh()
        assert contexts.issued is None
        assert peer_certificate(listener.port, KIT_NAME) == der_of(store.self_signed_path)
    finally:
        listener.stop()


def test_the_kit_refuses_a_certificate_for_another_key(tmp_path):
    store = TlsStore(tmp_path / "tls", KIT_ID)
    store.ensure()
    other = TlsStore(tmp_path / "other", "lk-other")
    other.ensure()
    from appliance.tls import TlsRefused

    with pytest.raises(TlsRefused, match="not for this kit's key"):
        store.install({"issuer": "school-ca", "chain_pem": school_ca().sign(other.csr(), KIT_NAME)})
    with pytest.raises(TlsRefused, match="unknown issuer"):
        store.install({"issuer": "evil", "chain_pem": school_ca().sign(store.csr(), KIT_NAME)})
    with pytest.raises(TlsRefused, match="not valid now"):
        past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)
        store.install({"issuer": "acme", "chain_pem": school_ca().sign(store.csr(), KIT_NAME, days=5, not_before=past)})
    assert not store.issued_path("school-ca").exists() and not store.issued_path("acme").exists()
    assert store.best().issuer == "self-signed"


def test_beheer_shows_the_certificate_and_its_days_left(kit, tmp_path):
    from ui_helpers import ADMIN_PASSWORD, login_admin

    contexts = kit_contexts(tmp_path / "tls", school_ca())
    app = create_app(data_dir=kit.data_dir, config=TestingConfig(admin_password=ADMIN_PASSWORD), tls=contexts.store)
    client = app.test_client()
    login_admin(client)
    page = client.get("/admin/").get_data(as_text=True)
    assert "Uitgegeven door de eigen certificaatautoriteit van de school." in page
    assert "Nog 19 dagen geldig." in page and "De kit vraagt bij de volgende synchronisatie" in page
    assert contexts.store.best().info.fingerprint in page
