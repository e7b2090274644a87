"""age v1 (C2SP ``age.md``) on pyca ``cryptography``.

Keys and key files, a streaming encryptor, sequential and random-access
decryptors, passphrase-wrapped identities and salvage of cut-off files. See
``docs/architecture.md`` for the contract and :mod:`appliance.age.errors` for
the error classes.
"""

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
from appliance.age.random_access import RandomAccessReader, open_random_access
from appliance.age.reader import Decryptor
from appliance.age.salvage import SalvageReport, salvage
from appliance.age.scrypt import ScryptIdentity, ScryptRecipient
from appliance.age.wrapped import identity_file_text, unwrap_identity, wrap_identity
from appliance.age.writer import Encryptor

__all__ = [
    "AgeError",
    "Decryptor",
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
    "generate_identity",
    "identity_file_text",
    "open_random_access",
    "parse_identity",
    "parse_recipient",
    "read_identities",
    "read_recipients",
    "salvage",
    "unwrap_identity",
    "wrap_identity",
]
