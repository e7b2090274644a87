"""age v1 (C2SP ``age.md``) on pyca ``cryptography``.

Keys and key files, a streaming encryptor, sequential and random-access
decryptors, passphrase-wrapped identities and salvage of cut-off files. See
``docs/architecture.md`` for the contract and :mod:`appliance.age.errors` for
the error classes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Names are imported on first use (PEP 562), so that a caller needing one
# part (``kit age encrypt``) does not pay for loading all of them.
_WHERE = {
    "AgeError": "errors",
    "HeaderError": "errors",
    "HMACError": "errors",
    "IncorrectPassphrase": "errors",
    "KeyFormatError": "errors",
    "NoIdentityMatch": "errors",
    "PayloadError": "errors",
    "TruncatedError": "errors",
    "UnsupportedVersion": "errors",
    "WorkFactorTooHigh": "errors",
    "read_identities": "keyfiles",
    "read_recipients": "keyfiles",
    "X25519Identity": "keys",
    "X25519Recipient": "keys",
    "generate_identity": "keys",
    "parse_identity": "keys",
    "parse_recipient": "keys",
    "EncryptFailed": "parallel_encrypt",
    "encrypt_file": "parallel_encrypt",
    "DecryptFailed": "parallel_decrypt",
    "decrypt_file": "parallel_decrypt",
    "RandomAccessReader": "random_access",
    "open_random_access": "random_access",
    "Decryptor": "reader",
    "SalvageReport": "salvaging",
    "salvage": "salvaging",
    "ScryptIdentity": "scrypt",
    "ScryptRecipient": "scrypt",
    "identity_file_text": "wrapped",
    "unwrap_identities": "wrapped",
    "unwrap_identity": "wrapped",
    "wrap_identities": "wrapped",
    "wrap_identity": "wrapped",
    "Encryptor": "writer",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


if TYPE_CHECKING:
    from appliance.age.errors import (
        AgeError,
        HeaderError,
        HMACError,
        IncorrectPassphrase,
        KeyFormatError,
        NoIdentityMatch,
        PayloadError,
        TruncatedError,
        UnsupportedVersion,
        WorkFactorTooHigh,
    )
    from appliance.age.keyfiles import read_identities, read_recipients
    from appliance.age.keys import X25519Identity, X25519Recipient, generate_identity, parse_identity, parse_recipient
    from appliance.age.parallel_decrypt import DecryptFailed, decrypt_file
    from appliance.age.parallel_encrypt import EncryptFailed, encrypt_file
    from appliance.age.random_access import RandomAccessReader, open_random_access
    from appliance.age.reader import Decryptor
    from appliance.age.salvaging import SalvageReport, salvage
    from appliance.age.scrypt import ScryptIdentity, ScryptRecipient
    from appliance.age.wrapped import (
        identity_file_text,
        unwrap_identities,
        unwrap_identity,
        wrap_identities,
        wrap_identity,
    )
    from appliance.age.writer import Encryptor

__all__ = [
    "AgeError",
    "DecryptFailed",
    "Decryptor",
    "EncryptFailed",
    "Encryptor",
    "HMACError",
    "HeaderError",
    "IncorrectPassphrase",
    "KeyFormatError",
    "NoIdentityMatch",
    "PayloadError",
    "RandomAccessReader",
    "SalvageReport",
    "ScryptIdentity",
    "ScryptRecipient",
    "TruncatedError",
    "UnsupportedVersion",
    "WorkFactorTooHigh",
    "X25519Identity",
    "X25519Recipient",
    "decrypt_file",
    "encrypt_file",
    "generate_identity",
    "identity_file_text",
    "open_random_access",
    "parse_identity",
    "parse_recipient",
    "read_identities",
    "read_recipients",
    "salvage",
    "unwrap_identities",
    "unwrap_identity",
    "wrap_identities",
    "wrap_identity",
]
