"""ACME DNS-01 end to end: pebble (the ACME test CA) validating against a real
Knot DNS server that kit-server updates with RFC 2136 + TSIG, all on loopback."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sync.server import ingest, publish
from sync.server.tls import ca

from tlsbed import (certificates, TSIG_NAME, ZONE, free_port, leaf_of, make_csr, make_key, push_csr, san_of, spki, tls_json,
                    verify_server_chain)

pytestmark = pytest.mark.network
ROOT = Path(__file__).resolve().parents[3]


def ks(layout, *args):
    return subprocess.run([sys.executable, "-m", "sync.server.cli", "--root", str(layout.root), *args],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def acme_setup(layout, knot, pebble, tmp_path, *, dns_port=None, secret_file=None, bundle=True, agree=True):
    args = ["acme", "setup", "--directory", pebble.directory, "--domain", ZONE,
            "--dns-server", f"127.0.0.1:{dns_port or knot.port}", "--tsig-key", TSIG_NAME,
            "--tsig-secret-file", str(secret_file or knot.secret_file(tmp_path)), "--email", "it@school.test"]
    args += ["--ca-bundle", str(pebble.minica.ca_pem)] if bundle else []
    args += ["--agree-tos"] if agree else []
    return ks(layout, *args)


def updates_seen(knot) -> int:
    return knot.log().count("DDNS, finished")


def test_acme_setup_checks_the_dns_key_and_the_ca_and_keeps_secrets_private(make_server, knot, pebble, tmp_path):
    layout = make_server()
    wrong = tmp_path / "wrong.key"
    wrong.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    for kwargs, message in [
        ({"secret_file": wrong}, f"refused TSIG key '{TSIG_NAME}'"),
        ({"dns_port": free_port()}, "did not answer"),
        ({"bundle": False}, "HTTPS certificate is not trusted"),
        ({"agree": False}, "terms of service"),
    ]:
        result = acme_setup(layout, knot, pebble, tmp_path, **kwargs)
        assert result.returncode == 1, (kwargs, result.stdout)
        assert len(result.stderr.splitlines()) == 1 and message in result.stderr, (kwargs, result.stderr)
        assert not (layout.root / "tls" / "acme.json").exists()  # nothing half set up

    result = acme_setup(layout, knot, pebble, tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"ACME set up: kits get <kit-id>.{ZONE} from {pebble.directory}" in result.stdout
    tls = layout.root / "tls"
    for name in ("acme-account-key.pem", "tsig.secret"):
        assert stat.S_IMODE((tls / name).stat().st_mode) == 0o600, name
    config = json.loads((tls / "acme.json").read_text())
    assert config["account_uri"].startswith(f"https://127.0.0.1:{pebble.port}/")
    assert knot.secret not in (tls / "acme.json").read_text()
    assert knot.secret not in result.stdout + result.stderr
    assert knot.query(f"_acme-challenge.{ZONE}") == []  # the setup's probe record is gone again
    status = ks(layout, "tls", "status")
    assert status.returncode == 0 and f"ACME: <kit>.{ZONE} from {pebble.directory}" in status.stdout
    assert knot.secret not in status.stdout

    # Running setup again (a new DNS server, say) keeps the account and its key.
    key_before = (tls / "acme-account-key.pem").read_bytes()
    result = acme_setup(layout, knot, pebble, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tls / "acme-account-key.pem").read_bytes() == key_before
    assert json.loads((tls / "acme.json").read_text())["account_uri"] == config["account_uri"]


def test_a_kit_gets_a_publicly_trusted_certificate_and_renews_it(make_server, knot, pebble, tmp_path):
    layout = make_server("kit-a", "kit-b")
    assert acme_setup(layout, knot, pebble, tmp_path).returncode == 0
    name = f"kit-a.{ZONE}"
    key = make_key("ec")
    der = make_csr(key, (name,))
    push_csr(layout, "kit-a", der)
    assert ingest.ingest(layout)["kit-a"].applied
    updates = updates_seen(knot)
    result = ks(layout, "publish")
    assert result.returncode == 0, result.stderr
    assert f"tls kit-a: issued {name} (acme, EC P-256, valid until" in result.stdout
    assert updates_seen(knot) >= updates + 2  # the TXT record went in, and out again
    assert pebble.log().count("POST /order-plz") >= 1

    record = tls_json(layout, "kit-a")
    assert record["issuer"] == "acme" and record["name"] == name
    assert record["csr_sha256"] == hashlib.sha256(der).hexdigest()
    leaf = leaf_of(record)
    assert san_of(leaf) == [name] and spki(leaf) == spki(key)
    assert record["chain_pem"].count("BEGIN CERTIFICATE") >= 2  # leaf, then pebble's intermediate
    root = pebble.root_pem()
    assert verify_server_chain(record["chain_pem"], root, name) == []
    assert verify_server_chain(record["chain_pem"], root, f"kit-b.{ZONE}") != []
    assert knot.query(f"_acme-challenge.{name}") == []
    assert tls_json(layout, "kit-b") is None

    # Publish again: the CSR is answered, nothing is ordered.
    updates = updates_seen(knot)
    result = ks(layout, "publish")
    assert result.stdout.strip() == "published: 0 files changed" and updates_seen(knot) == updates

    # Renewal: a fresh CSR (from 30 days before expiry) gets a new certificate.
    new_key = make_key("ec")
    push_csr(layout, "kit-a", make_csr(new_key, (name,)))
    ingest.ingest(layout)
    assert certificates(publish.publish(layout)) == ["kit-a/tls.json"]
    renewed = tls_json(layout, "kit-a")
    assert spki(leaf_of(renewed)) == spki(new_key) and leaf_of(renewed).serial_number != leaf.serial_number
    assert verify_server_chain(renewed["chain_pem"], root, name) == []
    assert knot.query(f"_acme-challenge.{name}") == []

    status = ks(layout, "tls", "status").stdout
    row = next(line for line in status.splitlines() if line.startswith("kit-a "))
    assert row.split()[:4] == ["kit-a", "acme", name, renewed["not_after"]] and int(row.split()[4]) > 30

    # A DNS server that stops taking the key costs this kit its renewal, not the run.
    (layout.root / "tls" / "tsig.secret").write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    push_csr(layout, "kit-a", make_csr(make_key("ec"), (name,)))
    ingest.ingest(layout)
    orders = pebble.log().count("POST /order-plz")
    result = ks(layout, "publish")
    assert result.returncode == 0 and pebble.log().count("POST /order-plz") == orders + 1
    assert result.stderr.strip().startswith(
        f"tls kit-a: no new certificate: the DNS server 127.0.0.1:{knot.port} refused TSIG key '{TSIG_NAME}' "
        "(wrong name, secret or algorithm, or the key may not change this record) (next try after 20")
    assert len(result.stderr.splitlines()) == 1
    assert tls_json(layout, "kit-a") == renewed  # the kit keeps the certificate it has
    # The next publish (cron, a minute later) leaves that CSR alone until its retry time.
    orders = pebble.log().count("POST /order-plz")
    result = ks(layout, "publish")
    assert result.returncode == 0 and result.stderr == "" and pebble.log().count("POST /order-plz") == orders
    assert "next try after" in ks(layout, "tls", "status").stdout


def test_a_csr_not_asking_for_the_kit_name_waits_for_the_school_ca_or_a_better_csr(make_server, knot, pebble,
                                                                                     tmp_path):
    layout = make_server("kit-c", "kit-d")
    assert acme_setup(layout, knot, pebble, tmp_path).returncode == 0
    push_csr(layout, "kit-c", make_csr(make_key("ec")))  # a new kit: it does not know its name yet
    push_csr(layout, "kit-d", make_csr(make_key("ec"), (f"kit-c.{ZONE}",)))  # asks for another kit's name
    ingest.ingest(layout)
    result = ks(layout, "publish")
    assert result.returncode == 0 and "files changed" in result.stdout
    assert sorted(result.stderr.splitlines()) == [
        f"  tls kit-c: no new certificate: the CSR asks for no name, and an ACME CA signs only a CSR for "
        f"exactly kit-c.{ZONE}",
        f"  tls kit-d: no new certificate: the CSR asks for kit-c.{ZONE}, and an ACME CA signs only a CSR for "
        f"exactly kit-d.{ZONE}",
    ]
    assert tls_json(layout, "kit-c") is None and tls_json(layout, "kit-d") is None

    # With a school CA as well, both get a certificate for their own name from it meanwhile ...
    ca.init(layout, ZONE)
    lines = []
    publish.publish(layout, tls_lines=lines)
    assert [tls_json(layout, k)["issuer"] for k in ("kit-c", "kit-d")] == ["school-ca", "school-ca"]
    assert san_of(leaf_of(tls_json(layout, "kit-d"))) == [f"kit-d.{ZONE}"]
    assert any("the school CA answers until it does" in line for line in lines), lines

    # ... and the kit, having learnt its name from it, asks for it and gets the ACME one.
    learnt = tls_json(layout, "kit-c")["name"]
    key = make_key("ec")
    push_csr(layout, "kit-c", make_csr(key, (learnt,)))
    ingest.ingest(layout)
    assert certificates(publish.publish(layout)) == ["kit-c/tls.json"]
    record = tls_json(layout, "kit-c")
    assert record["issuer"] == "acme" and spki(leaf_of(record)) == spki(key)
    assert verify_server_chain(record["chain_pem"], pebble.root_pem(), f"kit-c.{ZONE}") == []
    assert certificates(publish.publish(layout)) == []  # and it all stays put


def test_setting_up_acme_later_replaces_school_ca_answers_for_csrs_that_fit(make_server, knot, pebble, tmp_path):
    layout = make_server("kit-e")
    ca.init(layout, ZONE)
    key = make_key("ec")
    push_csr(layout, "kit-e", make_csr(key, (f"kit-e.{ZONE}",)))
    ingest.ingest(layout)
    publish.publish(layout)
    assert tls_json(layout, "kit-e")["issuer"] == "school-ca"
    assert acme_setup(layout, knot, pebble, tmp_path).returncode == 0
    assert certificates(publish.publish(layout)) == ["kit-e/tls.json"]
    record = tls_json(layout, "kit-e")
    assert record["issuer"] == "acme" and spki(leaf_of(record)) == spki(key)
    assert certificates(publish.publish(layout)) == []


def test_a_failed_validation_is_one_line_and_leaves_no_txt_record(make_server, knot, pebble, tmp_path,
                                                                    monkeypatch):
    from acme import challenges

    layout = make_server("kit-f", "kit-g")
    assert acme_setup(layout, knot, pebble, tmp_path).returncode == 0
    for kit_id in ("kit-f", "kit-g"):
        push_csr(layout, kit_id, make_csr(make_key("ec"), (f"{kit_id}.{ZONE}",)))
    ingest.ingest(layout)
    real = challenges.DNS01.validation
    published = []

    def wrong_for_kit_f(self, account_key, **kwargs):
        # What a DNS server serving a stale record looks like to the CA.
        value = real(self, account_key, **kwargs)
        published.append(value)
        return "x" * 43 if len(published) == 1 else value

    monkeypatch.setattr(challenges.DNS01, "validation", wrong_for_kit_f)
    lines = []
    assert certificates(publish.publish(layout, tls_lines=lines)) == ["kit-g/tls.json"]
    (failed,) = [line for line in lines if line.startswith("kit-f:")]
    assert failed.startswith(f"kit-f: no new certificate: the ACME CA could not validate the order for kit-f.{ZONE} (")
    assert "next try after" in failed
    for kit_id in ("kit-f", "kit-g"):
        assert knot.query(f"_acme-challenge.{kit_id}.{ZONE}") == []
    assert tls_json(layout, "kit-f") is None and tls_json(layout, "kit-g")["issuer"] == "acme"
