"""A test CA that browsers and clients trust the way a school's iPads would: installed, not ignored.

The kit side is the real one: a :class:`~appliance.tls.TlsStore` makes its
key and CSR, the test CA signs the CSR as the school server would, the store
installs the answer, and :class:`~appliance.tls.context.ServingContexts`
serves it. Chromium gets the CA in an NSS database of its own (``HOME``
points at it) and resolves the kit's name to loopback, as the hotspot's DNS
does for a real kit; certificate errors are never ignored.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from appliance.tls import TlsStore
from appliance.tls.context import ServingContexts

KITS_DOMAIN = "kits.test"
KIT_ID = "lk-test0001"
KIT_NAME = f"{KIT_ID}.{KITS_DOMAIN}"


@dataclass
class TestCA:
    __test__ = False
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, domain: str = KITS_DOMAIN) -> "TestCA":
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lesson kit test CA")])
        now = dt.datetime.now(dt.timezone.utc)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.NameConstraints(permitted_subtrees=[x509.DNSName(domain)],
                                                excluded_subtrees=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, csr_der: bytes, name: str, *, days: int = 20, not_before: dt.datetime | None = None) -> str:
        csr = x509.load_der_x509_csr(csr_der)
        assert csr.is_signature_valid
        start = not_before or dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.cert.subject).public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return (leaf.public_bytes(serialization.Encoding.PEM) + self.pem).decode()


def nss_home(ca_pem: bytes, parent: Path | None = None, trust: str = "C,,") -> Path:
    """A HOME whose ``.pki/nssdb`` trusts ``ca_pem`` for TLS servers (what Chromium on Linux reads).

    ``trust="C,,"``: a CA that vouches for servers; ``"P,,"``: one trusted
    server certificate itself (a kit's self-signed one, accepted as a teacher
    does after comparing the fingerprint).
    """
    home = Path(tempfile.mkdtemp(prefix="lkit-nss-", dir=parent))
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True)
    ca_file = home / "ca.pem"
    ca_file.write_bytes(ca_pem)
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{db}", "-n", "lessonkit-test-ca", "-t", trust, "-i", str(ca_file)],
                   check=True, capture_output=True)
    return home


def kit_contexts(directory: Path, ca: TestCA | None, kit_id: str = KIT_ID) -> ServingContexts:
    """The kit's real TLS store and contexts, with the CSR answered by ``ca`` (None: self-signed only)."""
    store = TlsStore(directory, kit_id)
    store.ensure()
    if ca is not None:
        store.install({"issuer": "school-ca", "chain_pem": ca.sign(store.csr(), f"{kit_id}.{KITS_DOMAIN}")})
    return ServingContexts(store)
