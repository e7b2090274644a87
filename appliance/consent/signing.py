"""A person's consent key: Ed25519, derived from her age identity.

>>> from appliance import age
>>> anna = age.generate_identity()
>>> key = consent_key(anna)
>>> pub = public_key_hex(key)
>>> sig = key.sign(b"statement").hex()
>>> verify(pub, b"statement", sig), verify(pub, b"statement!", sig), verify(pub, b"statement", "00" * 64)
(True, False, False)
>>> public_key_hex(consent_key(anna)) == pub    # the same identity always gives the same key
True
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_INFO = b"lessonkit consent signing key v1"


def consent_key(identity: Any) -> Ed25519PrivateKey:
    """The Ed25519 key of ``identity`` (an ``age.X25519Identity``), for signing consent."""
    return Ed25519PrivateKey.from_private_bytes(identity.derive(_INFO))


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def verify(public_hex: str | None, message: bytes, signature_hex: str | None) -> bool:
    """True only for a well-formed signature of ``message`` by that public key."""
    if not public_hex or not signature_hex:
        return False
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        public.verify(bytes.fromhex(signature_hex), message)
        return True
    except (ValueError, InvalidSignature):
        return False
