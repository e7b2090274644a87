"""The per-kit secrets first boot generates: kit id, hotspot name and passphrase, SSH keys.

Everything comes from the kit's own CSPRNG at first boot, never from the image,
so two kits flashed from one image share nothing.

>>> kit_id = new_kit_id()
>>> len(kit_id), kit_id.startswith("lk-")
(11, True)
>>> hotspot_ssid(kit_id) == "Lesson kit " + kit_id[3:].upper()
True
>>> p = new_hotspot_passphrase()
>>> len(p), p.count("-")
(19, 3)
"""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

# Lower-case letters and digits without the ones people misread on a label
# (0/o, 1/l/i): a teacher types the passphrase on a phone from the sticker.
_READABLE = "23456789abcdefghjkmnpqrstuvwxyz"


def _random_text(length: int) -> str:
    return "".join(secrets.choice(_READABLE) for _ in range(length))


def new_kit_id() -> str:
    """``lk-`` and 8 readable characters (~40 bits): unique across any school's kits."""
    return "lk-" + _random_text(8)


def hotspot_ssid(kit_id: str) -> str:
    """The Wi-Fi name printed on the kit's label; readable, derived from the kit id."""
    return "Lesson kit " + kit_id.removeprefix("lk-").upper()


def new_hotspot_passphrase() -> str:
    """16 readable characters in groups of four (~79 bits), within WPA2's 8..63."""
    raw = _random_text(16)
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _openssh_pair(key, comment: str) -> tuple[bytes, bytes]:
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, public + b" " + comment.encode("ascii") + b"\n"


def new_ed25519_pair(comment: str) -> tuple[bytes, bytes]:
    """An OpenSSH-format ed25519 key pair (private PEM, public line)."""
    return _openssh_pair(ed25519.Ed25519PrivateKey.generate(), comment)


def new_ecdsa_pair(comment: str) -> tuple[bytes, bytes]:
    """An OpenSSH-format ECDSA P-256 key pair, for SSH clients without ed25519."""
    return _openssh_pair(ec.generate_private_key(ec.SECP256R1()), comment)
