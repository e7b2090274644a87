"""The school's own certificate authority, for schools without a public domain setup.

``kit-server ca init --domain kits.school.example`` makes a root that can
vouch for names under the kits domain and nothing else, so that a teacher's
iPad trusting it lets nobody intercept any other site:

* NameConstraints, critical: permitted DNS subtree = the kits domain (and its
  subdomains); permitted e-mail and URI subtrees that match nothing
  (``.invalid``), because a name type without a permitted subtree would be
  unconstrained; excluded all IPv4 and IPv6 addresses.
* ExtendedKeyUsage serverAuth on the root as well: verifiers that apply EKU
  down the chain (Apple, Mozilla, OpenSSL, ``cryptography``) refuse its
  certificates for e-mail or code signing.
* BasicConstraints CA, path length 0: it signs kit certificates only, never
  another CA.

The root key is EC P-384, stored 0600 in ``ROOT/tls/school-ca/`` and never
published; the root is valid for 20 years by default, so kits keep getting
certificates with no network at all. Kit certificates are valid for 397 days
(what Apple accepts for TLS servers) and renewed from 30 days before expiry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from appliance.errors import KitError

from ..layout import Layout
from . import mobileconfig, store
from .answer import Issued
from .csr import KitCsr
from .names import check_domain

ROOT_DAYS = 20 * 365
LEAF_DAYS = 397
# Browsers check the time, the kit's clock does not matter; an hour covers
# a school server whose clock runs a little ahead of the tablets'.
BACKDATE = dt.timedelta(hours=1)


def _dir(layout: Layout) -> Path:
    return store.tls_dir(layout) / "school-ca"


def name_constraints(domain: str) -> x509.NameConstraints:
    """
    >>> nc = name_constraints("kits.school.example")
    >>> [n.value for n in nc.permitted_subtrees]
    ['kits.school.example', '.invalid', '.invalid']
    >>> [str(n.value) for n in nc.excluded_subtrees]
    ['0.0.0.0/0', '::/0']
    """
    return x509.NameConstraints(
        permitted_subtrees=[x509.DNSName(domain), x509.RFC822Name(".invalid"),
                            x509.UniformResourceIdentifier(".invalid")],
        excluded_subtrees=[x509.IPAddress(ipaddress.ip_network("0.0.0.0/0")),
                           x509.IPAddress(ipaddress.ip_network("::/0"))])


@dataclass(frozen=True)
class SchoolCA:
    domain: str
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey = field(repr=False)
    kind = "school-ca"

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.cert.public_bytes(serialization.Encoding.DER)).hexdigest()

    def sign(self, kit_csr: KitCsr, name: str, now: dt.datetime | None = None) -> Issued:
        """A TLS server certificate for ``name`` and the CSR's key; nothing else of the CSR is used."""
        now = now or dt.datetime.now(dt.timezone.utc)
        public_key = kit_csr.request.public_key()
        not_after = min(now + dt.timedelta(days=LEAF_DAYS), self.cert.not_valid_after_utc)
        usage = dict.fromkeys(("content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
                               "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"), False)
        # RSA key exchange (TLS 1.2 without ECDHE) needs keyEncipherment.
        usage["key_encipherment"] = isinstance(public_key, rsa.RSAPublicKey)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(self.cert.subject)
                .public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - BACKDATE)
                .not_valid_after(not_after)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, **usage), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                               critical=False)
                .sign(self.key, hashes.SHA384()))
        return Issued("school-ca", name, cert.public_bytes(serialization.Encoding.PEM).decode())

    def issue(self, kit_csr: KitCsr, name: str) -> Issued:
        return self.sign(kit_csr, name)

    def export(self, out: Path) -> list[Path]:
        """The root as PEM, DER and an Apple configuration profile, in ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        der = self.cert.public_bytes(serialization.Encoding.DER)
        display = self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        files = {
            "school-ca.pem": self.cert.public_bytes(serialization.Encoding.PEM),
            "school-ca.der": der,
            "school-ca.mobileconfig": mobileconfig.root_profile(der, str(display), self.domain),
        }
        written = []
        for name, data in files.items():
            store.write_file(out / name, data, mode=0o644)
            written.append(out / name)
        return written


def init(layout: Layout, domain: str, organisation: str | None = None, days: int = ROOT_DAYS,
         now: dt.datetime | None = None) -> SchoolCA:
    layout.require()
    domain = check_domain(domain)
    if not 365 <= days <= 40 * 365:
        raise KitError("the school CA's lifetime is 365 to 14600 days")
    directory = _dir(layout)
    if (directory / "ca.pem").exists():
        raise KitError(f"a school CA already exists in {directory}: the iPads trust that one; "
                       "move the directory away first if you really mean to replace it everywhere")
    directory.mkdir(mode=0o700, exist_ok=True)
    now = now or dt.datetime.now(dt.timezone.utc)
    key = ec.generate_private_key(ec.SECP384R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, f"Lesson kit CA for {domain}")]
    if organisation:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64]))
    subject = x509.Name(attrs)
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(name_constraints(domain), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA384()))
    # The key first: a ca.pem without its key would look like a working CA.
    store.write_file(directory / "ca-key.pem", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    store.write_json(directory / "ca.json", {"version": 1, "domain": domain}, mode=0o644)
    store.write_file(directory / "ca.pem", cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return SchoolCA(domain, cert, key)


def load(layout: Layout) -> SchoolCA | None:
    """The school CA, or None when ``ca init`` was never run."""
    directory = layout.root / "tls" / "school-ca"
    if not (directory / "ca.pem").exists():
        return None
    try:
        cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
        key = serialization.load_pem_private_key((directory / "ca-key.pem").read_bytes(), password=None)
        domain = check_domain(store.read_json(directory / "ca.json")["domain"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KitError(f"the school CA in {directory} is unreadable ({type(exc).__name__}); "
                       "restore it from the backup") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise KitError(f"the school CA key in {directory} does not belong to its certificate")
    return SchoolCA(domain, cert, key)
