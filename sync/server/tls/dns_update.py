"""TXT records for ACME DNS-01, changed on the school's DNS server by RFC 2136 + TSIG.

The server holds one TSIG key that may update the kits zone (best: only TXT
records under it, e.g. Knot's ``acl: update-type: [TXT]``). Records are added
just before a challenge is answered and removed right after validation;
a record is only trusted to be there once the server itself serves it.

>>> parse_secret('key "lessonkit-acme" { algorithm hmac-sha256; secret "MDEyMzQ1Njc4OWFiY2RlZg=="; };')
'MDEyMzQ1Njc4OWFiY2RlZg=='
>>> parse_secret("key:\\n  - id: lessonkit-acme\\n    algorithm: hmac-sha256\\n    secret: MDEyMzQ1Njc4OWFiY2RlZg==\\n")
'MDEyMzQ1Njc4OWFiY2RlZg=='
>>> parse_secret("MDEyMzQ1Njc4OWFiY2RlZg==\\n")
'MDEyMzQ1Njc4OWFiY2RlZg=='
>>> parse_secret("password123!")
Traceback (most recent call last):
...
appliance.errors.KitError: the TSIG secret must be base64 (alone, or as in a BIND/Knot key file)
>>> parse_server("192.0.2.53:5353"), parse_server("ns1.school.example"), parse_server("[2001:db8::53]:53")
(('192.0.2.53', 5353), ('ns1.school.example', 53), ('2001:db8::53', 53))
"""

from __future__ import annotations

import base64
import binascii
import re
import socket
import time
from dataclasses import dataclass, field

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update

from appliance.errors import KitError

ALGORITHMS = {
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}
# ACME key authorisation digests are base64url: nothing that could break out
# of a TXT string.
_TXT_VALUE_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_SECRET_RE = re.compile(r"""(?:^|[\s;{])secret(?::\s*|\s+)"?([A-Za-z0-9+/=]+)"?""")


class DnsUpdateError(KitError):
    pass


def parse_secret(text: str) -> str:
    """The base64 secret from a secret file: alone, or a BIND or Knot key definition."""
    match = _SECRET_RE.search(text)
    secret = match.group(1) if match else text.strip()
    try:
        if len(base64.b64decode(secret, validate=True)) < 16:
            raise ValueError
    except (binascii.Error, ValueError):
        raise KitError("the TSIG secret must be base64 (alone, or as in a BIND/Knot key file)") from None
    return secret


def parse_server(text: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` → (host, port)."""
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?|([^:\s]+)(?::(\d{1,5}))?|([0-9A-Fa-f:]+)", text.strip())
    if not match:
        raise KitError(f"DNS server {text!r} is not host, host:port or [IPv6]:port")
    host = match.group(1) or match.group(3) or match.group(5)
    port = int(match.group(2) or match.group(4) or 53)
    if not 0 < port < 65536:
        raise KitError(f"DNS server port {port} is out of range")
    return host, port


@dataclass(frozen=True)
class DnsUpdater:
    server: str
    port: int
    zone: str
    key_name: str
    secret: str = field(repr=False)
    algorithm: str = "hmac-sha256"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise KitError(f"TSIG algorithm {self.algorithm!r} is not one of {', '.join(ALGORITHMS)}")

    @property
    def where(self) -> str:
        return f"{self.server}:{self.port}"

    def _address(self) -> str:
        try:
            return socket.getaddrinfo(self.server, self.port, type=socket.SOCK_STREAM)[0][4][0]
        except OSError as exc:
            raise DnsUpdateError(f"cannot resolve the DNS server {self.server!r}: {exc.strerror or exc}") from None

    def _exchange(self, message: dns.message.Message) -> dns.message.Message:
        try:
            return dns.query.tcp(message, self._address(), port=self.port, timeout=self.timeout)
        except dns.tsig.PeerError:
            raise DnsUpdateError(
                f"the DNS server {self.where} refused TSIG key {self.key_name!r} (wrong name, secret or "
                "algorithm, or the key may not change this record)") from None
        except (dns.exception.Timeout, OSError) as exc:
            raise DnsUpdateError(f"the DNS server {self.where} did not answer ({type(exc).__name__})") from None
        except dns.exception.DNSException as exc:
            raise DnsUpdateError(f"the DNS server {self.where} sent a bad answer ({exc})") from None

    def _update(self, name: str, change: str, value: str, ttl: int) -> None:
        if not _TXT_VALUE_RE.match(value):
            raise DnsUpdateError("refusing a TXT value that is not base64url")
        owner = dns.name.from_text(name)
        zone = dns.name.from_text(self.zone)
        if not owner.is_subdomain(zone):
            raise DnsUpdateError(f"{name} is not inside the zone {self.zone}")
        keyring = dns.tsigkeyring.from_text({self.key_name: self.secret})
        message = dns.update.UpdateMessage(zone, keyring=keyring, keyname=dns.name.from_text(self.key_name),
                                           keyalgorithm=ALGORITHMS[self.algorithm])
        if change == "add":
            message.add(owner, ttl, dns.rdatatype.TXT, f'"{value}"')
        else:
            message.delete(owner, dns.rdatatype.TXT, f'"{value}"')
        response = self._exchange(message)
        if response.rcode() != dns.rcode.NOERROR:
            raise DnsUpdateError(f"the DNS server {self.where} refused to {change} TXT {name}: "
                                 f"{dns.rcode.to_text(response.rcode())}")

    def add_txt(self, name: str, value: str, ttl: int = 60) -> None:
        self._update(name, "add", value, ttl)

    def delete_txt(self, name: str, value: str) -> None:
        self._update(name, "delete", value, 0)

    def txt_values(self, name: str) -> set[str]:
        """The TXT strings the update server itself serves for ``name`` now."""
        response = self._exchange(dns.message.make_query(name, dns.rdatatype.TXT))
        values = set()
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                for rdata in rrset:
                    values.add(b"".join(rdata.strings).decode("ascii", "replace"))
        return values

    def wait_served(self, name: str, value: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while value not in self.txt_values(name):
            if time.monotonic() > deadline:
                raise DnsUpdateError(f"the DNS server {self.where} accepted TXT {name} but does not serve it "
                                     f"after {timeout:.0f} s")
            time.sleep(0.2)
