"""The Encryptor sealing ahead on a helper thread: the same age file, written by the caller only.

After its first chunks the streaming Encryptor gathers plaintext into
batches that a helper thread and the calling thread seal side by side
(appliance.age.seal_ahead). These tests run it with the default batches
and with one-chunk batches (so a small file crosses many hand-overs), check
the result with the decryptor and with the real age CLI, and hold it to the
Encryptor's promises: ``out`` written on the calling thread only, a stream
left through an exception stays cut off (its full chunks salvageable), a
full disk surfaces and leaves a valid prefix, and no helper outlives it.
"""

from __future__ import annotations

import gc
import io
import os
import subprocess
import threading

import pytest

from appliance import age
from appliance.age import seal_ahead, writer
from appliance.age.stream import CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, TAG_SIZE

from .helpers import FullDisk, decrypt_bytes, require_age, threads_named, wait_for_no_thread

ME = age.generate_identity()


def _helpers() -> list[threading.Thread]:
    return threads_named("age-seal-ahead")


def _wait_for_no_helper() -> bool:
    return wait_for_no_thread("age-seal-ahead")


def _payload_size(data: bytes) -> int:
    return len(data) - (data.index(b"\n---") + 49) - 16


def _expected_payload(size: int) -> int:
    chunks = max(1, -(-size // CHUNK_SIZE))
    return size + chunks * TAG_SIZE


@pytest.fixture(params=["batches of 8", "batches of 1"])
def batching(request, monkeypatch):
    if request.param == "batches of 1":
        monkeypatch.setattr(seal_ahead, "BATCH_CHUNKS", 1)
        monkeypatch.setattr(writer, "SEAL_AHEAD_AFTER", 1)
        # SealAhead's default was bound when the class was made.
        monkeypatch.setattr(seal_ahead.SealAhead.__init__, "__defaults__", (1,))
    return request.param


class Recording(io.RawIOBase):
    """An output that remembers which thread wrote each piece."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.threads: set[str] = set()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.threads.add(threading.current_thread().name)
        self.data += bytes(b)
        return len(b)


def _encrypt(plain: bytes, write_size: int) -> tuple[bytes, Recording, bool]:
    out = Recording()
    helper_seen = False
    with age.Encryptor(out, [ME.recipient]) as w:
        for at in range(0, len(plain), write_size):
            w.write(plain[at : at + write_size])
            helper_seen = helper_seen or bool(_helpers())
    return bytes(out.data), out, helper_seen


@pytest.mark.parametrize("write_size", [1000, CHUNK_SIZE, 2 * CHUNK_SIZE + 7, 1 << 20])
@pytest.mark.parametrize("size", [40 * CHUNK_SIZE, 40 * CHUNK_SIZE + 123, 25 * CHUNK_SIZE + 1, 24 * CHUNK_SIZE])
def test_large_stream_decrypts_and_keeps_the_framing(batching, write_size, size):
    plain = os.urandom(size)
    data, out, helper_seen = _encrypt(plain, write_size)
    if size >= 40 * CHUNK_SIZE:  # smaller ones may end before the helper starts, by design
        assert helper_seen, "the helper never ran: the test did not reach the path it is about"
    assert decrypt_bytes(data, [ME]) == plain
    # Every chunk full but the last; a full last chunk is not followed by an empty one.
    assert _payload_size(data) == _expected_payload(size)
    assert out.threads == {threading.current_thread().name}, "out was written from another thread"
    assert _wait_for_no_helper()


def test_the_age_cli_decrypts_what_the_helper_sealed(tmp_path, batching):
    cli = require_age()
    plain = os.urandom(37 * CHUNK_SIZE + 11)
    data, _, helper_seen = _encrypt(plain, 100_000)
    assert helper_seen
    (tmp_path / "k").write_text(age.identity_file_text(ME))
    (tmp_path / "in.age").write_bytes(data)
    done = subprocess.run([cli, "-d", "-i", str(tmp_path / "k"), str(tmp_path / "in.age")], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == plain


def test_a_drained_sink_gets_every_byte(batching):
    """As the exports stream it: drain what reached out after each write, the rest after close."""
    plain = os.urandom(30 * CHUNK_SIZE + 5)
    out = Recording()
    pieces = []
    w = age.Encryptor(out, [ME.recipient])
    for at in range(0, len(plain), 50_000):
        w.write(plain[at : at + 50_000])
        pieces.append(bytes(out.data))
        out.data.clear()
    w.close()
    pieces.append(bytes(out.data))
    assert sum(1 for p in pieces[:-1] if p) > 5, "nothing reached the sink before close(): it would not stream"
    assert decrypt_bytes(b"".join(pieces), [ME]) == plain


def test_leaving_through_an_exception_leaves_it_cut_off_with_its_full_chunks(batching):
    plain = os.urandom(30 * CHUNK_SIZE + 5000)
    out = io.BytesIO()
    with pytest.raises(RuntimeError):
        with age.Encryptor(out, [ME.recipient]) as w:
            for at in range(0, len(plain), 100_000):
                w.write(plain[at : at + 100_000])
            assert _helpers()
            raise RuntimeError("camera failed")
    assert _wait_for_no_helper()
    with pytest.raises(age.TruncatedError):
        decrypt_bytes(out.getvalue(), [ME])
    salvaged = io.BytesIO()
    report = age.salvage(io.BytesIO(out.getvalue()), [ME], salvaged)
    assert report.chunks == 30 and salvaged.getvalue() == plain[: 30 * CHUNK_SIZE]


def test_a_full_disk_surfaces_and_leaves_a_valid_prefix(batching):
    out = FullDisk(room=2_500_000)
    w = age.Encryptor(out, [ME.recipient])
    with pytest.raises(OSError, match="No space left"):
        for _ in range(80):
            w.write(os.urandom(CHUNK_SIZE))
    with pytest.raises(age.AgeError, match="earlier write"):
        w.write(b"more")
    w.abort()
    assert _wait_for_no_helper()
    report = age.salvage(io.BytesIO(bytes(out.data)), [ME], io.BytesIO())
    payload_start = bytes(out.data).index(b"\n---") + 49 + 16
    assert report.chunks == (2_500_000 - payload_start) // ENCRYPTED_CHUNK_SIZE


def test_a_dropped_encryptor_stops_its_helper_and_is_not_sealed():
    out = io.BytesIO()
    w = age.Encryptor(out, [ME.recipient])
    w.write(os.urandom(20 * CHUNK_SIZE))
    w.write(os.urandom(20 * CHUNK_SIZE))  # the helper starts at the first write after 16 chunks
    assert _helpers()
    del w
    gc.collect()
    assert _wait_for_no_helper(), "a dropped Encryptor kept its helper thread"
    with pytest.raises(age.TruncatedError):
        decrypt_bytes(out.getvalue(), [ME])


def test_a_sealed_document_never_starts_a_thread():
    before = threading.active_count()
    out = io.BytesIO()
    with age.Encryptor(out, [ME.recipient]) as w:
        for _ in range(100):
            w.write(b"x" * 5000)  # 500 kB in packets, as a small segment comes
            assert not _helpers()
    assert threading.active_count() == before
    assert decrypt_bytes(out.getvalue(), [ME]) == b"x" * 500_000
