"""Decryption of regular files by several processes (appliance.age.parallel_decrypt).

Small block sizes (1–2 chunks per queue entry) put many stripe boundaries
into files of a few hundred KiB, so every worker gets a share. Files come
from the real ``age`` CLI as well as from kit; faults are injected into real
files (flipped bytes in chosen chunks, cuts, appended bytes, a full tmpfs),
and every failure is compared with what the sequential Decryptor says.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance import age
from appliance.age.filekey import seal_header
from appliance.age.parallel_decrypt import DecryptFailed, decrypt_file, open_file
from appliance.age.stream import CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, chunk_nonce, payload_aead

from .helpers import require_age

K = CHUNK_SIZE
KIT = [sys.executable, "-m", "kit", "age"]
ME = age.generate_identity()


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("key") / "key.txt"
    path.write_text(age.identity_file_text(ME))
    return path


def _age_encrypt(plain: bytes) -> bytes:
    out = subprocess.run([require_age(), "-r", str(ME.recipient)], input=plain, capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _payload_start(data: bytes) -> int:
    return data.index(b"\n---") + len(b"\n--- ") + 43 + 1 + 16


def _craft(chunks: list[tuple[bytes, bool]]) -> bytes:
    """An age file whose payload is exactly ``chunks`` (plaintext, last flag), framing rules or not."""
    file_key, header = seal_header([ME.recipient])
    nonce = os.urandom(16)
    aead = payload_aead(file_key, nonce)
    return header + nonce + b"".join(aead.encrypt(chunk_nonce(i, last), p, None) for i, (p, last) in enumerate(chunks))


def _parallel(tmp_path: Path, data: bytes, workers: int = 3, block_chunks: int = 1):
    """(plaintext or error, processes used, what the output file holds afterwards)."""
    src, dst = tmp_path / "in.age", tmp_path / "out.bin"
    src.write_bytes(data)
    with open(src, "rb", buffering=0) as s, open(dst, "wb", buffering=0) as d:
        try:
            used = decrypt_file(s.fileno(), d.fileno(), [ME], workers=workers, min_size=0, block_chunks=block_chunks)
        except age.AgeError as exc:
            return exc, None, dst.read_bytes()
    return dst.read_bytes(), used, dst.read_bytes()


def _sequential(data: bytes):
    try:
        return age.Decryptor(io.BytesIO(data), [ME]).read()
    except age.AgeError as exc:
        return exc


def _same(a, b) -> bool:
    if isinstance(a, Exception) or isinstance(b, Exception):
        return type(a) is type(b) and str(a) == str(b)
    return a == b


@pytest.mark.parametrize(
    "size, workers",
    [
        (2 * K + 1, 2),  # a second block holding one byte
        (4 * K, 2),  # full last chunk at a stripe boundary
        (4 * K + 1, 3),
        (6 * K - 1, 3),
        (16 * K, 2),
        (3 * 1024 * 1024 + 12345, 2),
        (5 * 1024 * 1024, 3),
    ],
)
def test_files_made_by_age_decrypt_in_parallel(tmp_path, size, workers):
    plain = os.urandom(size)
    got, used, _ = _parallel(tmp_path, _age_encrypt(plain), workers=workers, block_chunks=2)
    blocks = -(-max(1, -(-size // K)) // 2)
    assert used == min(workers, blocks) > 1  # the work really was shared
    assert got == plain


def test_kit_parallel_encryption_round_trips_and_opens_with_age(tmp_path, key):
    from appliance.age.parallel_encrypt import encrypt_file

    plain = os.urandom(7 * K + 3)
    (tmp_path / "plain").write_bytes(plain)
    with open(tmp_path / "plain", "rb") as s, open(tmp_path / "kit.age", "xb") as d:
        assert encrypt_file(s.fileno(), d.fileno(), [ME.recipient], workers=2, min_size=0, block_chunks=2) == 2
    data = (tmp_path / "kit.age").read_bytes()
    got, used, _ = _parallel(tmp_path, data, workers=2, block_chunks=2)
    assert used == 2 and got == plain
    out = subprocess.run([require_age(), "-d", "-i", str(key), str(tmp_path / "kit.age")], capture_output=True, timeout=120)
    assert out.returncode == 0 and out.stdout == plain


def test_offsets_are_respected_and_left_at_the_end(tmp_path):
    plain = os.urandom(9 * K + 5)
    data = _age_encrypt(plain)
    (tmp_path / "in").write_bytes(b"skip" + data + b"")
    with open(tmp_path / "in", "rb", buffering=0) as s, open(tmp_path / "out", "wb", buffering=0) as d:
        s.seek(4)
        d.write(b"prefix")
        assert decrypt_file(s.fileno(), d.fileno(), [ME], workers=2, min_size=0, block_chunks=2) == 2
        assert s.tell() == 4 + len(data)
        d.write(b"!")
    assert (tmp_path / "out").read_bytes() == b"prefix" + plain + b"!"


def test_null_device_output(tmp_path):
    (tmp_path / "in").write_bytes(_age_encrypt(os.urandom(9 * K)))
    with open(tmp_path / "in", "rb") as s, open(os.devnull, "wb") as d:
        assert decrypt_file(s.fileno(), d.fileno(), [ME], workers=2, min_size=0, block_chunks=2) == 2


def _corrupt(data: bytes, chunk: int, at: int = 100) -> bytes:
    tampered = bytearray(data)
    tampered[_payload_start(data) + chunk * ENCRYPTED_CHUNK_SIZE + at] ^= 0x40
    return bytes(tampered)


# 21 chunks in blocks of 2 over 3 workers: 11 queue entries, every worker
# holds several; the chunks below start, end and cross the workers' shares.
@pytest.mark.parametrize("chunk", [0, 1, 2, 5, 6, 11, 19, 20])
def test_a_corrupt_chunk_in_any_share_fails_and_releases_nothing(tmp_path, chunk):
    plain = os.urandom(20 * K + 100)
    data = _age_encrypt(plain)
    got, used, _ = _parallel(tmp_path, data, workers=3, block_chunks=2)
    assert used == 3 and got == plain
    bad = _corrupt(data, chunk, at=ENCRYPTED_CHUNK_SIZE - 3 if chunk < 20 else 50)  # the tag, or the short last chunk
    error, _, left = _parallel(tmp_path, bad, workers=3, block_chunks=2)
    assert isinstance(error, age.PayloadError)
    assert str(error) == f"payload chunk {chunk} failed to authenticate: file is corrupt or truncated"
    assert _same(error, _sequential(bad))
    assert left == b""  # the authenticated chunks written before the failure are gone too


def test_the_first_of_several_bad_chunks_is_reported(tmp_path):
    data = _age_encrypt(os.urandom(20 * K + 100))
    bad = _corrupt(_corrupt(data, 17), 4)
    error, _, left = _parallel(tmp_path, bad, workers=3, block_chunks=1)
    assert str(error) == "payload chunk 4 failed to authenticate: file is corrupt or truncated"
    assert _same(error, _sequential(bad)) and left == b""


@pytest.mark.parametrize(
    "cut, kind, message",
    [
        (6 * ENCRYPTED_CHUNK_SIZE, age.TruncatedError, "file is truncated: it ends after chunk 5 without a final chunk"),
        (6 * ENCRYPTED_CHUNK_SIZE + 1000, age.PayloadError, "payload chunk 6 failed to authenticate"),
        (6 * ENCRYPTED_CHUNK_SIZE + 15, age.PayloadError, "file is truncated or corrupt: chunk 6 is too short"),
        (6 * ENCRYPTED_CHUNK_SIZE + 16, age.PayloadError, "payload chunk 6 failed to authenticate"),
        (1, age.PayloadError, "chunk 0 is too short"),
    ],
)
def test_truncation(tmp_path, cut, kind, message):
    data = _age_encrypt(os.urandom(12 * K + 7))
    cut_data = data[: _payload_start(data) + cut]
    error, _, left = _parallel(tmp_path, cut_data, workers=2, block_chunks=1)
    assert type(error) is kind and message in str(error), error
    assert _same(error, _sequential(cut_data)) and left == b""


def test_framing_rules_match_the_sequential_decryptor(tmp_path):
    full = [(os.urandom(K), False) for _ in range(5)]
    cases = {
        # An empty final chunk is only allowed for the empty file.
        "empty final chunk": _craft(full + [(b"", True)]),
        # A final chunk in the middle of the file, then more chunks.
        "final chunk inside": _craft(full[:2] + [(os.urandom(K), True)] + full[3:] + [(b"end", True)]),
        # A full final chunk, then garbage.
        "trailing data": _craft(full + [(os.urandom(K), True)]) + b"garbage",
        # A short final chunk, then garbage (the garbage is part of that chunk).
        "garbage after a short chunk": _craft(full + [(b"tail", True)]) + b"garbage",
        # The last chunk of the file is full but not marked final.
        "no final chunk": _craft(full),
        # Valid: a full final chunk right at a block boundary.
        "full final chunk": _craft(full + [(os.urandom(K), True)]),
    }
    for name, data in cases.items():
        got, _, left = _parallel(tmp_path, data, workers=2, block_chunks=1)
        assert _same(got, _sequential(data)), (name, got)
        if isinstance(got, Exception):
            assert left == b"", name
    assert "final chunk is empty" in str(_parallel(tmp_path, cases["empty final chunk"])[0])
    assert "trailing data" in str(_parallel(tmp_path, cases["final chunk inside"])[0])
    assert isinstance(_parallel(tmp_path, cases["no final chunk"])[0], age.TruncatedError)


_DIFF_FILE = _craft([(os.urandom(K), False) for _ in range(7)] + [(os.urandom(300), True)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(["flip", "cut", "append"]), st.integers(0, len(_DIFF_FILE) - 1), st.integers(1, 255)),
        max_size=2,
    )
)
def test_any_damage_gives_the_sequential_answer(tmp_path, edits):
    data = bytearray(_DIFF_FILE)
    start = _payload_start(_DIFF_FILE)
    for kind, position, value in edits:
        position = start + position % max(1, len(data) - start)
        if kind == "flip" and position < len(data):
            data[position] ^= value
        elif kind == "cut":
            del data[position:]
        else:
            data += bytes([value]) * value
    got, _, left = _parallel(tmp_path, bytes(data), workers=3, block_chunks=1)
    assert _same(got, _sequential(bytes(data))), (edits, got)
    if isinstance(got, Exception):
        assert left == b""


def test_a_failure_cuts_the_output_back_to_where_it_started(tmp_path):
    bad = _corrupt(_age_encrypt(os.urandom(9 * K)), 7)
    (tmp_path / "in").write_bytes(bad)
    with open(tmp_path / "in", "rb") as s, open(tmp_path / "out", "wb", buffering=0) as d:
        d.write(b"kept")
        with pytest.raises(age.PayloadError, match="chunk 7"):
            decrypt_file(s.fileno(), d.fileno(), [ME], workers=2, min_size=0, block_chunks=2)
        assert d.tell() == 4
    assert (tmp_path / "out").read_bytes() == b"kept"


def test_header_errors_come_before_the_output_is_touched(tmp_path):
    data = _age_encrypt(os.urandom(3 * K))
    (tmp_path / "in").write_bytes(data)
    with open(tmp_path / "in", "rb") as s:
        with pytest.raises(age.NoIdentityMatch):
            open_file(s.fileno(), [age.generate_identity()])
    header = bytearray(data)
    at = data.index(b"\n--- ") + 6  # inside the MAC
    header[at] = ord("A") if header[at] != ord("A") else ord("B")
    (tmp_path / "in").write_bytes(bytes(header))
    with open(tmp_path / "in", "rb") as s:
        with pytest.raises(age.HMACError):
            open_file(s.fileno(), [ME])


def test_pipes_small_files_appending_outputs_and_threads_use_the_sequential_path(tmp_path):
    plain = os.urandom(5 * K + 9)
    data = _age_encrypt(plain)
    (tmp_path / "in").write_bytes(data)

    r, w = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(w, data), os.close(w)))
    writer.start()
    try:
        with open(tmp_path / "piped", "xb") as d:
            assert decrypt_file(r, d.fileno(), [ME], workers=2, min_size=0, block_chunks=1) == 1
    finally:
        writer.join()
        os.close(r)
    assert (tmp_path / "piped").read_bytes() == plain

    def used(dst_mode="wb", **kw) -> int:
        with open(tmp_path / "in", "rb") as s, open(tmp_path / "out", dst_mode) as d:
            return decrypt_file(s.fileno(), d.fileno(), [ME], workers=2, block_chunks=1, **kw)

    assert used(min_size=0) == 2
    assert used(min_size=len(data)) == 1  # below the size threshold
    assert used("ab", min_size=0) == 1  # pwrite would ignore the offsets
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert used(min_size=0) == 1  # forking a threaded process could copy a held lock
    finally:
        stop.set()
        other.join()
    assert (tmp_path / "out").read_bytes() == plain

    # A pipe out: each chunk goes out once it authenticated, and a bad one stops the stream there.
    (tmp_path / "bad").write_bytes(_corrupt(data, 3))
    r, w = os.pipe()
    received = bytearray()

    def receive() -> None:
        while block := os.read(r, 1 << 20):
            received.extend(block)

    reader = threading.Thread(target=receive)
    reader.start()
    try:
        with open(tmp_path / "bad", "rb") as s, pytest.raises(age.PayloadError, match="chunk 3"):
            decrypt_file(s.fileno(), w, [ME], workers=2, min_size=0, block_chunks=1)
    finally:
        os.close(w)
        reader.join()
        os.close(r)
    assert bytes(received) == plain[: 3 * K]


from .test_testkit import RUNNABLE, _identities  # noqa: E402 - the community vectors, loaded once


@pytest.mark.parametrize(("name", "meta", "body"), RUNNABLE)
def test_community_vectors_decrypt_as_sequentially(tmp_path, name, meta, body):
    """Every runnable vector (the multi-chunk stream_* ones in parallel) gives the sequential answer."""
    (tmp_path / "in").write_bytes(body)
    ids = _identities(meta)
    with open(tmp_path / "in", "rb") as s, open(tmp_path / "out", "wb") as d:
        try:
            decrypt_file(s.fileno(), d.fileno(), ids, workers=2, min_size=0, block_chunks=1)
            got = (tmp_path / "out").read_bytes()
        except age.AgeError as exc:
            got = exc
            assert (tmp_path / "out").read_bytes() == b"", name
    try:
        want = age.Decryptor(io.BytesIO(body), ids).read()
    except age.AgeError as exc:
        want = exc
    assert _same(got, want), (name, got, want)


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


def test_full_disk_fails_the_library_call_and_frees_the_space(tmp_path):
    (tmp_path / "in").write_bytes(_age_encrypt(os.urandom(6 * 1024 * 1024)))
    with _small_tmpfs(tmp_path / "small", "2m") as small:
        with open(tmp_path / "in", "rb") as s, open(small / "out", "xb") as d:
            with pytest.raises(DecryptFailed, match="^cannot write output: No space left on device$"):
                decrypt_file(s.fileno(), d.fileno(), [ME], workers=2, min_size=0, block_chunks=4)
        assert (small / "out").stat().st_size == 0
        assert os.statvfs(small).f_bfree == os.statvfs(small).f_blocks


def kit(*args, **kw):
    return subprocess.run([*KIT, *map(str, args)], capture_output=True, timeout=120, **kw)


def test_cli_parallel_decryption_full_disk_corruption_and_pipes(tmp_path, key):
    plain = os.urandom(9 * 1024 * 1024 + 77)  # above the size at which kit uses several processes
    (tmp_path / "big.age").write_bytes(_age_encrypt(plain))

    ok = kit("decrypt", "-i", key, "-o", tmp_path / "out.bin", tmp_path / "big.age")
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "out.bin").read_bytes() == plain

    with _small_tmpfs(tmp_path / "small", "4m") as small:
        full = kit("decrypt", "-i", key, "-o", small / "out.bin", tmp_path / "big.age")
        assert full.returncode == 1
        assert full.stderr.decode() == f"kit: cannot write output: No space left on device; {small / 'out.bin'} removed\n"
        assert list(small.iterdir()) == []

    (tmp_path / "bad.age").write_bytes(_corrupt((tmp_path / "big.age").read_bytes(), 100))
    bad = kit("decrypt", "-i", key, "-o", tmp_path / "bad.bin", tmp_path / "bad.age")
    assert bad.returncode == 1
    assert bad.stderr.decode() == (
        f"kit: payload chunk 100 failed to authenticate: file is corrupt or truncated; {tmp_path / 'bad.bin'} removed\n"
    )
    assert not (tmp_path / "bad.bin").exists()
    to_null = kit("decrypt", "-i", key, "-o", os.devnull, tmp_path / "bad.age")
    assert to_null.returncode == 1 and os.path.exists(os.devnull)
    assert to_null.stderr.decode() == "kit: payload chunk 100 failed to authenticate: file is corrupt or truncated\n"

    # Standard input redirected from the file.
    with open(tmp_path / "big.age", "rb") as stdin:
        from_stdin = subprocess.run(
            [*KIT, "decrypt", "-i", str(key), "-o", str(tmp_path / "stdin.bin")], stdin=stdin, capture_output=True, timeout=120
        )
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert (tmp_path / "stdin.bin").read_bytes() == plain

    # Standard output redirected to a regular file: decrypted in parallel, emptied on failure.
    with open(tmp_path / "redirected.bin", "xb") as stdout:
        redirected = subprocess.run([*KIT, "decrypt", "-i", str(key), str(tmp_path / "big.age")], stdout=stdout, stderr=subprocess.PIPE, timeout=120)
    assert redirected.returncode == 0, redirected.stderr
    assert (tmp_path / "redirected.bin").read_bytes() == plain
    with open(tmp_path / "redirected.bin", "wb") as stdout:
        failed = subprocess.run([*KIT, "decrypt", "-i", str(key), str(tmp_path / "bad.age")], stdout=stdout, stderr=subprocess.PIPE, timeout=120)
    assert failed.returncode == 1 and (tmp_path / "redirected.bin").read_bytes() == b""

    # A pipe: the authenticated chunks before the bad one, then the error (as age -d does).
    piped = kit("decrypt", "-i", key, tmp_path / "bad.age")
    assert piped.returncode == 1 and piped.stdout == plain[: 100 * K]
    assert piped.stderr.decode().startswith("kit: payload chunk 100 failed to authenticate")


def test_cli_passphrase_file_of_a_large_file(tmp_path):
    (tmp_path / "pw").write_text("correct horse\n")
    plain = os.urandom(9 * 1024 * 1024)
    (tmp_path / "in").write_bytes(plain)
    enc = kit("encrypt", "-p", "--passphrase-file", tmp_path / "pw", "--work-factor", "10", "-o", tmp_path / "p.age", tmp_path / "in")
    assert enc.returncode == 0, enc.stderr
    dec = kit("decrypt", "--passphrase-file", tmp_path / "pw", "-o", tmp_path / "out", tmp_path / "p.age")
    assert dec.returncode == 0, dec.stderr
    assert (tmp_path / "out").read_bytes() == plain


@pytest.mark.parametrize("command", ["encrypt", "decrypt"])
def test_cli_refuses_to_overwrite_an_existing_output(tmp_path, key, command):
    (tmp_path / "in.age").write_bytes(_age_encrypt(b"new"))
    existing = tmp_path / "existing"
    existing.write_bytes(b"keep me")
    args = ["-r", ME.recipient] if command == "encrypt" else ["-i", key]
    result = kit(command, *args, "-o", existing, tmp_path / "in.age")
    assert result.returncode == 1
    assert result.stderr.decode() == f"kit: {existing} already exists; not overwriting it\n"
    assert existing.read_bytes() == b"keep me"
