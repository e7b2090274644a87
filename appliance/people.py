"""Creating a person: an X25519 identity stored only wrapped with their passphrase.

The private key never touches the disk in the clear: it is generated in
memory, wrapped (scrypt, exactly what ``age -p`` writes) and saved as
``DATA/identities/<person-id>.age``. Only the public ``age1…`` recipient
goes into the catalogue.
"""

from __future__ import annotations

import getpass
import os
import sys
import uuid
from pathlib import Path

from appliance.catalogue import Catalogue, DuplicatePerson
from appliance.errors import KitError

MIN_PASSPHRASE = 8

LOSS_WARNING = (
    "Keep this passphrase safe: it is the only way to open {name}'s recordings. "
    "Nobody can recover it; if it is lost, the footage is lost."
)


def read_passphrase(passphrase_file: str | None, name: str) -> str:
    """From a file (first line) or asked twice on the terminal."""
    if passphrase_file:
        try:
            text = Path(passphrase_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise KitError(f"cannot read the passphrase file: {exc.strerror}: {passphrase_file}") from None
        passphrase = text.splitlines()[0] if text else ""
    else:
        if not sys.stdin.isatty():
            raise KitError("no terminal to ask for a passphrase: use --passphrase-file FILE")
        passphrase = getpass.getpass(f"Passphrase for {name}: ")
        if getpass.getpass("Same passphrase again: ") != passphrase:
            raise KitError("the two passphrases differ; nothing was created")
    check_passphrase(passphrase)
    return passphrase


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise KitError(f"the passphrase is too short (at least {MIN_PASSPHRASE} characters)")


def identity_path(data_dir: Path, person_id: str) -> Path:
    return Path(data_dir) / "identities" / f"{person_id}.age"


def _write_private_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def create_person(
    data_dir: Path, catalogue: Catalogue, name: str, role: str, passphrase: str,
    work_factor: int | None = None,
) -> dict:
    """Create the identity, save it wrapped, register the person; returns the person row."""
    from appliance import age

    check_passphrase(passphrase)
    name = " ".join(name.split())
    if catalogue.query_one("SELECT id FROM people WHERE name = ? COLLATE NOCASE", (name,)):
        raise DuplicatePerson(name)
    person_id = "p-" + uuid.uuid4().hex[:12]
    identity = age.generate_identity()
    kwargs = {"work_factor": work_factor} if work_factor else {}
    wrapped = age.wrap_identity(identity, passphrase, **kwargs)
    path = identity_path(data_dir, person_id)
    _write_private_atomically(path, wrapped)
    try:
        return catalogue.add_person(name, role, str(identity.recipient), person_id=person_id)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
