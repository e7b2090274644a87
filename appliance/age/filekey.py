"""Sealing and opening the header: from recipients to a file key and back.

:func:`seal_header` draws a random file key, wraps it for every recipient
and appends the header MAC. :func:`open_header` parses a header, finds the file
key with the given identities and verifies the MAC, raising the spec's error
classes (:class:`NoIdentityMatch`, :class:`HeaderError`, :class:`HMACError`).
"""

from __future__ import annotations

import hmac
import os
from typing import BinaryIO, Iterable, Protocol

from appliance.age.errors import AgeError, HMACError, HeaderError, IncorrectPassphrase, NoIdentityMatch
from appliance.age.header import Header, Stanza, encode_header_without_mac, parse_header
from appliance.age.keys import FILE_KEY_SIZE
from appliance.age.primitives import b64encode, hkdf_sha256, hmac_sha256
from appliance.age.scrypt import ScryptIdentity, ScryptRecipient


class Recipient(Protocol):
    def wrap(self, file_key: bytes) -> list[Stanza]: ...


class Identity(Protocol):
    def unwrap(self, stanzas: list[Stanza]) -> bytes | None: ...


class OpenedHeader:
    """A header whose file key was found and whose MAC verified.

    ``rest`` holds the bytes read past the header (start of the payload).
    """

    __slots__ = ("header", "file_key", "rest")

    def __init__(self, header: Header, file_key: bytes, rest: bytes) -> None:
        self.header = header
        self.file_key = file_key
        self.rest = rest

    def __repr__(self) -> str:
        return f"OpenedHeader(header={self.header!r})"  # never the file key


def _mac(file_key: bytes, mac_input: bytes) -> bytes:
    return hmac_sha256(hkdf_sha256(file_key, b"", b"header"), mac_input)


def seal_header(recipients: Iterable[Recipient]) -> tuple[bytes, bytes]:
    """Return ``(file_key, header_bytes)`` for ``recipients``."""
    recipients = list(recipients)
    if not recipients:
        raise AgeError("no recipients given")
    if any(isinstance(r, ScryptRecipient) for r in recipients) and len(recipients) > 1:
        raise AgeError("a passphrase cannot be combined with other recipients")
    file_key = os.urandom(FILE_KEY_SIZE)
    stanzas = [s for r in recipients for s in r.wrap(file_key)]
    mac_input = encode_header_without_mac(stanzas)
    return file_key, mac_input + b" " + b64encode(_mac(file_key, mac_input)).encode("ascii") + b"\n"


def open_header(stream: BinaryIO, identities: Iterable[Identity]) -> OpenedHeader:
    """Parse the header at the current position of ``stream`` and unlock it."""
    identities = list(identities)
    header, rest = parse_header(stream)
    if not identities:
        raise AgeError("no identities given")
    stanzas = header.stanzas
    if any(s.type == "scrypt" for s in stanzas) and len(stanzas) != 1:
        raise HeaderError("an scrypt stanza must be the only stanza in the header")
    file_key = None
    for identity in identities:
        file_key = identity.unwrap(stanzas)
        if file_key is not None:
            break
    if file_key is None:
        if stanzas[0].type == "scrypt" and any(isinstance(i, ScryptIdentity) for i in identities):
            raise IncorrectPassphrase("incorrect passphrase")
        if stanzas[0].type == "scrypt":
            raise NoIdentityMatch("file is encrypted with a passphrase; no identity matched")
        raise NoIdentityMatch("no identity matched any of the recipients")
    if len(file_key) != FILE_KEY_SIZE:
        raise HeaderError("file key is not 16 bytes")
    if not hmac.compare_digest(_mac(file_key, header.mac_input), header.mac):
        raise HMACError("header MAC does not verify: the header was modified")
    return OpenedHeader(header, file_key, rest)
