"""The Decryptor reading ahead on a helper thread: same bytes, same errors, no stray thread.

From a regular file, once the first chunks are out, the sequential Decryptor
opens the next ones on a helper thread (appliance.age.read_ahead). These
tests read real files on disk with the default batch of 16 chunks and with
batches of 2 (so a small file crosses many hand-overs), and hold the helper
to the sequential rule: only authenticated plaintext, in order, every chunk
before a failure and nothing after it, the failure raised by every later
read, and no helper thread left once the decryptor is closed or dropped.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import io
import os
import threading

import pytest

from appliance import age
from appliance.age import reader as reader_module
from appliance.age.stream import CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE

from .helpers import encrypt_bytes, threads_named, wait_for_no_thread

ME = age.generate_identity()
HEADER_END = b"\n---"


def _payload_start(data: bytes) -> int:
    """Offset of chunk 0: after the header's MAC line and the 16-byte nonce."""
    return data.index(b"\n", data.index(HEADER_END) + 1) + 1 + 16


def _helpers() -> list[threading.Thread]:
    return threads_named("age-read-ahead")


def _wait_for_no_helper() -> bool:
    return wait_for_no_thread("age-read-ahead")


@pytest.fixture(params=["batches of 16", "batches of 2"])
def batching(request, monkeypatch):
    """The default hand-over size, and a small one that a few MiB cross many times."""
    if request.param == "batches of 2":
        monkeypatch.setattr(reader_module, "READ_AHEAD_CHUNKS", 2)
        monkeypatch.setattr(reader_module, "READ_AHEAD_AFTER", 1)
    return request.param


def _read_all(path, read_size: int) -> tuple[bytes, Exception | None, bool]:
    """Everything released and the error that ended it; whether a helper ran."""
    released = bytearray()
    helper_seen = False
    error = None
    with open(path, "rb", buffering=0) as f:
        plain = age.Decryptor(f, [ME])
        buf = bytearray(read_size)
        try:
            while n := plain.readinto(buf):
                released += buf[:n]
                helper_seen = helper_seen or bool(_helpers())
        except age.AgeError as exc:
            error = exc
            # A failed stream stays failed.
            with pytest.raises(type(exc)):
                plain.readinto(buf)
        finally:
            plain.close()
    return bytes(released), error, helper_seen


@pytest.mark.parametrize("read_size", [1000, CHUNK_SIZE, 3 * CHUNK_SIZE + 5, 1 << 20])
def test_large_file_comes_out_whole_through_the_helper(tmp_path, batching, read_size):
    plain = os.urandom(40 * CHUNK_SIZE + 123)
    path = tmp_path / "lesson.age"
    path.write_bytes(encrypt_bytes(plain, [ME.recipient]))
    released, error, helper_seen = _read_all(path, read_size)
    assert error is None
    assert released == plain
    assert helper_seen, "the helper thread never ran: the test did not reach the path it is about"
    assert _wait_for_no_helper(), "close() left the helper thread running"


@pytest.mark.parametrize("exact", [1, 16, 17, 32])
def test_sizes_at_the_switch_and_batch_edges(tmp_path, batching, exact):
    """Whole-chunk files around where the helper starts and where its batches end."""
    plain = os.urandom(exact * CHUNK_SIZE)
    path = tmp_path / "edge.age"
    path.write_bytes(encrypt_bytes(plain, [ME.recipient]))
    assert _read_all(path, 1 << 20)[:2] == (plain, None)
    assert age.Decryptor(io.BytesIO(path.read_bytes()), [ME]).read() == plain  # the pipe path agrees


@pytest.mark.parametrize("bad_chunk", [0, 5, 16, 17, 18, 30, 39])
def test_corrupt_chunk_anywhere_releases_exactly_the_chunks_before_it(tmp_path, batching, bad_chunk):
    plain = os.urandom(39 * CHUNK_SIZE + 777)
    data = bytearray(encrypt_bytes(plain, [ME.recipient]))
    data[_payload_start(bytes(data)) + bad_chunk * ENCRYPTED_CHUNK_SIZE + 100] ^= 0x01
    path = tmp_path / "corrupt.age"
    path.write_bytes(bytes(data))
    released, error, _ = _read_all(path, 1 << 20)
    assert isinstance(error, age.PayloadError)
    assert f"chunk {bad_chunk}" in str(error)
    assert released == plain[: bad_chunk * CHUNK_SIZE]


def test_cut_off_at_a_chunk_boundary_releases_every_whole_chunk_then_says_truncated(tmp_path, batching):
    plain = os.urandom(30 * CHUNK_SIZE + 10)
    data = encrypt_bytes(plain, [ME.recipient])
    path = tmp_path / "cut.age"
    path.write_bytes(data[: _payload_start(data) + 25 * ENCRYPTED_CHUNK_SIZE])
    released, error, _ = _read_all(path, 200_000)
    assert isinstance(error, age.TruncatedError)
    assert released == plain[: 25 * CHUNK_SIZE]


def test_cut_off_inside_a_chunk_fails_at_that_chunk(tmp_path, batching):
    plain = os.urandom(30 * CHUNK_SIZE + 10)
    data = encrypt_bytes(plain, [ME.recipient])
    path = tmp_path / "cut.age"
    path.write_bytes(data[: _payload_start(data) + 20 * ENCRYPTED_CHUNK_SIZE + 4000])
    released, error, _ = _read_all(path, 1 << 20)
    assert isinstance(error, age.PayloadError)
    assert released == plain[: 20 * CHUNK_SIZE]


def test_trailing_data_is_refused_after_the_whole_plaintext(tmp_path, batching):
    # A full final chunk followed by more bytes (after a short one, the bytes
    # would join it and fail its tag instead).
    plain = os.urandom(30 * CHUNK_SIZE)
    path = tmp_path / "trailing.age"
    path.write_bytes(encrypt_bytes(plain, [ME.recipient]) + b"appended")
    released, error, _ = _read_all(path, 1 << 20)
    assert isinstance(error, age.PayloadError) and "trailing data" in str(error)
    assert released == plain


class _FailingFile(io.FileIO):
    """A regular file whose reads fail with EIO once ``fail_after`` bytes were read."""

    fail_after = 0

    def readinto(self, b):  # type: ignore[override]
        if self.tell() >= self.fail_after:
            raise OSError(errno.EIO, "Input/output error")
        return super().readinto(b)


def test_a_read_error_in_the_helper_reaches_the_caller(tmp_path, batching):
    plain = os.urandom(40 * CHUNK_SIZE)
    data = encrypt_bytes(plain, [ME.recipient])
    path = tmp_path / "disk.age"
    path.write_bytes(data)
    f = _FailingFile(path, "rb")
    f.fail_after = _payload_start(data) + 24 * ENCRYPTED_CHUNK_SIZE
    plain_reader = age.Decryptor(f, [ME])
    released = bytearray()
    buf = bytearray(1 << 20)
    with pytest.raises(OSError) as caught:
        while n := plain_reader.readinto(buf):
            released += buf[:n]
    assert caught.value.errno == errno.EIO
    assert plain.startswith(bytes(released)) and len(released) >= 16 * CHUNK_SIZE
    plain_reader.close()
    f.close()
    assert _wait_for_no_helper()


@pytest.fixture
def long_age(tmp_path):
    """A 4 MiB age file: the helper is running once 20 chunks are out."""
    path = tmp_path / "long.age"
    path.write_bytes(encrypt_bytes(os.urandom(64 * CHUNK_SIZE), [ME.recipient]))
    return path


def test_a_decryptor_dropped_half_way_stops_its_helper(long_age):
    with open(long_age, "rb", buffering=0) as f:
        plain = age.Decryptor(f, [ME])
        plain.read(20 * CHUNK_SIZE)
        assert _helpers(), "the helper should be running half-way through a 4 MiB file"
        del plain
        gc.collect()
        assert _wait_for_no_helper(), "a dropped Decryptor kept its helper thread"


def test_closed_half_way_it_reads_no_more(long_age):
    with open(long_age, "rb", buffering=0) as f:
        plain = age.Decryptor(f, [ME])
        plain.read(20 * CHUNK_SIZE)
        plain.close()
        assert _wait_for_no_helper()
        with pytest.raises(ValueError, match="closed"):
            plain.read(10)


def test_a_small_document_or_a_pipe_never_starts_a_thread(tmp_path):
    path = tmp_path / "doc.age"
    path.write_bytes(encrypt_bytes(b"annotations" * 1000, [ME.recipient]))
    before = threading.active_count()
    with open(path, "rb") as f:
        assert age.Decryptor(f, [ME]).read() == b"annotations" * 1000
    big = os.urandom(40 * CHUNK_SIZE)
    r, w = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(w, encrypt_bytes(big, [ME.recipient])), os.close(w)))
    writer.start()
    with open(r, "rb", buffering=0) as f:
        got = age.Decryptor(f, [ME])
        digest = hashlib.sha256()
        while block := got.read(1 << 20):
            assert not _helpers(), "a pipe must keep the chunk-by-chunk path"
            digest.update(block)
    writer.join()
    assert digest.digest() == hashlib.sha256(big).digest()
    assert threading.active_count() == before
