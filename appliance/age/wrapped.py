"""Passphrase-wrapped identities, exactly as ``age -p`` encrypts a key file.

The wrapped form is a binary age file whose plaintext is an identity file
(as ``age-keygen`` writes it), encrypted to a passphrase; so ``age -d`` asks
for the passphrase and prints the key, and ``age -d -i wrapped.age`` uses it.
"""

from __future__ import annotations

import datetime
import io

from appliance.age.errors import AgeError, KeyFormatError
from appliance.age.keyfiles import read_identities
from appliance.age.keys import X25519Identity
from appliance.age.reader import Decryptor
from appliance.age.scrypt import DEFAULT_MAX_WORK_FACTOR, DEFAULT_WORK_FACTOR, ScryptIdentity, ScryptRecipient
from appliance.age.writer import Encryptor

_MAX_IDENTITY_FILE = 64 * 1024


def identity_file_text(identity: X25519Identity, created: datetime.datetime | None = None) -> str:
    """The identity file ``age-keygen`` would write for ``identity``."""
    created = created or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return (
        f"# created: {created.isoformat().replace('+00:00', 'Z')}\n"
        f"# public key: {identity.recipient}\n"
        f"{identity}\n"
    )


def wrap_identity(
    identity: X25519Identity, passphrase: str | bytes, work_factor: int = DEFAULT_WORK_FACTOR
) -> bytes:
    """Encrypt ``identity``'s key file to ``passphrase`` (binary age file)."""
    out = io.BytesIO()
    with Encryptor(out, [ScryptRecipient(passphrase, work_factor)]) as w:
        w.write(identity_file_text(identity).encode("ascii"))
    return out.getvalue()


def unwrap_identity(
    wrapped: bytes, passphrase: str | bytes, max_work_factor: int = DEFAULT_MAX_WORK_FACTOR
) -> X25519Identity:
    """Decrypt a wrapped identity; raises :class:`IncorrectPassphrase` on a wrong passphrase."""
    plain = Decryptor(io.BytesIO(wrapped), [ScryptIdentity(passphrase, max_work_factor)]).read(
        _MAX_IDENTITY_FILE + 1
    )
    if len(plain) > _MAX_IDENTITY_FILE:
        raise AgeError("wrapped identity is too large to be an identity file")
    try:
        identities = read_identities(plain)
    except KeyFormatError as exc:
        raise KeyFormatError(f"wrapped file does not hold an identity: {exc}") from None
    if len(identities) != 1:
        raise KeyFormatError(f"wrapped file holds {len(identities)} identities, expected one")
    return identities[0]
