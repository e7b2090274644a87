"""Encryptor, Decryptor, random access and salvage: framing rules and faults."""

from __future__ import annotations

import io
import os

import pytest

from appliance import age
from appliance.age.stream import CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE

from .helpers import FullDisk, decrypt_bytes, encrypt_bytes

ME = age.generate_identity()


def _payload_size(data: bytes) -> int:
    return len(data) - (data.index(b"\n---") + 49) - 16


@pytest.mark.parametrize(
    ("size", "chunks", "last"),
    [(0, 1, 0), (1, 1, 1), (CHUNK_SIZE, 1, CHUNK_SIZE), (CHUNK_SIZE + 1, 2, 1), (2 * CHUNK_SIZE, 2, CHUNK_SIZE)],
)
def test_last_chunk_rules(size, chunks, last):
    """A full last chunk stays full (no empty chunk after it); the empty file is one empty chunk."""
    data = encrypt_bytes(os.urandom(size), [ME.recipient])
    assert _payload_size(data) == (chunks - 1) * ENCRYPTED_CHUNK_SIZE + last + 16


def test_write_pattern_does_not_matter():
    plain = os.urandom(5 * CHUNK_SIZE + 7)
    out = io.BytesIO()
    with age.Encryptor(out, [ME.recipient]) as w:
        for piece in (plain[:1], plain[1:CHUNK_SIZE], plain[CHUNK_SIZE : 3 * CHUNK_SIZE + 1], plain[3 * CHUNK_SIZE + 1 :]):
            assert w.write(memoryview(piece)) == len(piece)
    assert decrypt_bytes(out.getvalue(), [ME]) == plain
    assert _payload_size(out.getvalue()) == 5 * ENCRYPTED_CHUNK_SIZE + 7 + 16


def test_close_does_not_close_output_and_is_idempotent():
    out = io.BytesIO()
    w = age.Encryptor(out, [ME.recipient])
    w.write(b"x")
    w.close()
    w.close()
    assert not out.closed
    with pytest.raises(ValueError):
        w.write(b"more")


def test_exception_in_with_block_leaves_a_cut_off_file():
    out = io.BytesIO()
    with pytest.raises(RuntimeError):
        with age.Encryptor(out, [ME.recipient]) as w:
            w.write(os.urandom(3 * CHUNK_SIZE + 5))
            raise RuntimeError("camera failed")
    with pytest.raises(age.TruncatedError, match="truncated"):
        decrypt_bytes(out.getvalue(), [ME])
    with pytest.raises(age.TruncatedError):
        age.open_random_access(io.BytesIO(out.getvalue()), [ME])


def test_sequential_reader_on_a_pipe():
    plain = os.urandom(200_000)
    r, w = os.pipe()
    data = encrypt_bytes(plain, [ME.recipient])
    pid = os.fork()
    if pid == 0:
        os.close(r)
        with os.fdopen(w, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb", buffering=0) as f:
        assert age.Decryptor(f, [ME]).read() == plain
    os.waitpid(pid, 0)


def test_plaintext_of_a_failing_chunk_is_never_released():
    plain = os.urandom(3 * CHUNK_SIZE)
    data = bytearray(encrypt_bytes(plain, [ME.recipient]))
    data[-100] ^= 1  # inside the last chunk
    reader = age.Decryptor(io.BytesIO(bytes(data)), [ME])
    buf = bytearray(len(plain))
    got = 0
    with pytest.raises(age.PayloadError, match="chunk 2 failed to authenticate"):
        while True:
            n = reader.readinto(memoryview(buf)[got:])
            if not n:
                break
            got += n
    assert got == 2 * CHUNK_SIZE and buf[:got] == plain[:got]
    assert buf[got:] == bytes(len(buf) - got)  # no unauthenticated bytes left in the caller's buffer


def test_full_disk_surfaces_and_keeps_what_was_written():
    out = FullDisk(room=600_000)
    with pytest.raises(OSError, match="No space left"):
        with age.Encryptor(out, [ME.recipient]) as w:
            for _ in range(20):
                w.write(os.urandom(CHUNK_SIZE))
    # What reached the disk is a valid prefix: salvage gets whole chunks back.
    report = age.salvage(io.BytesIO(bytes(out.data)), [ME], io.BytesIO())
    assert not report.complete and report.salvaged
    payload_start = bytes(out.data).index(b"\n---") + 49 + 16
    assert report.chunks == (600_000 - payload_start) // ENCRYPTED_CHUNK_SIZE == 9


class ShortWrites(io.RawIOBase):
    """A raw file that writes at most 1000 bytes per call (legal for raw files)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.data += bytes(b[:1000])
        return min(1000, len(b))


def test_short_writes_are_completed():
    plain = os.urandom(100_000)
    out = ShortWrites()
    with age.Encryptor(out, [ME.recipient]) as w:
        w.write(plain)
    assert decrypt_bytes(bytes(out.data), [ME]) == plain


def test_random_access_detects_cut_at_chunk_boundary_and_trailing_garbage():
    data = encrypt_bytes(os.urandom(3 * CHUNK_SIZE + 10), [ME.recipient])
    payload_start = len(data) - _payload_size(data)
    cut = data[: payload_start + 2 * ENCRYPTED_CHUNK_SIZE]
    with pytest.raises(age.TruncatedError, match="ends after chunk 1 without a final chunk"):
        age.open_random_access(io.BytesIO(cut), [ME])
    with pytest.raises(age.PayloadError):
        age.open_random_access(io.BytesIO(data + b"garbage"), [ME])
    with pytest.raises(age.PayloadError, match="trailing data"):
        decrypt_bytes(encrypt_bytes(os.urandom(CHUNK_SIZE), [ME.recipient]) + b"garbage", [ME])


def test_random_access_reads_only_what_it_needs(tmp_path):
    plain = os.urandom(40 * CHUNK_SIZE)
    path = tmp_path / "f.age"
    path.write_bytes(encrypt_bytes(plain, [ME.recipient]))
    data = bytearray(path.read_bytes())
    # Corrupt chunk 5: reads that do not touch it still work, reads that do fail.
    payload_start = len(data) - _payload_size(data)
    data[payload_start + 5 * ENCRYPTED_CHUNK_SIZE + 3] ^= 0xFF
    path.write_bytes(bytes(data))
    with open(path, "rb") as f:
        reader = age.open_random_access(f, [ME])
        reader.seek(20 * CHUNK_SIZE + 5)
        assert reader.read(CHUNK_SIZE * 3) == plain[20 * CHUNK_SIZE + 5 : 23 * CHUNK_SIZE + 5]
        reader.seek(5 * CHUNK_SIZE - 10)
        with pytest.raises(age.PayloadError, match="chunk 5"):
            reader.read(20)


def test_salvage_complete_file_is_not_marked_salvaged():
    plain = os.urandom(2 * CHUNK_SIZE)
    out = io.BytesIO()
    report = age.salvage(io.BytesIO(encrypt_bytes(plain, [ME.recipient])), [ME], out)
    assert report.complete and not report.salvaged and out.getvalue() == plain


def test_salvage_returns_authenticated_full_chunks_only():
    plain = os.urandom(5 * CHUNK_SIZE + 100)
    buf = io.BytesIO()
    w = age.Encryptor(buf, [ME.recipient])
    w.write(plain)
    w.abort()  # the recorder failed: full chunks are written, the partial one is not
    out = io.BytesIO()
    report = age.salvage(io.BytesIO(buf.getvalue()), [ME], out)
    assert report.salvaged and not report.complete
    assert report.chunks == 5 and out.getvalue() == plain[: 5 * CHUNK_SIZE]
    # Power loss also cut the tail of the last write: chunk 4 is incomplete.
    out = io.BytesIO()
    report = age.salvage(io.BytesIO(buf.getvalue()[:-5000]), [ME], out)
    assert report.chunks == 4 and out.getvalue() == plain[: 4 * CHUNK_SIZE]
    assert "SALVAGED" in str(report) and "chunk 4 is cut off" in str(report)


def test_salvage_still_needs_the_right_key():
    data = encrypt_bytes(b"x", [ME.recipient])
    with pytest.raises(age.NoIdentityMatch):
        age.salvage(io.BytesIO(data), [age.generate_identity()], io.BytesIO())


def test_scrypt_stream_round_trip():
    data = encrypt_bytes(b"passphrase file", [age.ScryptRecipient("pw", work_factor=10)])
    assert decrypt_bytes(data, [age.ScryptIdentity("pw")]) == b"passphrase file"
    with pytest.raises(age.IncorrectPassphrase, match="incorrect passphrase"):
        decrypt_bytes(data, [age.ScryptIdentity("wrong")])
    with pytest.raises(age.NoIdentityMatch, match="passphrase"):
        decrypt_bytes(data, [ME])


def test_chunk_framing_for_many_sizes_and_write_patterns():
    for size in (0, 1, CHUNK_SIZE, 8 * CHUNK_SIZE, 8 * CHUNK_SIZE + 1, 30 * CHUNK_SIZE - 1):
        plain = os.urandom(size)
        out = io.BytesIO()
        with age.Encryptor(out, [ME.recipient]) as w:
            for at in range(0, size, 100_000):
                w.write(plain[at : at + 100_000])
        chunks = max(1, -(-size // CHUNK_SIZE))
        assert _payload_size(out.getvalue()) == size + 16 * chunks
        assert decrypt_bytes(out.getvalue(), [ME]) == plain


def test_random_access_cache_eviction_during_a_read():
    """A read starting in an uncached chunk and ending in a cached one, with a one-chunk cache."""
    plain = os.urandom(4 * CHUNK_SIZE + 123)
    reader = age.open_random_access(io.BytesIO(encrypt_bytes(plain, [ME.recipient])), [ME], cache_chunks=1)
    reader.seek(2 * CHUNK_SIZE + 10)
    assert reader.read(20) == plain[2 * CHUNK_SIZE + 10 : 2 * CHUNK_SIZE + 30]  # chunk 2 now cached
    reader.seek(CHUNK_SIZE + 5)  # chunk 1 partial (evicts 2 when remembered), then chunk 2
    assert reader.read(CHUNK_SIZE + 100) == plain[CHUNK_SIZE + 5 : 2 * CHUNK_SIZE + 105]
