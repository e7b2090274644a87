"""The kit's certificate the whole way round, with nothing faked but the clock.

A real kit data directory makes its key and CSR (``appliance.tls``), syncs
over real ssh + rsync to a kit-server whose ACME account talks to pebble,
which validates DNS-01 against a real Knot DNS server; the certificate comes
back with the next sync, the kit serves it over its own TLS listener, and
Debian's Chromium, with pebble's root in its certificate store, opens the
page. Then renewal (30 days before expiry), then an expiry while the kit is
offline: it falls back to its school-CA certificate, then to its own.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.tls import TlsStore
from appliance.tls.context import ServingContexts
from kit.web_server import https_listener
from sync.agent.service import sync_once
from sync.server import ingest, publish
from sync.server.tls import ca
from tests.support import testbed
from tests.support.tls import nss_home

from tlsbed import TSIG_NAME, ZONE, free_port, leaf_of, spki

pytestmark = [pytest.mark.network, pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def server():
    """A school server of its own (ACME set up on it must not leak into other tests)."""
    why = testbed.can_run()
    if why:
        pytest.skip(why)
    layout, base = testbed.make_server(prefix="lkit-tlse2e-")
    sshd = testbed.SshServer(base, layout).start()
    try:
        yield sshd
    finally:
        sshd.stop()
        shutil.rmtree(base, ignore_errors=True)


def kit_server(layout, *args):
    result = subprocess.run([sys.executable, "-m", "sync.server.cli", "--root", str(layout.root), *args],
                            capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    return result


def round_trip(catalogue, data_dir, store, layout, kit_id):
    """One sync (CSR up), the server's cron (ingest, publish), one more sync (answer down)."""
    sync_once(data_dir, catalogue, tls=store, base_delay=0.01)
    ingest.ingest(layout, [kit_id])
    publish.publish(layout, [kit_id])
    return sync_once(data_dir, catalogue, tls=store, base_delay=0.01)


def presented(port: int, name: str) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname=name) as tls:
        return tls.getpeercert(binary_form=True)


def der(path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(path.read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")


def test_csr_sync_acme_certificate_served_renewed_and_expiry_offline(server, knot, pebble, tmp_path):
    from playwright.sync_api import sync_playwright

    layout = server.layout
    kit_id = "kit-e2e"
    data_dir = tmp_path / kit_id
    testbed.provision_kit(data_dir, layout, kit_id, server)
    from appliance.catalogue import Catalogue

    catalogue = Catalogue(data_dir / "catalogue.db")
    ahead = [dt.timedelta(0)]  # the kit's clock: real time, moved forward where the test says
    store = TlsStore(data_dir / "tls", kit_id, now=lambda: dt.datetime.now(dt.timezone.utc) + ahead[0])
    store.ensure()
    ca.init(layout, ZONE)  # the school CA answers until the kit knows its ACME name
    kit_server(layout, "acme", "setup", "--directory", pebble.directory, "--domain", ZONE,
               "--dns-server", f"127.0.0.1:{knot.port}", "--tsig-key", TSIG_NAME,
               "--tsig-secret-file", str(knot.secret_file(tmp_path)), "--ca-bundle", str(pebble.minica.ca_pem),
               "--agree-tos")
    name = f"{kit_id}.{ZONE}"

    # 1. The first CSR names no name: the school CA answers, and the kit learns its name.
    result = round_trip(catalogue, data_dir, store, layout, kit_id)
    assert result.certificate == "school-ca" and store.name() == name
    # 2. Its next CSR asks for exactly that name: pebble issues through DNS-01.
    assert store.wants_csr()
    result = round_trip(catalogue, data_dir, store, layout, kit_id)
    assert result.certificate == "acme"
    acme_pem = store.issued_path("acme")
    assert store.best().issuer == "acme" and store.best().info.names == [name]
    assert spki(leaf_of({"chain_pem": acme_pem.read_text()})) == spki(store.key())

    # 3. The kit serves it, and Chromium that trusts pebble's root (and only that) opens the page.
    contexts = ServingContexts(store)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<!doctype html><title>Leskit</title><p id=ok>kit</p>"]

    listener = https_listener(app, "127.0.0.1", free_port(), contexts).start()
    try:
        assert presented(listener.port, name) == der(acme_pem)
        home = nss_home(pebble.root_pem(), tmp_path)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, env={**os.environ, "HOME": str(home)},
                                        args=["--no-sandbox", f"--host-resolver-rules=MAP {name} 127.0.0.1"])
            try:
                page = browser.new_page()
                response = page.goto(f"https://{name}:{listener.port}/")
                assert response.ok and page.text_content("#ok") == "kit"
            finally:
                browser.close()

        # 4. Renewal: 30 days before expiry the kit asks again, and gets a new certificate.
        first = store.best().info
        ahead[0] = first.not_after - dt.timedelta(days=29) - dt.datetime.now(dt.timezone.utc)
        assert store.wants_csr()
        result = round_trip(catalogue, data_dir, store, layout, kit_id)
        assert result.certificate == "acme" and store.best().info.fingerprint != first.fingerprint

        # 5. Offline past the ACME certificate's expiry: the school-CA one is served, then the kit's own.
        renewed = store._info(store.issued_path("acme"))
        school = store._info(store.issued_path("school-ca"))
        ahead[0] = renewed.not_after + dt.timedelta(minutes=1) - dt.datetime.now(dt.timezone.utc)
        if school.valid_at(renewed.not_after + dt.timedelta(minutes=1)):
            assert contexts.refresh() and contexts.issued.issuer == "school-ca"
            assert presented(listener.port, name) == der(store.issued_path("school-ca"))
            ahead[0] = school.not_after + dt.timedelta(minutes=1) - dt.datetime.now(dt.timezone.utc)
        assert contexts.refresh() and contexts.issued is None
        assert presented(listener.port, name) == der(store.self_signed_path)
    finally:
        listener.stop()
        catalogue.close()
