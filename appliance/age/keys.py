"""X25519 recipients and identities (the ``age1…`` / ``AGE-SECRET-KEY-1…`` keys).

A recipient wraps a file key into a stanza; an identity unwraps it again.

>>> identity = generate_identity()
>>> str(identity).startswith("AGE-SECRET-KEY-1"), str(identity.recipient).startswith("age1")
(True, True)
>>> parse_identity(str(identity)).recipient == identity.recipient
True
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from appliance.age import bech32
from appliance.age.errors import HeaderError, KeyFormatError
from appliance.age.header import Stanza
from appliance.age.primitives import b64decode, b64encode, hkdf_sha256

RECIPIENT_HRP = "age"
IDENTITY_HRP = "age-secret-key-"
_LABEL = b"age-encryption.org/v1/X25519"
_ZERO_NONCE = bytes(12)
FILE_KEY_SIZE = 16


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes_raw()


class X25519Recipient:
    """A public key; ``str()`` is its ``age1…`` form."""

    def __init__(self, public: bytes) -> None:
        if len(public) != 32:
            raise KeyFormatError("X25519 public key must be 32 bytes")
        self.public_bytes = bytes(public)
        self._key = X25519PublicKey.from_public_bytes(self.public_bytes)

    def __str__(self) -> str:
        return bech32.encode(RECIPIENT_HRP, self.public_bytes)

    def __repr__(self) -> str:
        return f"X25519Recipient({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, X25519Recipient) and other.public_bytes == self.public_bytes

    def __hash__(self) -> int:
        return hash(self.public_bytes)

    def wrap(self, file_key: bytes) -> list[Stanza]:
        ephemeral = X25519PrivateKey.generate()
        share = _raw_public(ephemeral.public_key())
        shared = ephemeral.exchange(self._key)
        wrap_key = hkdf_sha256(shared, share + self.public_bytes, _LABEL)
        body = ChaCha20Poly1305(wrap_key).encrypt(_ZERO_NONCE, file_key, None)
        return [Stanza("X25519", [b64encode(share)], body)]


class X25519Identity:
    """A private key; ``str()`` is its ``AGE-SECRET-KEY-1…`` form (keep it secret)."""

    def __init__(self, private: bytes) -> None:
        if len(private) != 32:
            raise KeyFormatError("X25519 private key must be 32 bytes")
        self._private = X25519PrivateKey.from_private_bytes(bytes(private))
        self.recipient = X25519Recipient(_raw_public(self._private.public_key()))

    @classmethod
    def generate(cls) -> "X25519Identity":
        key = X25519PrivateKey.generate()
        return cls(key.private_bytes_raw())

    def __str__(self) -> str:
        raw = self._private.private_bytes_raw()
        return bech32.encode(IDENTITY_HRP, raw, upper=True)

    def __repr__(self) -> str:
        # Never show the secret in logs or tracebacks.
        return f"X25519Identity(recipient={str(self.recipient)!r})"

    def derive(self, info: bytes, length: int = 32) -> bytes:
        """A key for another purpose, bound to this identity (HKDF-SHA-256 over its secret).

        Only someone holding the identity can compute it; the secret itself
        never leaves this object. ``info`` names the purpose.

        >>> me = X25519Identity.generate()
        >>> me.derive(b"a") == me.derive(b"a") != me.derive(b"b")
        True
        """
        return hkdf_sha256(self._private.private_bytes_raw(), b"", info, length)

    def unwrap(self, stanzas: list[Stanza]) -> bytes | None:
        """Return the file key, ``None`` if no stanza is for us.

        A malformed X25519 stanza is a :class:`HeaderError`, even if another
        stanza would have matched: the file is invalid.
        """
        for stanza in stanzas:
            if stanza.type != "X25519":
                continue
            if len(stanza.args) != 1:
                raise HeaderError("invalid X25519 stanza: wrong number of arguments")
            try:
                share = b64decode(stanza.args[0])
            except ValueError:
                raise HeaderError("invalid X25519 stanza: share is not canonical base64") from None
            if len(share) != 32:
                raise HeaderError("invalid X25519 stanza: share is not 32 bytes")
            if len(stanza.body) != FILE_KEY_SIZE + 16:
                raise HeaderError("invalid X25519 stanza: file key is not 16 bytes")
            try:
                shared = self._private.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:
                raise HeaderError("invalid X25519 stanza: share is a low-order point") from None
            wrap_key = hkdf_sha256(shared, share + self.recipient.public_bytes, _LABEL)
            try:
                return ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, stanza.body, None)
            except InvalidTag:
                continue
        return None


def generate_identity() -> X25519Identity:
    """A new random X25519 identity."""
    return X25519Identity.generate()


def parse_recipient(text: str) -> X25519Recipient:
    """Parse an ``age1…`` recipient; raises :class:`KeyFormatError`."""
    text = text.strip()
    if not text.lower().startswith("age1"):
        if text.startswith(("ssh-", "ecdsa-")):
            raise KeyFormatError("SSH recipients are not supported; use an age1… key")
        raise KeyFormatError(f"unknown recipient type: {_preview(text)}")
    try:
        hrp, data = bech32.decode(text)
    except KeyFormatError as exc:
        raise KeyFormatError(f"malformed recipient {_preview(text)}: {exc}") from None
    if text != text.lower():
        raise KeyFormatError(f"malformed recipient {_preview(text)}: must be lowercase")
    if hrp != RECIPIENT_HRP:
        raise KeyFormatError(f"unknown recipient type: {_preview(text)}")
    if len(data) != 32:
        raise KeyFormatError(f"malformed recipient {_preview(text)}: wrong key length")
    return X25519Recipient(data)


def parse_identity(text: str) -> X25519Identity:
    """Parse an ``AGE-SECRET-KEY-1…`` identity; raises :class:`KeyFormatError`.

    The message never contains the key itself.
    """
    text = text.strip()
    if not text.startswith("AGE-SECRET-KEY-1"):
        raise KeyFormatError("not an age identity (expected AGE-SECRET-KEY-1…)")
    try:
        hrp, data = bech32.decode(text)
    except KeyFormatError as exc:
        raise KeyFormatError(f"malformed identity: {exc}") from None
    if hrp != IDENTITY_HRP or text != text.upper():
        raise KeyFormatError("malformed identity: must be AGE-SECRET-KEY-1… in uppercase")
    if len(data) != 32:
        raise KeyFormatError("malformed identity: wrong key length")
    return X25519Identity(data)


def _preview(text: str) -> str:
    return repr(text if len(text) <= 24 else text[:20] + "…")
