"""A kit's CSR as the server reads it: real keys and requests, good and hostile."""

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sync.server.tls.csr import CsrRefused, parse_kit_csr

from tlsbed import b64, make_csr, make_key, spki


def test_an_ec_p256_request_is_read_with_its_names_and_key():
    key = make_key("ec")
    der = make_csr(key, ("Kit-A.kits.school.test",))
    csr = parse_kit_csr(b64(der))
    assert csr.key == "EC P-256" and csr.names == {"kit-a.kits.school.test"}
    assert csr.public_key_der() == spki(key)
    assert csr.der == der and len(csr.sha256) == 64


def test_rsa_2048_is_accepted():
    assert parse_kit_csr(b64(make_csr(make_key("rsa2048")))).key == "RSA 2048"


def _flip_signature(der: bytes) -> bytes:
    # The signature's BIT STRING is last: changing its final byte keeps the
    # DER well-formed and breaks only the proof of possession.
    return der[:-1] + bytes([der[-1] ^ 0x01])


@pytest.mark.parametrize("make, reason", [
    (lambda: b64(_flip_signature(make_csr(make_key("ec")))), "signature does not verify"),
    (lambda: b64(make_csr(make_key("ed25519"))), "Ed25519 key: only EC P-256 or RSA"),
    (lambda: b64(make_csr(make_key("p384"))), "curve secp384r1: only P-256"),
    (lambda: b64(make_csr(make_key("rsa1024"))), "RSA key of 1024 bits"),
    (lambda: b64(make_csr(make_key("ec")) + b"\x00"), "not a PKCS#10 request"),
    (lambda: b64(b"\x30\x03\x02\x01\x00"), "not a PKCS#10 request"),
    (lambda: "-----BEGIN CERTIFICATE REQUEST-----", "not standard base64"),
    (lambda: (lambda t: t[:64] + "\n" + t[64:])(b64(make_csr(make_key("ec")))), "not standard base64"),
    (lambda: "A" * 5000, "at most 4096 characters"),
    (lambda: "", "empty or too large"),
    (lambda: 12345, "not a string"),
])
def test_hostile_requests_are_refused_with_one_line(make, reason):
    with pytest.raises(CsrRefused) as refused:
        parse_kit_csr(make())
    assert reason in str(refused.value) and "\n" not in str(refused.value)


def test_a_request_carrying_one_key_and_signed_by_another_is_refused():
    """Proof of possession: a kit cannot ask for a certificate on a key it does not hold."""
    key_a, key_b = make_key("ec"), make_key("ec")
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    request_a = builder.sign(key_a, hashes.SHA256())
    # B signs A's request body (with A's public key in it). ECDSA signatures
    # vary in DER length (70-72 bytes): sign until the lengths match, so
    # swapping them keeps the DER intact.
    for _ in range(200):
        sig_b = key_b.sign(request_a.tbs_certrequest_bytes, ec.ECDSA(hashes.SHA256()))
        if len(sig_b) == len(request_a.signature):
            break
    der = request_a.public_bytes(serialization.Encoding.DER).replace(request_a.signature, sig_b)
    with pytest.raises(CsrRefused, match="signature does not verify"):
        parse_kit_csr(b64(der))
