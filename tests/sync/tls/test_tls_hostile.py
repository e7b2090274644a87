"""Hostile CSRs: each refused with one line, none stops the others' certificates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sync import protocol
from sync.server import db, ingest, publish
from sync.server.tls import ca

from tlsbed import certificates, ZONE, leaf_of, make_csr, make_key, push_csr, push_event, san_of, spki, tls_json

ROOT = Path(__file__).resolve().parents[3]
KITS = ["kit-good", "kit-badsig", "kit-ed", "kit-weak", "kit-p384", "kit-claims", "kit-junk", "kit-pem", "kit-huge"]


def ks(layout, *args):
    return subprocess.run([sys.executable, "-m", "sync.server.cli", "--root", str(layout.root), *args],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def csr_events(layout, kit_id):
    conn = db.connect(layout.db)
    try:
        return conn.execute("SELECT COUNT(*) FROM events WHERE kit_id = ? AND kind = ?",
                            (kit_id, protocol.TLS_CSR)).fetchone()[0]
    finally:
        conn.close()


def test_hostile_csrs_get_one_line_each_and_the_good_kits_their_certificates(make_server):
    layout = make_server(*KITS)
    ca.init(layout, ZONE)
    good_key, claims_key = make_key("ec"), make_key("ec")
    signed = make_csr(make_key("ec"))
    push_csr(layout, "kit-good", make_csr(good_key))
    push_csr(layout, "kit-badsig", signed[:-1] + bytes([signed[-1] ^ 1]))
    push_csr(layout, "kit-ed", make_csr(make_key("ed25519")))
    push_csr(layout, "kit-weak", make_csr(make_key("rsa1024")))
    push_csr(layout, "kit-p384", make_csr(make_key("p384")))
    push_csr(layout, "kit-claims", make_csr(claims_key, (f"kit-good.{ZONE}", "*.google.com")))
    push_csr(layout, "kit-junk", b"\x30\x82\x01\x00" + b"\x00" * 40)  # base64 fine, DER not
    push_event(layout, "kit-pem", protocol.TLS_CSR, {"csr": "-----BEGIN CERTIFICATE REQUEST-----\nMIIB"})
    push_event(layout, "kit-huge", protocol.TLS_CSR, {"csr": "A" * (protocol.MAX_CSR_CHARS + 4)})

    reports = ingest.ingest(layout)
    # The protocol already refuses what is not short base64: quarantined, never in the database.
    for kit_id in ("kit-pem", "kit-huge"):
        (name, reason), = reports[kit_id].quarantined
        assert reason == "line 2: value of tls.csr.csr is not plain metadata"
        assert csr_events(layout, kit_id) == 0
        assert list((layout.quarantine / kit_id).glob("*.reason"))
    assert all(csr_events(layout, k) == 1 for k in KITS if k not in ("kit-pem", "kit-huge"))

    result = ks(layout, "publish")
    assert result.returncode == 0, result.stderr
    refused = dict(line.strip().removeprefix("tls ").split(": ", 1) for line in result.stderr.splitlines())
    assert refused == {
        "kit-badsig": "no new certificate: CSR (event 1) refused: the CSR's signature does not verify: it was not "
                      "signed by the key it carries",
        "kit-ed": "no new certificate: CSR (event 1) refused: Ed25519 key: only EC P-256 or RSA 2048-4096 keys are "
                  "accepted (browsers and ACME CAs do not take others for TLS)",
        "kit-weak": "no new certificate: CSR (event 1) refused: RSA key of 1024 bits: only 2048 to 4096 bits are "
                    "accepted",
        "kit-p384": "no new certificate: CSR (event 1) refused: EC key on curve secp384r1: only P-256 (secp256r1) is "
                    "accepted",
        "kit-junk": "no new certificate: CSR (event 1) refused: the CSR is not a PKCS#10 request in DER",
    }
    issued = [line.strip() for line in result.stdout.splitlines()[1:]]
    assert [line.split(":")[0] for line in issued] == ["tls kit-claims", "tls kit-good"]
    assert "names in the CSR ignored: *.google.com, kit-good.kits.school.test" in issued[0]

    # Names in a CSR are never believed: kit-claims gets its own name only.
    assert san_of(leaf_of(tls_json(layout, "kit-claims"))) == [f"kit-claims.{ZONE}"]
    assert spki(leaf_of(tls_json(layout, "kit-claims"))) == spki(claims_key)
    assert san_of(leaf_of(tls_json(layout, "kit-good"))) == [f"kit-good.{ZONE}"]
    assert spki(leaf_of(tls_json(layout, "kit-good"))) == spki(good_key)
    for kit_id in set(KITS) - {"kit-good", "kit-claims"}:
        assert tls_json(layout, kit_id) is None

    status = ks(layout, "tls", "status").stdout
    assert "kit-badsig  -" in status and "signature does not verify" in status

    # A bad newest CSR from a kit that has a certificate: refused, and the kit keeps what it has.
    before = tls_json(layout, "kit-good")
    push_csr(layout, "kit-good", make_csr(make_key("ed25519")))
    ingest.ingest(layout)
    lines = []
    assert certificates(publish.publish(layout, tls_lines=lines)) == []
    assert "kit-good: no new certificate: CSR (event 2) refused: Ed25519 key" in "\n".join(lines)
    assert tls_json(layout, "kit-good") == before


def test_an_issuer_failing_for_one_kit_does_not_cost_the_others(make_server, monkeypatch):
    layout = make_server("kit-a", "kit-b", "kit-c")
    ca.init(layout, ZONE)
    for kit_id in ("kit-a", "kit-b", "kit-c"):
        push_csr(layout, kit_id, make_csr(make_key("ec")))
    ingest.ingest(layout)
    real_sign = ca.SchoolCA.sign

    def sign(self, kit_csr, name, now=None):
        if name.startswith("kit-b."):
            raise RuntimeError("disk on fire")
        return real_sign(self, kit_csr, name, now)

    monkeypatch.setattr(ca.SchoolCA, "sign", sign)
    lines = []
    changed = publish.publish(layout, tls_lines=lines)
    assert sorted(certificates(changed)) == ["kit-a/tls.json", "kit-c/tls.json"]
    assert "kit-b: no new certificate: internal error (RuntimeError: disk on fire)" in lines
    notes = json.loads((layout.root / "tls" / "notes.json").read_text())
    assert notes["kit-b"]["note"] == "no new certificate: internal error (RuntimeError: disk on fire)"
