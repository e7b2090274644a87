"""Passphrase encryption: the ``scrypt`` recipient stanza.

The wrapping key is ``scrypt(passphrase, "age-encryption.org/v1/scrypt" ||
salt, N=2**work_factor, r=8, p=1)``. Writing uses work factor 18 (about a
second, 256 MiB); reading refuses work factors above ``max_work_factor``
(default 22) so that a hostile file cannot make us compute for minutes or
allocate gigabytes.
"""

from __future__ import annotations

import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from appliance.age.errors import AgeError, HeaderError, WorkFactorTooHigh
from appliance.age.header import Stanza
from appliance.age.keys import FILE_KEY_SIZE
from appliance.age.primitives import b64decode, b64encode

DEFAULT_WORK_FACTOR = 18
DEFAULT_MAX_WORK_FACTOR = 22
_LABEL = b"age-encryption.org/v1/scrypt"
_ZERO_NONCE = bytes(12)
_WORK_FACTOR_RE = re.compile(r"[1-9][0-9]*")


def _passphrase_bytes(passphrase: str | bytes) -> bytes:
    data = passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)
    if not data:
        raise AgeError("passphrase is empty")
    return data


def _derive(passphrase: bytes, salt: bytes, work_factor: int) -> bytes:
    try:
        kdf = Scrypt(salt=_LABEL + salt, length=32, n=1 << work_factor, r=8, p=1)
        return kdf.derive(passphrase)
    except (MemoryError, ValueError) as exc:
        raise AgeError(f"cannot compute scrypt with work factor {work_factor}: {exc}") from None


class ScryptRecipient:
    """Encrypt to a passphrase. Must be the only recipient of a file."""

    def __init__(self, passphrase: str | bytes, work_factor: int = DEFAULT_WORK_FACTOR) -> None:
        if not 1 <= work_factor <= 30:
            raise AgeError(f"scrypt work factor must be between 1 and 30, not {work_factor}")
        self._passphrase = _passphrase_bytes(passphrase)
        self.work_factor = work_factor

    def __repr__(self) -> str:
        return f"ScryptRecipient(work_factor={self.work_factor})"

    def wrap(self, file_key: bytes) -> list[Stanza]:
        salt = os.urandom(16)
        key = _derive(self._passphrase, salt, self.work_factor)
        body = ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, file_key, None)
        return [Stanza("scrypt", [b64encode(salt), str(self.work_factor)], body)]


class ScryptIdentity:
    """Decrypt with a passphrase, accepting work factors up to ``max_work_factor``."""

    def __init__(self, passphrase: str | bytes, max_work_factor: int = DEFAULT_MAX_WORK_FACTOR) -> None:
        self._passphrase = _passphrase_bytes(passphrase)
        self.max_work_factor = max_work_factor

    def __repr__(self) -> str:
        return f"ScryptIdentity(max_work_factor={self.max_work_factor})"

    def unwrap(self, stanzas: list[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != "scrypt":
                continue
            if len(stanzas) != 1:
                raise HeaderError("an scrypt stanza must be the only stanza in the header")
            if len(stanza.args) != 2:
                raise HeaderError("invalid scrypt stanza: wrong number of arguments")
            try:
                salt = b64decode(stanza.args[0])
            except ValueError:
                raise HeaderError("invalid scrypt stanza: salt is not canonical base64") from None
            if len(salt) != 16:
                raise HeaderError("invalid scrypt stanza: salt is not 16 bytes")
            if not _WORK_FACTOR_RE.fullmatch(stanza.args[1]):
                raise HeaderError("invalid scrypt stanza: malformed work factor")
            work_factor = int(stanza.args[1])
            if work_factor > self.max_work_factor:
                raise WorkFactorTooHigh(
                    f"scrypt work factor {min(work_factor, 999)} is above the maximum "
                    f"of {self.max_work_factor}; refusing to spend that much time and memory"
                )
            if len(stanza.body) != FILE_KEY_SIZE + 16:
                raise HeaderError("invalid scrypt stanza: file key is not 16 bytes")
            key = _derive(self._passphrase, salt, work_factor)
            try:
                return ChaCha20Poly1305(key).decrypt(_ZERO_NONCE, stanza.body, None)
            except InvalidTag:
                return None
        return None
