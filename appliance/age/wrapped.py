"""Passphrase-wrapped identities, exactly as ``age -p`` encrypts a key file.

The wrapped form is a binary age file whose plaintext is an identity file
(as ``age-keygen`` writes it), encrypted to a passphrase; so ``age -d`` asks
for the passphrase and prints the key, and ``age -d -i wrapped.age`` uses it.

A key file may hold several identities, the current one first: after a
person renews her key, the old one stays beside it for her old recordings.

>>> from appliance import age
>>> new, old = age.generate_identity(), age.generate_identity()
>>> wrapped = wrap_identities([new, old], "correct horse", work_factor=10)
>>> [str(i.recipient) for i in unwrap_identities(wrapped, "correct horse")] == [str(new.recipient), str(old.recipient)]
True
>>> str(unwrap_identity(wrapped, "correct horse").recipient) == str(new.recipient)
True
>>> work_factor_of(wrapped)
10
"""

from __future__ import annotations

import datetime
import io

from appliance.age.errors import AgeError, KeyFormatError
from appliance.age.header import parse_header
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
    return wrap_identities([identity], passphrase, work_factor)


def wrap_identities(
    identities: list[X25519Identity], passphrase: str | bytes, work_factor: int = DEFAULT_WORK_FACTOR
) -> bytes:
    """Encrypt a key file holding ``identities`` (the current one first) to ``passphrase``."""
    if not identities:
        raise ValueError("a key file holds at least one identity")
    text = "".join(identity_file_text(identity) for identity in identities)
    out = io.BytesIO()
    with Encryptor(out, [ScryptRecipient(passphrase, work_factor)]) as w:
        w.write(text.encode("ascii"))
    return out.getvalue()


def unwrap_identity(
    wrapped: bytes, passphrase: str | bytes, max_work_factor: int = DEFAULT_MAX_WORK_FACTOR
) -> X25519Identity:
    """The current (first) identity of a wrapped key file."""
    return unwrap_identities(wrapped, passphrase, max_work_factor)[0]


def unwrap_identities(
    wrapped: bytes, passphrase: str | bytes, max_work_factor: int = DEFAULT_MAX_WORK_FACTOR
) -> list[X25519Identity]:
    """Decrypt a wrapped key file; raises :class:`IncorrectPassphrase` on a wrong passphrase."""
    plain = Decryptor(io.BytesIO(wrapped), [ScryptIdentity(passphrase, max_work_factor)]).read(
        _MAX_IDENTITY_FILE + 1
    )
    if len(plain) > _MAX_IDENTITY_FILE:
        raise AgeError("wrapped identity is too large to be an identity file")
    try:
        identities = read_identities(plain)
    except KeyFormatError as exc:
        raise KeyFormatError(f"wrapped file does not hold an identity: {exc}") from None
    if not identities:
        raise KeyFormatError("wrapped file holds no identity")
    return identities


def work_factor_of(wrapped: bytes) -> int:
    """The scrypt work factor a wrapped key file was made with (to make its successor as strong)."""
    header, _ = parse_header(io.BytesIO(wrapped))
    for stanza in header.stanzas:
        if stanza.type == "scrypt" and len(stanza.args) == 2 and stanza.args[1].isdigit():
            return int(stanza.args[1])
    raise AgeError("not a passphrase-wrapped key file")
