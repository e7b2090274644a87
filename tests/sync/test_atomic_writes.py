"""Atomic writes cannot be steered by what someone planted beside the target.

The school server keeps its CA key, forced-command gate and authorized_keys
in directories it owns, and the kit its batches in directories of its own;
defence in depth all the same: a file, hard link or symlink waiting at a temp
name never receives the data, and never lends its owner or mode to the result.
"""

from __future__ import annotations

import os
import stat

import pytest

from appliance.durable import write_atomic
from sync.server.tls.store import write_file


def test_a_planted_hard_link_at_the_temp_name_is_not_written_through(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"untouched")
    target, temp = tmp_path / "segment.m4s.age", tmp_path / "segment.m4s.age.partial"
    os.link(victim, temp)
    write_atomic(target, b"sealed", temp=temp, mode=0o600)
    assert victim.read_bytes() == b"untouched"
    assert target.read_bytes() == b"sealed" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_ino != victim.stat().st_ino


def test_a_planted_symlink_at_the_temp_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"untouched")
    temp = tmp_path / "x.partial"
    temp.symlink_to(victim)
    write_atomic(tmp_path / "x", b"data", temp=temp)
    assert victim.read_bytes() == b"untouched" and (tmp_path / "x").read_bytes() == b"data"
    assert not (tmp_path / "x").is_symlink()


@pytest.mark.skipif(os.geteuid() != 0, reason="planting as another user needs root (make test runs as root on CI)")
def test_a_secret_never_takes_the_owner_of_a_file_planted_at_a_guessable_name(tmp_path):
    """The old scheme's names (``.<name>.<pid>.tmp``, ``.<name>.tmp``) are guessable; a file another
    account created there must not become the CA key with that account as its owner."""
    tmp_path.chmod(0o777)
    nobody = 65534
    for name in (f".ca-key.pem.{os.getpid()}.tmp", ".ca-key.pem.tmp"):
        planted = tmp_path / name
        planted.write_bytes(b"")
        os.chown(planted, nobody, nobody)
        planted.chmod(0o666)
    write_file(tmp_path / "ca-key.pem", b"-----BEGIN PRIVATE KEY-----\n...\n", 0o600)
    key = (tmp_path / "ca-key.pem").stat()
    assert key.st_uid == os.geteuid() and stat.S_IMODE(key.st_mode) == 0o600
    for name in (f".ca-key.pem.{os.getpid()}.tmp", ".ca-key.pem.tmp"):
        assert (tmp_path / name).read_bytes() == b""  # left alone, never written
