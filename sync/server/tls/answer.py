"""The answer to a kit's CSR, as ``kits/<kit>/roster/tls.json`` holds it.

::

    {"version": 1, "issuer": "acme" | "school-ca", "name": "<kit-id>.<domain>",
     "chain_pem": "<leaf, then intermediates>", "not_after": "2027-01-31T12:00:00Z",
     "csr_sha256": "<hex SHA-256 of the CSR's DER>"}

Before an answer is published it is checked against the CSR it answers
(:func:`check_answer`): whatever an issuer returns, a kit only ever receives a
certificate for its own key and exactly its own name.

>>> iso_utc(dt.datetime(2027, 1, 31, 12, 0, tzinfo=dt.timezone.utc))
'2027-01-31T12:00:00Z'
>>> parse_utc('2027-01-31T12:00:00Z').year
2027
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .csr import KitCsr

FORMAT_VERSION = 1
ISSUERS = ("acme", "school-ca")


def iso_utc(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Issued:
    issuer: str
    name: str
    chain_pem: str

    @property
    def chain(self) -> list[x509.Certificate]:
        return x509.load_pem_x509_certificates(self.chain_pem.encode())

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def not_after(self) -> dt.datetime:
        return self.leaf.not_valid_after_utc

    def record(self, kit_csr: KitCsr) -> dict:
        return {"version": FORMAT_VERSION, "issuer": self.issuer, "name": self.name, "chain_pem": self.chain_pem,
                "not_after": iso_utc(self.not_after), "csr_sha256": kit_csr.sha256}


class AnswerMismatch(ValueError):
    """An issuer returned something other than what the kit may receive."""


def check_answer(issued: Issued, kit_csr: KitCsr, now: dt.datetime) -> None:
    """Refuse a certificate that is not for this CSR's key and exactly ``issued.name``."""
    try:
        leaf = issued.leaf
    except ValueError as exc:
        raise AnswerMismatch(f"the chain is not PEM certificates ({exc})") from None
    spki = leaf.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    if spki != kit_csr.public_key_der():
        raise AnswerMismatch("the certificate is for another key than the CSR's")
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise AnswerMismatch("the certificate has no subjectAltName") from None
    names = [str(getattr(n, "value", n)) for n in san]
    if [n.lower() for n in names] != [issued.name]:
        raise AnswerMismatch(f"the certificate names {names}, not exactly {issued.name!r}")
    if not leaf.not_valid_before_utc - dt.timedelta(days=1) <= now < leaf.not_valid_after_utc:
        raise AnswerMismatch(f"the certificate is not valid now (valid until {iso_utc(leaf.not_valid_after_utc)})")
