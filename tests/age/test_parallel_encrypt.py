"""Encryption of regular files by several processes (appliance.age.parallel_encrypt).

Small block sizes (2 chunks per queue entry) put many stripe boundaries into
files of a few hundred KiB; every file is opened by the real ``age -d``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from appliance import age
from appliance.age.parallel_encrypt import EncryptFailed, encrypt_file, parallel_size
from appliance.age.stream import CHUNK_SIZE, TAG_SIZE

from .helpers import require_age

K = CHUNK_SIZE
KIT = [sys.executable, "-m", "kit", "age"]


@pytest.fixture(scope="module")
def me(tmp_path_factory):
    identity = age.generate_identity()
    key = tmp_path_factory.mktemp("key") / "key.txt"
    key.write_text(age.identity_file_text(identity))
    return identity, key


def _age_decrypt(path: Path, key: Path) -> bytes:
    out = subprocess.run([require_age(), "-d", "-i", str(key), str(path)], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _encrypt(tmp_path: Path, plain: bytes, recipients, **kw) -> tuple[Path, int]:
    src, dst = tmp_path / "in.bin", tmp_path / "out.age"
    src.write_bytes(plain)
    with open(src, "rb") as s, open(dst, "xb") as d:
        used = encrypt_file(s.fileno(), d.fileno(), recipients, **kw)
    return dst, used


@pytest.mark.parametrize(
    "size, workers",
    [
        (0, 2),
        (1, 2),
        (K - 1, 2),
        (K, 2),
        (K + 1, 2),
        (2 * K, 2),  # exactly one queue entry: nothing to share
        (2 * K + 1, 2),  # a second entry holding one byte
        (4 * K, 2),  # full last chunk at a stripe boundary
        (4 * K + 1, 3),
        (6 * K - 1, 3),
        (16 * K, 2),
        (3 * 1024 * 1024 + 12345, 2),
        (5 * 1024 * 1024, 3),
    ],
)
def test_parallel_files_open_with_age(tmp_path, me, size, workers):
    identity, key = me
    plain = os.urandom(size)
    out, used = _encrypt(tmp_path, plain, [identity.recipient], workers=workers, min_size=0, block_chunks=2)
    chunks = max(1, -(-size // K))
    blocks = -(-chunks // 2)
    # The work really was shared whenever there was more than one block.
    assert used == min(workers, blocks)
    data = out.read_bytes()
    header_len = data.index(b"\n---") + len(b"\n--- ") + 43 + 1
    assert len(data) == header_len + 16 + size + chunks * TAG_SIZE
    assert _age_decrypt(out, key) == plain
    with open(out, "rb") as f:
        assert age.Decryptor(f, [identity]).read() == plain


def test_offsets_are_respected_and_left_at_the_end(tmp_path, me):
    identity, key = me
    plain = os.urandom(7 * K + 3)
    src, dst = tmp_path / "in.bin", tmp_path / "out.age"
    src.write_bytes(b"skip" + plain)
    with open(src, "rb", buffering=0) as s, open(dst, "wb", buffering=0) as d:
        s.seek(4)
        d.write(b"prefix")
        assert encrypt_file(s.fileno(), d.fileno(), [identity.recipient], workers=2, min_size=0, block_chunks=2) == 2
        assert s.tell() == 4 + len(plain)
        d.write(b"")
        end = d.tell()
    data = dst.read_bytes()
    assert end == len(data) and data.startswith(b"prefix")
    (tmp_path / "only.age").write_bytes(data[6:])
    assert _age_decrypt(tmp_path / "only.age", key) == plain


def test_null_device_output(me, tmp_path):
    identity, _ = me
    (tmp_path / "in.bin").write_bytes(os.urandom(9 * K))
    with open(tmp_path / "in.bin", "rb") as s, open(os.devnull, "wb") as d:
        assert encrypt_file(s.fileno(), d.fileno(), [identity.recipient], workers=2, min_size=0, block_chunks=2) == 2


def test_pipes_appending_outputs_and_threads_use_the_streaming_path(tmp_path, me):
    identity, key = me
    plain = os.urandom(5 * K + 9)
    (tmp_path / "in.bin").write_bytes(plain)
    # Pipe in: the streaming path, and its output is still right.
    r, w = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(w, plain), os.close(w)))
    writer.start()
    try:
        with open(tmp_path / "piped.age", "xb") as d:
            assert parallel_size(r, d.fileno(), 0) is None
            assert encrypt_file(r, d.fileno(), [identity.recipient], workers=2, min_size=0, block_chunks=2) == 1
    finally:
        writer.join()
        os.close(r)
    assert _age_decrypt(tmp_path / "piped.age", key) == plain
    with open(tmp_path / "in.bin", "rb") as s:
        # Pipe out.
        r, w = os.pipe()
        assert parallel_size(s.fileno(), w, 0) is None
        os.close(r)
        os.close(w)
        # Appending output: pwrite would ignore the offsets.
        with open(tmp_path / "append.age", "ab") as d:
            assert parallel_size(s.fileno(), d.fileno(), 0) is None
        with open(tmp_path / "plain.age", "wb") as d:
            assert parallel_size(s.fileno(), d.fileno(), 0) == len(plain)
            # Below the size threshold.
            assert parallel_size(s.fileno(), d.fileno(), len(plain) + 1) is None
            # Another thread is running: forking it could copy a held lock.
            stop = threading.Event()
            other = threading.Thread(target=stop.wait)
            other.start()
            try:
                assert parallel_size(s.fileno(), d.fileno(), 0) is None
            finally:
                stop.set()
                other.join()


@contextlib.contextmanager
def _small_tmpfs(path: Path, size: str):
    path.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill up (needs root): {result.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def test_full_disk_fails_the_library_call(tmp_path, me):
    identity, _ = me
    (tmp_path / "in.bin").write_bytes(os.urandom(6 * 1024 * 1024))
    with _small_tmpfs(tmp_path / "small", "2m") as small:
        with open(tmp_path / "in.bin", "rb") as s, open(small / "out.age", "xb") as d:
            with pytest.raises(EncryptFailed, match="^cannot write output: No space left on device$"):
                encrypt_file(s.fileno(), d.fileno(), [identity.recipient], workers=2, min_size=0)


def test_cli_large_file_full_disk_and_pipe(tmp_path, me):
    identity, key = me
    recipient = str(identity.recipient)
    plain = os.urandom(9 * 1024 * 1024 + 77)  # above the size at which kit uses several processes
    src = tmp_path / "in.bin"
    src.write_bytes(plain)

    ok = subprocess.run([*KIT, "encrypt", "-r", recipient, "-o", str(tmp_path / "big.age"), str(src)], capture_output=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert _age_decrypt(tmp_path / "big.age", key) == plain

    with _small_tmpfs(tmp_path / "small", "4m") as small:
        full = subprocess.run([*KIT, "encrypt", "-r", recipient, "-o", str(small / "out.age"), str(src)], capture_output=True, timeout=120)
        assert full.returncode == 1
        err = full.stderr.decode()
        assert err == "kit: cannot write output: No space left on device\n", err
        assert list(small.iterdir()) == []  # the partial output is gone

    # Standard input and output redirected to regular files.
    with open(src, "rb") as stdin, open(tmp_path / "redirected.age", "xb") as stdout:
        redirected = subprocess.run([*KIT, "encrypt", "-r", recipient], stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, timeout=120)
    assert redirected.returncode == 0, redirected.stderr
    assert _age_decrypt(tmp_path / "redirected.age", key) == plain

    piped = subprocess.run([*KIT, "encrypt", "-r", recipient], input=plain, capture_output=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    (tmp_path / "piped.age").write_bytes(piped.stdout)
    assert _age_decrypt(tmp_path / "piped.age", key) == plain


def test_kit_age_loads_only_the_age_command():
    # Start-up is part of every `kit age` run; the web app and the other
    # areas are not needed for it.
    probe = (
        "import sys; from kit.cli.main import build_parser\n"
        "build_parser(['age', 'encrypt', '-r', 'x']); print('\\n'.join(sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    imported = set(result.stdout.decode().split())
    assert "kit.cli.age" in imported
    assert not imported & {"ui.app", "flask", "appliance.identities", "kit.cli.sync", "appliance.age.random_access"}
    # Without a light command, every area is still there (for `kit --help`).
    full = subprocess.run(
        [sys.executable, "-c", probe.replace("['age', 'encrypt', '-r', 'x']", "[]")], capture_output=True, timeout=120
    )
    assert "kit.cli.sync" in full.stdout.decode().split()
