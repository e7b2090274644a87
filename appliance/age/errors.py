"""Errors raised by :mod:`appliance.age`.

They follow the failure classes of the age v1 specification (C2SP ``age.md``),
so a caller can tell *why* a file did not open:

* :class:`NoIdentityMatch` – none of the given identities can open the file
  (:class:`IncorrectPassphrase` for the passphrase case);
* :class:`HeaderError` – the header is malformed or uses a stanza wrongly
  (:class:`UnsupportedVersion`, :class:`WorkFactorTooHigh` are kinds of it);
* :class:`HMACError` – the header was altered (its MAC does not verify);
* :class:`PayloadError` – the encrypted payload is corrupt, cut off
  (:class:`TruncatedError`) or followed by garbage.

:class:`KeyFormatError` is for keys and key files that cannot be parsed.
Every class is an :class:`AgeError`, which is a
:class:`~appliance.errors.KitError`: the message is one line meant for people.
"""

from __future__ import annotations

from appliance.errors import KitError


class AgeError(KitError):
    """Base class of everything :mod:`appliance.age` raises on bad input."""


class KeyFormatError(AgeError):
    """A recipient, identity or key file is not in a format we accept."""


class NoIdentityMatch(AgeError):
    """None of the identities can unwrap the file key ("no match")."""


class IncorrectPassphrase(NoIdentityMatch):
    """The passphrase does not open the passphrase-encrypted file."""


class HeaderError(AgeError):
    """The header is malformed or not canonical ("header failure")."""


class UnsupportedVersion(HeaderError):
    """The file is not an age v1 file (or a newer version we do not know)."""


class WorkFactorTooHigh(HeaderError):
    """An scrypt stanza asks for more work than the configured maximum."""


class HMACError(AgeError):
    """The header MAC does not verify: the header was modified ("HMAC failure")."""


class PayloadError(AgeError):
    """The payload does not authenticate or is badly framed ("payload failure")."""


class TruncatedError(PayloadError):
    """The payload stops before its final chunk (e.g. power lost while writing)."""
