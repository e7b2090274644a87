"""The community age test vectors (C2SP CCTV) in ../shared/age-testkit.

Every X25519, scrypt, header, HMAC and STREAM vector runs through the
sequential decryptor (from memory, and from a file with the read-ahead thread)
and the random-access reader (payload hash included, also
for plaintext released before a failure). Armored and post-quantum hybrid
vectors are skipped: one skip per category, with the count in the reason.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from pathlib import Path

import pytest

from appliance import age
from appliance.age import reader as reader_module

ROOT = Path(__file__).resolve().parents[2]
TESTKIT = ROOT.parent / "shared" / "age-testkit"

EXPECT = {
    "success": None,
    "no match": age.NoIdentityMatch,
    "header failure": age.HeaderError,
    "HMAC failure": age.HMACError,
    "payload failure": age.PayloadError,
}
KNOWN_KEYS = {"expect", "payload", "file key", "identity", "passphrase", "armored", "comment", "compressed"}


def _load(path: Path) -> tuple[dict[str, list[str]], bytes]:
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n\n")
    meta: dict[str, list[str]] = {}
    for line in head.decode().splitlines():
        key, _, value = line.partition(": ")
        meta.setdefault(key, []).append(value)
    if meta.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return meta, body


def _category(meta: dict[str, list[str]], name: str) -> str | None:
    """Why a vector is skipped, or None if it must run."""
    if meta.get("armored") == ["yes"] or name.startswith("armor"):
        return "armored (ASCII) files are not supported by appliance.age"
    if name.startswith("hybrid") or any(i.startswith("AGE-SECRET-KEY-PQ") for i in meta.get("identity", [])):
        return "post-quantum hybrid recipients are not supported by appliance.age"
    if set(meta) - KNOWN_KEYS:
        return "vector uses keys this test does not know (README: skip those)"
    return None


def _vectors():
    runnable, skipped = [], {}
    for path in sorted(TESTKIT.iterdir()):
        if path.name == "README.md" or not path.is_file():
            continue
        meta, body = _load(path)
        reason = _category(meta, path.name)
        if reason:
            skipped.setdefault(reason, []).append(path.name)
        else:
            runnable.append(pytest.param(path.name, meta, body, id=path.name))
    return runnable, skipped


if not TESTKIT.is_dir():  # the vectors are part of the shared checkout; their absence is an error
    raise RuntimeError(f"age test vectors not found at {TESTKIT}")

RUNNABLE, SKIPPED = _vectors()


def _identities(meta):
    ids: list = [age.parse_identity(i) for i in meta.get("identity", [])]
    ids += [age.ScryptIdentity(p) for p in meta.get("passphrase", [])]
    return ids


def test_vector_counts():
    # Guards against the loader silently skipping everything.
    assert len(RUNNABLE) >= 90
    skipped = [n for names in SKIPPED.values() for n in names]
    assert all(n.startswith(("armor", "hybrid")) for n in skipped), skipped


@pytest.mark.parametrize("reason", sorted(SKIPPED))
def test_skipped_category(reason):
    names = SKIPPED[reason]
    pytest.skip(f"{len(names)} vectors skipped: {reason}")


@pytest.mark.parametrize(("name", "meta", "body"), RUNNABLE)
def test_sequential(name, meta, body):
    _check_sequential(name, meta, io.BytesIO(body))


@pytest.mark.parametrize(("name", "meta", "body"), RUNNABLE)
def test_sequential_reading_ahead(name, meta, body, tmp_path, monkeypatch):
    """The same vectors from a file on disk, every chunk opened by the read-ahead thread."""
    monkeypatch.setattr(reader_module, "READ_AHEAD_AFTER", 0)
    path = tmp_path / name
    path.write_bytes(body)
    with open(path, "rb", buffering=0) as f:
        _check_sequential(name, meta, f)


def _check_sequential(name, meta, stream):
    expected = EXPECT[meta["expect"][0]]
    released = bytearray()
    error = None
    try:
        reader = age.Decryptor(stream, _identities(meta))
        while True:
            # Small reads so plaintext released before a failure is counted.
            block = reader.read(4096)
            if not block:
                break
            released += block
    except age.AgeError as exc:
        error = exc
    if expected is None:
        assert error is None, f"{name}: {error!r}"
    else:
        assert type(error) is expected or (
            isinstance(error, expected) and _allowed_subclass(expected, error)
        ), f"{name}: expected {expected.__name__}, got {error!r}"
    if "payload" in meta:
        assert hashlib.sha256(released).hexdigest() == meta["payload"][0], name


def _allowed_subclass(expected, error) -> bool:
    return (expected, type(error)) in {
        (age.HeaderError, age.UnsupportedVersion),
        (age.HeaderError, age.WorkFactorTooHigh),
        (age.PayloadError, age.TruncatedError),
        (age.NoIdentityMatch, age.IncorrectPassphrase),
    }


@pytest.mark.parametrize(("name", "meta", "body"), RUNNABLE)
def test_random_access(name, meta, body):
    """The random-access reader agrees: success gives the same plaintext, any failure fails at open or read."""
    expected = EXPECT[meta["expect"][0]]
    try:
        reader = age.open_random_access(io.BytesIO(body), _identities(meta))
        plain = reader.read()
    except age.AgeError as exc:
        assert expected is not None, f"{name}: {exc!r}"
        if expected is not age.PayloadError:
            assert isinstance(exc, expected), f"{name}: expected {expected.__name__}, got {exc!r}"
        else:
            assert isinstance(exc, age.PayloadError)
        return
    assert expected is None, f"{name}: opened although {meta['expect'][0]} was expected"
    assert hashlib.sha256(plain).hexdigest() == meta["payload"][0]
