"""The school's own CA: a kit's CSR in, a certificate out that the exported root
verifies — and a root that vouches for nothing outside the kits domain."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import os
import plistlib
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from sync.agent import sync_once
from sync.agent.config import SyncPaths
from sync.server import ingest, publish
from sync.server.tls import ca
from sync.server.tls.csr import parse_kit_csr

from tlsbed import (ZONE, b64, leaf_of, make_csr, make_key, need, push_csr, san_of, spki, tls_json,
                    verify_server_chain)

ROOT = Path(__file__).resolve().parents[3]


def ks(layout, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "sync.server.cli", "--root", str(layout.root), *args],
                          capture_output=True, text=True, cwd=ROOT, input=stdin,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def export_root(layout, out: Path) -> bytes:
    result = ks(layout, "ca", "export", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return (out / "school-ca.pem").read_bytes()


def test_a_kit_csr_becomes_a_certificate_the_exported_root_verifies(make_server, tmp_path):
    layout = make_server("kit-a", "kit-b")
    result = ks(layout, "ca", "init", "--domain", "Kits.School.Test", "--organisation", "OBS De Linde")
    assert result.returncode == 0, result.stderr
    key_file = layout.root / "tls" / "school-ca" / "ca-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((layout.root / "tls").stat().st_mode) == 0o700

    kit_key = make_key("ec")
    der = make_csr(kit_key)  # a kit that does not know its name yet asks for none
    push_csr(layout, "kit-a", der)
    assert ingest.ingest(layout)["kit-a"].applied
    result = ks(layout, "publish")
    assert result.returncode == 0, result.stderr
    assert f"tls kit-a: issued kit-a.{ZONE} (school-ca, EC P-256, valid until" in result.stdout

    record = tls_json(layout, "kit-a")
    assert set(record) == {"version", "issuer", "name", "chain_pem", "not_after", "csr_sha256"}
    assert record["version"] == 1 and record["issuer"] == "school-ca" and record["name"] == f"kit-a.{ZONE}"
    assert record["csr_sha256"] == hashlib.sha256(der).hexdigest()
    leaf = leaf_of(record)
    assert san_of(leaf) == [f"kit-a.{ZONE}"] and spki(leaf) == spki(kit_key)
    assert record["not_after"] == leaf.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert 396 <= (leaf.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)).days <= 397
    assert tls_json(layout, "kit-b") is None  # no CSR, no certificate

    root_pem = export_root(layout, tmp_path / "export")
    assert verify_server_chain(record["chain_pem"], root_pem, f"kit-a.{ZONE}") == []
    # The certificate is for that kit's name only.
    assert verify_server_chain(record["chain_pem"], root_pem, f"kit-b.{ZONE}") != []

    # Publishing again answers nothing twice.
    before = (layout.roster("kit-a") / "tls.json").read_bytes()
    result = ks(layout, "publish")
    assert result.stdout.strip() == "published: 0 files changed" and result.stderr == ""
    assert (layout.roster("kit-a") / "tls.json").read_bytes() == before

    # Renewal: the kit's fresh key and CSR get a new certificate.
    new_key = make_key("ec")
    push_csr(layout, "kit-a", make_csr(new_key))
    ingest.ingest(layout)
    assert "kit-a/tls.json" in publish.publish(layout)
    renewed = tls_json(layout, "kit-a")
    assert spki(leaf_of(renewed)) == spki(new_key) and leaf_of(renewed).serial_number != leaf.serial_number
    assert verify_server_chain(renewed["chain_pem"], root_pem, f"kit-a.{ZONE}") == []

    # Nothing private went anywhere a kit can read.
    for path in layout.kits.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path


def _outside_leaf(school: ca.SchoolCA, names: list[x509.GeneralName]) -> str:
    """A certificate the school CA's own key signs for whatever names: what a thief of the key could make."""
    key = make_key("ec")
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(school.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(names), critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(school.key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(school.key, hashes.SHA384()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_the_root_cannot_vouch_for_any_name_outside_the_kits_domain(make_server, tmp_path):
    layout = make_server()
    school = ca.init(layout, ZONE)
    root_pem = export_root(layout, tmp_path / "export")
    inside = parse_kit_csr(b64(make_csr(make_key("ec"))))

    # Positive control: the same verifiers accept names inside the domain.
    assert verify_server_chain(school.sign(inside, f"kit-b.{ZONE}").chain_pem, root_pem, f"kit-b.{ZONE}") == []
    assert verify_server_chain(_outside_leaf(school, [x509.DNSName(f"deep.kit-b.{ZONE}")]), root_pem,
                               f"deep.kit-b.{ZONE}") == []

    for name in ["www.google.com", f"{ZONE}.evil.example", f"evil{ZONE}", "school.test"]:
        # Even the CA's own signing path, asked for another name, makes nothing usable.
        problems = verify_server_chain(school.sign(inside, name).chain_pem, root_pem, name)
        assert len(problems) == 2, (name, problems)
        assert "no permitted name constraints matched" in problems[0] and "permitted subtree violation" in problems[1]
    mixed = _outside_leaf(school, [x509.DNSName(f"kit-c.{ZONE}"), x509.DNSName("mail.google.com")])
    assert len(verify_server_chain(mixed, root_pem, f"kit-c.{ZONE}")) == 2
    ip = _outside_leaf(school, [x509.IPAddress(ipaddress.ip_address("192.0.2.10"))])
    problems = verify_server_chain(ip, root_pem, "192.0.2.10")
    assert len(problems) == 2, problems
    assert "excluded name constraint matched" in problems[0] and "excluded subtree violation" in problems[1]

    # No e-mail certificates either (name constraint and the root's EKU).
    email = _outside_leaf(school, [x509.RFC822Name("head@school.test")])
    (tmp_path / "email.pem").write_text(email)
    out = subprocess.run([need("openssl", "openssl"), "verify", "-CAfile", str(tmp_path / "export" / "school-ca.pem"),
                          "-purpose", "smimesign", str(tmp_path / "email.pem")], capture_output=True, text=True)
    assert out.returncode != 0, out.stdout

    cert = school.cert
    constraints = cert.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical and [n.value for n in constraints.value.permitted_subtrees][0] == ZONE
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca and basic.path_length == 0


def test_the_export_for_mdm_holds_the_root(make_server, tmp_path):
    layout = make_server()
    school = ca.init(layout, ZONE, "OBS De Linde")
    export_root(layout, tmp_path / "a")
    export_root(layout, tmp_path / "b")
    der = school.cert.public_bytes(serialization.Encoding.DER)
    assert (tmp_path / "a" / "school-ca.der").read_bytes() == der
    assert x509.load_pem_x509_certificate((tmp_path / "a" / "school-ca.pem").read_bytes()) == school.cert
    raw = (tmp_path / "a" / "school-ca.mobileconfig").read_bytes()
    assert raw == (tmp_path / "b" / "school-ca.mobileconfig").read_bytes()  # same UUIDs: an update, not a second profile
    profile = plistlib.loads(raw)
    assert profile["PayloadType"] == "Configuration" and profile["PayloadVersion"] == 1
    (payload,) = profile["PayloadContent"]
    assert payload["PayloadType"] == "com.apple.security.root" and payload["PayloadContent"] == der
    uuids = {profile["PayloadUUID"], payload["PayloadUUID"]}
    assert len(uuids) == 2 and all(len(u) == 36 for u in uuids)
    assert ZONE in profile["PayloadDescription"]


def test_only_the_kit_name_and_a_leaf_come_out_whatever_the_csr_asks(make_server, tmp_path):
    layout = make_server("kit-a")
    ca.init(layout, ZONE)
    key = make_key("rsa2048")
    push_csr(layout, "kit-a", make_csr(key, ("kit-b." + ZONE, "www.google.com"), ca=True))
    ingest.ingest(layout)
    lines = []
    publish.publish(layout, tls_lines=lines)
    assert lines == [f"kit-a: issued kit-a.{ZONE} (school-ca, RSA 2048, valid until "
                     f"{tls_json(layout, 'kit-a')['not_after']}); names in the CSR ignored: "
                     f"kit-b.{ZONE}, www.google.com"]
    leaf = leaf_of(tls_json(layout, "kit-a"))
    assert san_of(leaf) == [f"kit-a.{ZONE}"] and spki(leaf) == spki(key)
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment and not usage.key_cert_sign


def test_ca_init_refuses_a_second_ca_and_odd_domains(make_server):
    layout = make_server()
    for domain, message in [("localhost", "at least two labels"), ("192.168.1.10", "looks like an IP address"),
                            ("kits_school.example", "not a DNS domain")]:
        result = ks(layout, "ca", "init", "--domain", domain)
        assert result.returncode == 1 and message in result.stderr and len(result.stderr.splitlines()) == 1
    assert ks(layout, "ca", "export", "--out", "/tmp/x").stderr.startswith("kit-server: there is no school CA yet")
    assert ks(layout, "ca", "init", "--domain", ZONE).returncode == 0
    fingerprint = ca.load(layout).fingerprint
    result = ks(layout, "ca", "init", "--domain", "other.example")
    assert result.returncode == 1 and "a school CA already exists" in result.stderr
    assert ca.load(layout).fingerprint == fingerprint


@pytest.mark.network
def test_a_real_kit_sends_its_csr_and_pulls_its_certificate(make_kit, ssh_server, tmp_path):
    """The whole way round: the kit's outbox, rsync over ssh, ingest, publish, the kit's pull."""
    layout = ssh_server.layout
    if ca.load(layout) is None:
        ca.init(layout, ZONE)
    kit = make_kit("kit-tls")
    key = make_key("ec")
    der = make_csr(key)
    with kit.catalogue.transaction():
        kit.catalogue.emit("tls.csr", {"csr": b64(der)})
    sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    ingest.ingest(layout, ["kit-tls"])
    publish.publish(layout, ["kit-tls"])
    sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    pulled = json.loads((SyncPaths(kit.data_dir).incoming / "tls.json").read_text())
    assert pulled == tls_json(layout, "kit-tls")
    assert pulled["name"] == f"kit-tls.{ZONE}" and pulled["csr_sha256"] == hashlib.sha256(der).hexdigest()
    assert spki(leaf_of(pulled)) == spki(key)
    assert verify_server_chain(pulled["chain_pem"], export_root(layout, tmp_path / "export"), pulled["name"]) == []
