"""Interoperability with the real ``age`` CLI (Debian package), both ways."""

from __future__ import annotations

import hashlib
import io
import os
import random
import subprocess

import pytest

from appliance import age

from .helpers import require_age, run_with_terminal

_rng = random.Random(20261122)
SIZES = [0, 1, 65535, 65536, 65537, 3 * 65536] + sorted(_rng.randrange(200_000, 20_000_000) for _ in range(3))


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Three identities with their key files; the first two are the recipients."""
    d = tmp_path_factory.mktemp("keys")
    ids = [age.generate_identity() for _ in range(3)]
    paths = []
    for n, identity in enumerate(ids):
        p = d / f"key{n}.txt"
        p.write_text(age.identity_file_text(identity))
        paths.append(p)
    return ids, paths


def _age(*args, input=None):
    return subprocess.run([require_age(), *map(str, args)], input=input, capture_output=True, timeout=120)


@pytest.mark.parametrize("size", SIZES)
def test_ours_to_age(size, keys, tmp_path):
    ids, paths = keys
    plain = os.urandom(size)
    enc = tmp_path / "ours.age"
    with open(enc, "wb") as f, age.Encryptor(f, [ids[0].recipient, ids[1].recipient]) as w:
        # Uneven write sizes exercise the chunk buffering.
        pos = 0
        while pos < size:
            step = _rng.choice([1, 1000, 65536, 70000, 1 << 20])
            w.write(plain[pos : pos + step])
            pos += step
    for key in paths[:2]:
        result = _age("-d", "-i", key, enc)
        assert result.returncode == 0, result.stderr
        assert hashlib.sha256(result.stdout).digest() == hashlib.sha256(plain).digest()
    third = _age("-d", "-i", paths[2], enc)
    assert third.returncode != 0
    assert b"no identity matched" in third.stderr


@pytest.mark.parametrize("size", SIZES)
def test_age_to_ours(size, keys, tmp_path):
    ids, _ = keys
    plain = os.urandom(size)
    src = tmp_path / "plain.bin"
    src.write_bytes(plain)
    enc = tmp_path / "theirs.age"
    result = _age("-r", ids[0].recipient, "-r", ids[1].recipient, "-o", enc, src)
    assert result.returncode == 0, result.stderr
    for identity in ids[:2]:
        with open(enc, "rb") as f:
            assert age.Decryptor(f, [identity]).read() == plain
        with open(enc, "rb") as f:
            reader = age.open_random_access(f, [identity])
            assert reader.size == size
            if size:
                at = _rng.randrange(size)
                reader.seek(at)
                assert reader.read(100_000) == plain[at : at + 100_000]
    with open(enc, "rb") as f, pytest.raises(age.NoIdentityMatch, match="no identity matched"):
        age.Decryptor(f, [ids[2]])


def test_age_recipients_file_and_keygen_output(keys, tmp_path):
    """A recipients file we parse, written like age users write them."""
    ids, paths = keys
    rfile = tmp_path / "recipients.txt"
    rfile.write_text(f"# teacher\n{ids[0].recipient}\n\n# coach\n{ids[1].recipient}\n")
    assert age.read_recipients(rfile) == [ids[0].recipient, ids[1].recipient]
    result = _age("-R", rfile, input=b"lesson")
    assert result.returncode == 0
    assert age.Decryptor(io.BytesIO(result.stdout), age.read_identities(paths[1])).read() == b"lesson"


def test_age_keygen_identity_parses(tmp_path):
    keygen = require_age() + "-keygen"
    result = subprocess.run([keygen], capture_output=True, text=True, timeout=30, check=True)
    identity = age.read_identities(result.stdout)[0]
    public = [l.split(": ")[1] for l in result.stdout.splitlines() if l.startswith("# public key")][0]
    assert str(identity.recipient) == public
    assert str(identity) in result.stdout


def test_age_passphrase_file_opens_with_passphrase(tmp_path):
    plain = os.urandom(150_000)
    src = tmp_path / "plain.bin"
    src.write_bytes(plain)
    enc = tmp_path / "p.age"
    code, out = run_with_terminal([require_age(), "-p", "-o", str(enc), str(src)], ["correct horse", "correct horse"])
    assert code == 0, out
    with open(enc, "rb") as f:
        assert age.Decryptor(f, [age.ScryptIdentity("correct horse")]).read() == plain
    with open(enc, "rb") as f, pytest.raises(age.IncorrectPassphrase):
        age.Decryptor(f, [age.ScryptIdentity("wrong horse")])


def test_ours_passphrase_file_opens_with_age(tmp_path):
    enc = tmp_path / "p.age"
    enc.write_bytes(_encrypt(b"for the coach", [age.ScryptRecipient("s3cret", work_factor=16)]))
    out = tmp_path / "out.txt"
    code, tty = run_with_terminal([require_age(), "-d", "-o", str(out), str(enc)], ["s3cret"])
    assert code == 0, tty
    assert out.read_bytes() == b"for the coach"


def test_wrapped_identity_opens_with_age(keys, tmp_path):
    ids, _ = keys
    wrapped = tmp_path / "identity.age"
    wrapped.write_bytes(age.wrap_identity(ids[0], "lesson-kit pass"))
    # age -d of the wrapped file gives back the identity file...
    out = tmp_path / "identity.txt"
    code, tty = run_with_terminal([require_age(), "-d", "-o", str(out), str(wrapped)], ["lesson-kit pass"])
    assert code == 0, tty
    assert age.read_identities(out)[0].recipient == ids[0].recipient
    # ...and age uses it directly as a passphrase-protected identity file.
    data = tmp_path / "data.age"
    data.write_bytes(_encrypt(b"segment", [ids[0].recipient]))
    result_file = tmp_path / "segment.bin"
    code, tty = run_with_terminal(
        [require_age(), "-d", "-i", str(wrapped), "-o", str(result_file), str(data)], ["lesson-kit pass"]
    )
    assert code == 0, tty
    assert result_file.read_bytes() == b"segment"


def test_identity_wrapped_by_age_unwraps(keys, tmp_path):
    ids, paths = keys
    wrapped = tmp_path / "key.age"
    code, out = run_with_terminal([require_age(), "-p", "-o", str(wrapped), str(paths[1])], ["pw pw pw", "pw pw pw"])
    assert code == 0, out
    assert age.unwrap_identity(wrapped.read_bytes(), "pw pw pw").recipient == ids[1].recipient
    with pytest.raises(age.IncorrectPassphrase, match="incorrect passphrase"):
        age.unwrap_identity(wrapped.read_bytes(), "nope")


def _encrypt(data: bytes, recipients) -> bytes:
    buf = io.BytesIO()
    with age.Encryptor(buf, recipients) as w:
        w.write(data)
    return buf.getvalue()
