"""A kit's certificate signing request, checked as hostile input.

What is checked: standard base64 of DER (nothing else), a PKCS#10 request
that re-encodes to the same bytes, a key the issued certificate can use
everywhere — **EC P-256**, or RSA of 2048 to 4096 bits — and a signature by
that key over the request (proof of possession) with SHA-256 or stronger.
Ed25519 is refused: browsers do not accept it for TLS server certificates,
and public ACME CAs do not sign it.

What is *not* believed: the names and extensions the request asks for. The
certificate is built by the server for the name it decides; ``names`` is
kept only so that ACME, whose CA signs a CSR only for exactly the names of
the order, can tell whether this CSR is usable (see :mod:`.issue`).

>>> parse_kit_csr("not base64!")
Traceback (most recent call last):
...
sync.server.tls.csr.CsrRefused: the CSR is not standard base64
>>> parse_kit_csr("AAAA")
Traceback (most recent call last):
...
sync.server.tls.csr.CsrRefused: the CSR is not a PKCS#10 request in DER
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from sync.protocol import MAX_CSR_CHARS

MAX_CSR_BYTES = MAX_CSR_CHARS * 3 // 4
RSA_BITS = (2048, 4096)
_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)


class CsrRefused(ValueError):
    """A CSR the server will not answer; the message is the one-line reason."""


@dataclass(frozen=True)
class KitCsr:
    der: bytes
    request: x509.CertificateSigningRequest
    sha256: str
    names: frozenset[str]  # what it asks for (CN, DNS and IP SANs), lower case
    key: str  # "EC P-256" or "RSA 3072"

    def public_key_der(self) -> bytes:
        return self.request.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _key_kind(request: x509.CertificateSigningRequest) -> str:
    try:
        key = request.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise CsrRefused("the CSR's public key is of a kind this server does not read") from None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise CsrRefused(f"EC key on curve {key.curve.name}: only P-256 (secp256r1) is accepted")
        return "EC P-256"
    if isinstance(key, rsa.RSAPublicKey):
        if not RSA_BITS[0] <= key.key_size <= RSA_BITS[1]:
            raise CsrRefused(f"RSA key of {key.key_size} bits: only {RSA_BITS[0]} to {RSA_BITS[1]} bits are accepted")
        return f"RSA {key.key_size}"
    kind = type(key).__name__.removeprefix("_").replace("PublicKey", "") or "unknown"
    raise CsrRefused(f"{kind} key: only EC P-256 or RSA {RSA_BITS[0]}-{RSA_BITS[1]} keys are accepted "
                     "(browsers and ACME CAs do not take others for TLS)")


def _names(request: x509.CertificateSigningRequest) -> frozenset[str]:
    try:
        names = {str(a.value).lower() for a in request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)}
        try:
            san = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            san = None
    except ValueError as exc:
        raise CsrRefused(f"the CSR's subject or extensions are malformed ({exc})") from None
    if san is not None:
        names |= {n.lower() for n in san.get_values_for_type(x509.DNSName)}
        names |= {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return frozenset(names)


def parse_kit_csr(text: object) -> KitCsr:
    """Decode and check the ``csr`` field of a ``tls.csr`` event, or raise CsrRefused."""
    if not isinstance(text, str) or len(text) > MAX_CSR_CHARS:
        raise CsrRefused(f"the CSR is not a string of at most {MAX_CSR_CHARS} characters")
    try:
        der = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise CsrRefused("the CSR is not standard base64") from None
    if not der or len(der) > MAX_CSR_BYTES:
        raise CsrRefused("the CSR is empty or too large")
    try:
        request = x509.load_der_x509_csr(der)
    except ValueError:
        raise CsrRefused("the CSR is not a PKCS#10 request in DER") from None
    if request.public_bytes(serialization.Encoding.DER) != der:
        raise CsrRefused("the CSR is not canonical DER (extra or re-ordered bytes)")
    key = _key_kind(request)
    try:
        algorithm = request.signature_hash_algorithm
    except UnsupportedAlgorithm:
        raise CsrRefused("the CSR is signed with an algorithm this server does not accept") from None
    if not isinstance(algorithm, _HASHES):
        name = algorithm.name if algorithm else "none"
        raise CsrRefused(f"the CSR is signed with {name}: SHA-256 or stronger is required")
    try:
        signed = request.is_signature_valid
    except (ValueError, UnsupportedAlgorithm):
        signed = False
    if not signed:
        raise CsrRefused("the CSR's signature does not verify: it was not signed by the key it carries")
    return KitCsr(der, request, hashlib.sha256(der).hexdigest(), _names(request), key)
