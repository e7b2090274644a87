"""X.509 pieces the kit needs: a key, a self-signed certificate, a CSR, and what a certificate says.

>>> key = new_key()
>>> pem = self_signed(key, ["lk-ab12cd34.local", "localhost"], ["10.42.0.1"])
>>> info = describe(pem)
>>> info.names, info.ips, info.self_signed
(['lk-ab12cd34.local', 'localhost'], ['10.42.0.1'], True)
>>> len(info.fingerprint) == 95 and info.fingerprint[2] == ":"
True
>>> matches_key(pem, key), matches_key(self_signed(new_key(), ["x"], []), key)
(True, False)
>>> csr = csr_der(key, "lk-ab12cd34")
>>> x509.load_der_x509_csr(csr).is_signature_valid
True
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SELF_SIGNED_DAYS = 397  # the longest a browser accepts for a server certificate


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the kit's TLS key is not an EC key")
    return key


def _san(names: list[str], ips: list[str]) -> x509.SubjectAlternativeName:
    return x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips])


def self_signed(key: ec.EllipticCurvePrivateKey, names: list[str], ips: list[str], *,
                now: dt.datetime | None = None, days: int = SELF_SIGNED_DAYS) -> bytes:
    """A self-signed server certificate (PEM) for ``names`` and ``ips``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lesson kit")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(_san(names, ips), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def csr_der(key: ec.EllipticCurvePrivateKey, kit_id: str, name: str | None = None) -> bytes:
    """A CSR for the kit's key, for ``name`` once the school server has told the kit its name.

    The server decides the name it certifies; but an ACME CA signs a CSR only
    for exactly the names of the order, so the kit asks for the name it was
    told. Without one the subject only says which kit this is.
    """
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name or kit_id)]))
    if name:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def load_chain(pem: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER, as browsers show it: ``AB:CD:…``."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def matches_key(chain_pem: bytes, key: ec.EllipticCurvePrivateKey) -> bool:
    leaf = load_chain(chain_pem)[0]
    ours = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    theirs = leaf.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return ours == theirs


@dataclass(frozen=True)
class CertInfo:
    names: list[str]
    ips: list[str]
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint: str
    issuer: str
    self_signed: bool

    def valid_at(self, now: dt.datetime) -> bool:
        return self.not_before <= now < self.not_after

    def days_left(self, now: dt.datetime) -> int:
        return (self.not_after - now).days


def describe(chain_pem: bytes) -> CertInfo:
    leaf = load_chain(chain_pem)[0]
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName)
        ips = [str(i) for i in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names, ips = [], []
    return CertInfo(
        names=list(names), ips=ips,
        not_before=leaf.not_valid_before_utc, not_after=leaf.not_valid_after_utc,
        fingerprint=fingerprint(leaf), issuer=leaf.issuer.rfc4514_string(),
        self_signed=leaf.issuer == leaf.subject,
    )
