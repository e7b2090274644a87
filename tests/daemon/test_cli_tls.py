"""``kit tls status``: what IT reads to learn which certificate the review page serves."""

from __future__ import annotations

import hashlib
import ssl

from appliance.tls import TlsStore
from appliance.paths import KitPaths
from tests.support.tls import KITS_DOMAIN, TestCA

from .daemon_process import kit


def fingerprint_of(pem: str) -> str:
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def field(out: str, name: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith(name + ":"))


def test_a_fresh_data_directory_gets_its_own_certificate_and_says_so(tmp_path):
    data = tmp_path / "data"
    out = kit("tls", "status", "--data", str(data), check=True).stdout
    assert "self-signed" in field(out, "in use")
    own = (KitPaths(data).tls / "self-signed.pem").read_text()
    assert field(out, "SHA-256") == fingerprint_of(own)
    assert "10.42.0.1" not in field(out, "names")  # names only; the address is in the certificate's IPs
    assert "by address" not in out  # only one certificate, nothing to tell apart


def test_an_issued_certificate_is_named_and_the_card_fingerprint_still_shown(tmp_path):
    data = tmp_path / "data"
    kit("tls", "status", "--data", str(data), check=True)
    store = TlsStore(KitPaths(data).tls, "lk-simulated")
    name = f"lk-simulated.{KITS_DOMAIN}"
    issued = store.install({"issuer": "school-ca", "chain_pem": TestCA.create().sign(store.csr(), name)})
    out = kit("tls", "status", "--data", str(data), check=True).stdout
    assert "school's own CA" in field(out, "in use")
    assert name in field(out, "names")
    assert field(out, "SHA-256") == issued.fingerprint
    assert field(out, "by address").startswith(store.self_signed_fingerprint)
    assert "self-signed, valid until" in out


def test_a_damaged_issued_certificate_falls_back_and_nothing_breaks(tmp_path):
    data = tmp_path / "data"
    kit("tls", "status", "--data", str(data), check=True)
    TlsStore(KitPaths(data).tls, "lk-simulated").issued_path("school-ca").write_text(
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    result = kit("tls", "status", "--data", str(data))
    assert result.returncode == 0, result.stderr
    assert "self-signed" in field(result.stdout, "in use")
