"""A person's key on the kit: an X25519 identity stored only wrapped with their passphrase.

Creating the person here is enrolling her on this kit: her consent key
(derived from the identity, :mod:`appliance.consent`) is pinned beside her
recipient, so that only she can confirm who may watch her recordings. Only
she can replace it, unlocked with the old one (:func:`renew_key`); the old
key stays in her key file for her old recordings.

The private key never touches the disk in the clear: it is generated in
memory, wrapped (scrypt, exactly what ``age -p`` writes) and saved as
``DATA/identities/<person-id>.age``. Only the public ``age1…`` recipient
goes into the catalogue. Asking for the passphrase is the caller's job (the
command line, the review app); this module never prompts.
"""

from __future__ import annotations

import os
from pathlib import Path

from appliance import age
from appliance.age.wrapped import work_factor_of
from appliance.catalogue import Catalogue
from appliance.catalogue.people import new_person_id, normal_name
from appliance.consent.renewal import Renewals
from appliance.consent.signing import consent_key, public_key_hex
from appliance.durable import write_atomic
from appliance.errors import KitError
from appliance.paths import KitPaths
from appliance.sealed import partial_path

MIN_PASSPHRASE = 8

LOSS_WARNING = (
    "Keep this passphrase safe: it is the only way to open {name}'s recordings. "
    "Nobody can recover it; if it is lost, the footage is lost."
)


def check_passphrase(passphrase: str) -> None:
    """
    >>> check_passphrase("short")
    Traceback (most recent call last):
    ...
    appliance.errors.KitError: the passphrase is too short (at least 8 characters)
    """
    if len(passphrase) < MIN_PASSPHRASE:
        raise KitError(f"the passphrase is too short (at least {MIN_PASSPHRASE} characters)")


def save_wrapped_identity(paths: KitPaths, person_id: str, wrapped: bytes) -> Path:
    path = paths.identity(person_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    write_atomic(path, wrapped, mode=0o600, temp=partial_path(path))
    return path


def unwrap(data_dir: Path, person_id: str, passphrase: str) -> age.X25519Identity:
    """The person's current identity, in memory only; ``age.IncorrectPassphrase`` if the passphrase is wrong."""
    wrapped = KitPaths(data_dir).identity(person_id).read_bytes()
    return age.unwrap_identity(wrapped, passphrase)


def held_keys(identities: list[age.X25519Identity], person: dict) -> list[age.X25519Identity]:
    """Her key file's identities with the pinned one first; KitError if the file lacks it.

    The pinned key, not the file's first, is current: a cut between writing
    a renewed key file and pinning its new key leaves the old one pinned.
    """
    current = [i for i in identities if str(i.recipient) == person["recipient"]]
    if not current:
        raise KitError(f"{person['name']}'s key file does not hold the key the catalogue names")
    return current[:1] + [i for i in identities if i is not current[0]]


def renew_key(data_dir: Path, catalogue: Catalogue, person_id: str, passphrase: str, new_passphrase: str,
              max_work_factor: int | None = None) -> list[age.X25519Identity]:
    """The person replaces her key (and passphrase); returns the keys she holds now, the new one first.

    Recordings from now on go to the new key; her consents stay valid because
    her old consent key signs the step (:mod:`appliance.consent.renewal`).
    The key file is written before the catalogue pins the new key.
    """
    check_passphrase(new_passphrase)
    person = catalogue.get_person(person_id)
    if person is None or not person["signing_key"]:
        raise KitError("only a person enrolled on this kit can renew her key")
    paths = KitPaths(data_dir)
    wrapped = paths.identity(person_id).read_bytes()
    kwargs = {"max_work_factor": max_work_factor} if max_work_factor else {}
    held = held_keys(age.unwrap_identities(wrapped, passphrase, **kwargs), person)
    new = age.generate_identity()
    keys = [new, *held]
    save_wrapped_identity(paths, person_id, age.wrap_identities(keys, new_passphrase, work_factor_of(wrapped)))
    try:
        Renewals(catalogue).record(person_id, held[0], new)
    except BaseException:
        save_wrapped_identity(paths, person_id, wrapped)  # the old file, old passphrase: nothing changed
        raise
    return keys


def create_person(
    data_dir: Path, catalogue: Catalogue, name: str, role: str, passphrase: str,
    work_factor: int | None = None,
) -> dict:
    """Create the identity, save it wrapped, register the person; returns the person row."""
    check_passphrase(passphrase)
    name = normal_name(name)
    catalogue.check_name_free(name)  # before scrypt's second of work
    person_id = new_person_id()
    identity = age.generate_identity()
    kwargs = {"work_factor": work_factor} if work_factor else {}
    path = save_wrapped_identity(KitPaths(data_dir), person_id, age.wrap_identity(identity, passphrase, **kwargs))
    try:
        return catalogue.add_person(name, role, str(identity.recipient), person_id=person_id,
                                    signing_key=public_key_hex(consent_key(identity)))
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def enrol_existing(data_dir: Path, catalogue: Catalogue, person: dict, passphrase: str,
                   work_factor: int | None = None) -> dict:
    """A person the school server published, enrolling here: her own key replaces the published one.

    Only for a person not yet enrolled on this kit (no pinned consent key).
    """
    if person["signing_key"]:
        raise KitError(f"{person['name']} has already enrolled on this kit")
    check_passphrase(passphrase)
    identity = age.generate_identity()
    kwargs = {"work_factor": work_factor} if work_factor else {}
    save_wrapped_identity(KitPaths(data_dir), person["id"], age.wrap_identity(identity, passphrase, **kwargs))
    with catalogue.transaction() as db:
        db.execute("UPDATE people SET recipient = ?, signing_key = ?, enrolled_at = ? WHERE id = ? AND signing_key IS NULL",
                   (str(identity.recipient), public_key_hex(consent_key(identity)), catalogue.clock.now().wall_iso,
                    person["id"]))
    return catalogue.get_person(person["id"])


def reenrol(data_dir: Path, catalogue: Catalogue, person_id: str, passphrase: str,
            work_factor: int | None = None) -> dict:
    """A person who lost her passphrase enrols again, in person at the kit's console (IT, as root).

    She gets a new key; nothing she signed with the old one carries over: her
    pairs stop verifying (the kit cannot record for them) until she confirms
    her coach again and he accepts. Her old key file is kept beside the new
    one (``<id>.replaced-<time>.age``): if the old passphrase turns up, her
    old recordings open with it.
    """
    check_passphrase(passphrase)
    person = catalogue.get_person(person_id)
    if person is None:
        raise KitError("no such person on this kit")
    paths = KitPaths(data_dir)
    old = paths.identity(person_id)
    identity = age.generate_identity()
    kwargs = {"work_factor": work_factor} if work_factor else {}
    wrapped = age.wrap_identity(identity, passphrase, **kwargs)
    stamp = catalogue.clock.now().wall_iso.replace(":", "").replace("-", "")
    if old.exists():
        os.replace(old, old.with_name(f"{person_id}.replaced-{stamp}.age"))
    save_wrapped_identity(paths, person_id, wrapped)
    with catalogue.transaction() as db:
        db.execute("UPDATE people SET recipient = ?, signing_key = ?, enrolled_at = ? WHERE id = ?",
                   (str(identity.recipient), public_key_hex(consent_key(identity)), catalogue.clock.now().wall_iso,
                    person_id))
        catalogue.emit("person.reenrolled", {"person_id": person_id, "role": person["role"]})
    return catalogue.get_person(person_id)
