"""The sequential decryptor: a readable file object over an age file.

Plaintext is released only after the chunk it belongs to authenticated, and
errors follow the spec's classes. A chunk that authenticates but is followed by
trailing data is released, and the error is raised by the next read (as the
reference implementation does).

>>> import io
>>> from appliance.age.keys import generate_identity
>>> from appliance.age.writer import Encryptor
>>> me = generate_identity(); buf = io.BytesIO()
>>> with Encryptor(buf, [me.recipient]) as w:
...     _ = w.write(b"lesson")
>>> _ = buf.seek(0)
>>> Decryptor(buf, [me]).read()
b'lesson'
"""

from __future__ import annotations

import io
from typing import BinaryIO, Iterable

from cryptography.exceptions import InvalidTag

from appliance.age.errors import AgeError, HeaderError, PayloadError, TruncatedError
from appliance.age.filekey import Identity, open_header
from appliance.age.stream import (
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    NONCE_SIZE,
    TAG_SIZE,
    chunk_nonce,
    payload_aead,
)

_READ_BLOCK = 2 * ENCRYPTED_CHUNK_SIZE


class ChunkSource:
    """Yields the encrypted chunks of a payload with one chunk of look-ahead.

    Reads in blocks of 16 chunks so that a chunk's last-ness (end of file
    right after it) is known without an extra read per chunk.
    """

    def __init__(self, stream: BinaryIO, rest: bytes) -> None:
        self._stream = stream
        self._buf = bytearray(_READ_BLOCK + ENCRYPTED_CHUNK_SIZE + 1)
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = len(rest)
        self._buf[: self._end] = rest
        self._eof = False

    def _fill(self, need: int) -> None:
        while not self._eof and self._end - self._start < need:
            if self._start:
                remaining = self._end - self._start
                self._buf[:remaining] = self._view[self._start : self._end]
                self._start, self._end = 0, remaining
            readinto = getattr(self._stream, "readinto", None)
            if readinto is not None:
                n = readinto(self._view[self._end :])
            else:
                block = self._stream.read(len(self._buf) - self._end)
                n = len(block)
                self._buf[self._end : self._end + n] = block
            if n is None:
                raise AgeError("input would block; give the decryptor a blocking file")
            if n == 0:
                self._eof = True
            self._end += n

    def take(self, n: int) -> memoryview:
        """Up to ``n`` bytes (fewer only at end of file)."""
        self._fill(n)
        size = min(n, self._end - self._start)
        out = self._view[self._start : self._start + size]
        self._start += size
        return out

    def next_chunk(self) -> tuple[memoryview, bool]:
        """The next encrypted chunk and whether the file ends right after it."""
        return self.next_chunks(1)[0]

    def next_chunks(self, limit: int) -> list[tuple[memoryview, bool]]:
        """Up to ``limit`` (at most 16) chunks, each with its at-end flag.

        The views stay valid until the next call. At end of file the last
        element is the final piece, possibly empty (a payload with no chunks).
        """
        limit = max(1, min(limit, _READ_BLOCK // ENCRYPTED_CHUNK_SIZE))
        self._fill(limit * ENCRYPTED_CHUNK_SIZE + 1)
        out: list[tuple[memoryview, bool]] = []
        while len(out) < limit:
            available = self._end - self._start
            at_end = self._eof and available <= ENCRYPTED_CHUNK_SIZE
            if not at_end and available <= ENCRYPTED_CHUNK_SIZE:
                break  # not sure yet whether this one is the last
            size = available if at_end else ENCRYPTED_CHUNK_SIZE
            out.append((self._view[self._start : self._start + size], at_end))
            self._start += size
            if at_end:
                break
        return out

    def at_eof(self) -> bool:
        self._fill(1)
        return self._end == self._start


class Decryptor(io.RawIOBase):
    """Decrypt an age file from ``stream`` with the first matching identity.

    The header is read and checked in the constructor, so a wrong key fails
    before any plaintext is read.
    """

    def __init__(self, stream: BinaryIO, identities: Iterable[Identity]) -> None:
        super().__init__()
        opened = open_header(stream, identities)
        self._source = ChunkSource(stream, opened.rest)
        nonce = self._source.take(NONCE_SIZE)
        if len(nonce) < NONCE_SIZE:
            raise HeaderError("file is truncated: the payload nonce is missing")
        self._aead = payload_aead(opened.file_key, bytes(nonce))
        self._counter = 0
        self._plain = bytearray(CHUNK_SIZE)
        self._plain_view = memoryview(self._plain)
        self._plain_start = 0
        self._plain_end = 0
        self._done = False
        self._pending_error: AgeError | None = None

    def readable(self) -> bool:
        return True

    def _open(self, index: int, data: memoryview, at_end: bool, target: memoryview):
        """Decrypt one chunk into ``target``; return ``(size, last, error_after)``.

        Raises :class:`PayloadError`; ``target`` then holds zeros, never
        unauthenticated plaintext. ``error_after`` is an error to raise once
        this chunk's (authenticated) plaintext has been handed out.
        """
        if len(data) < TAG_SIZE:
            if index == 0 and len(data) == 0:
                raise TruncatedError("file is truncated: the payload has no chunks")
            raise PayloadError(f"file is truncated or corrupt: chunk {index} is too short")
        size = len(data) - TAG_SIZE
        target = target[:size]
        error_after = None
        try:
            self._aead.decrypt_into(chunk_nonce(index, at_end), data, None, target)
            last = at_end
        except InvalidTag:
            target[:] = bytes(size)
            last = not at_end
            try:
                if size != CHUNK_SIZE:
                    raise InvalidTag
                # A full chunk may be the last one (followed by garbage), or a
                # full chunk at end of file may be a non-last one (cut off).
                self._aead.decrypt_into(chunk_nonce(index, last), data, None, target)
            except InvalidTag:
                target[:] = bytes(size)
                raise PayloadError(
                    f"payload chunk {index} failed to authenticate: file is corrupt or truncated"
                ) from None
            if at_end:
                error_after = TruncatedError(f"file is truncated: it ends after chunk {index} without a final chunk")
            else:
                error_after = PayloadError("trailing data after the end of the encrypted file")
        if last and size == 0 and index > 0:
            raise PayloadError("final chunk is empty; only an empty file may end with one")
        return size, last, error_after

    def _open_batch(self, out: memoryview) -> int:
        """Decrypt as many chunks as fit in ``out`` (at least one); return bytes written.

        Chunks are accepted in order up to the first failure, whose error is
        raised (or deferred if bytes were written).
        """
        room = max(1, len(out) // CHUNK_SIZE)
        chunks = self._source.next_chunks(room)
        jobs = [
            (self._counter + i, data, at_end, out[i * CHUNK_SIZE : (i + 1) * CHUNK_SIZE])
            for i, (data, at_end) in enumerate(chunks)
        ]
        # On this thread: pyca holds the GIL while it decrypts, so another
        # thread would not run at the same time anyway.
        results = [self._open_safely(*job) for job in jobs]
        written = 0
        for i, result in enumerate(results):
            if isinstance(result, AgeError):
                out[written:] = bytes(len(out) - written)
                self._pending_error = result  # a failed stream stays failed
                if not written:
                    raise result
                return written
            size, last, error_after = result
            written += size
            self._counter += 1
            if error_after is not None:
                self._pending_error = error_after
            if last:
                self._done = True
            if last or error_after is not None:
                out[written:] = bytes(len(out) - written)
                break
        return written

    def _open_safely(self, *job):
        try:
            return self._open(*job)
        except AgeError as exc:
            return exc

    def readinto(self, buffer) -> int:  # type: ignore[override]
        out = memoryview(buffer).cast("B")
        written = 0
        while written < len(out):
            if self._plain_start < self._plain_end:
                n = min(self._plain_end - self._plain_start, len(out) - written)
                out[written : written + n] = self._plain_view[self._plain_start : self._plain_start + n]
                self._plain_start += n
                written += n
                continue
            if self._pending_error is not None:
                if written:
                    return written
                raise self._pending_error
            if self._done:
                if not self._source.at_eof():
                    self._done = False
                    self._pending_error = PayloadError("trailing data after the end of the encrypted file")
                    continue
                break
            try:
                if len(out) - written >= CHUNK_SIZE:
                    written += self._open_batch(out[written:])
                else:
                    self._plain_end = self._open_batch(self._plain_view)
                    self._plain_start = 0
            except AgeError as exc:
                # A failed stream stays failed; authenticated bytes go out first.
                self._pending_error = exc
                if not written:
                    raise
                return written
        return written

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if size is not None and size >= 0:
            return super().read(size)
        parts = []
        while True:
            block = super().read(1 << 20)
            if not block:
                return b"".join(parts)
            parts.append(block)

    def readall(self) -> bytes:
        return self.read()
