"""Small cryptographic building blocks shared by the age modules.

HKDF-SHA256 is written out with :mod:`hmac` (two HMAC calls for a 32-byte
output) because it runs once per file and per stanza; the strict base64 of the
age header (standard alphabet, no padding, canonical) lives here too.

>>> b64encode(b"\\x00\\x01")
'AAE'
>>> b64decode("AAE")
b'\\x00\\x01'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_B64_RE = re.compile(r"[A-Za-z0-9+/]*")


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF (RFC 5869) with SHA-256."""
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def b64encode(data: bytes) -> str:
    """Base64 without padding, as in the age header."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def b64decode(text: str) -> bytes:
    """Strict, canonical, unpadded base64; raises ``ValueError`` otherwise."""
    if not _B64_RE.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("invalid base64")
    data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    if b64encode(data) != text:
        raise ValueError("non-canonical base64")
    return data
