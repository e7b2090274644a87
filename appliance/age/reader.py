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
import mmap
import os
import stat
from typing import BinaryIO, Iterable

from appliance.age.errors import AgeError, HeaderError, PayloadError
from appliance.age.filekey import Identity, OpenedHeader, open_header
from appliance.age.read_ahead import ReadAhead
from appliance.age.stream import (
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    NONCE_SIZE,
    open_chunk,
    page_aligned_buffer,
    payload_aead,
)

#: Chunks per read from a pipe or terminal: 128 KiB reads cost no more per
#: byte than larger ones, and the buffer stays in the CPU cache.
READ_CHUNKS = 2
#: Chunks per read, and per batch of the helper thread, from a regular file:
#: every hand-over between the threads costs a wake-up, so they come by the MiB.
READ_AHEAD_CHUNKS = 16
#: Chunks opened on the caller's thread before the helper starts: a sealed
#: document of a few KiB never starts a thread.
READ_AHEAD_AFTER = READ_AHEAD_CHUNKS
# Room in front of the read position for the part of a chunk left over
# from the previous read (at most one chunk: a whole one would have been
# handed out).
_FRONT = -(-ENCRYPTED_CHUNK_SIZE // mmap.PAGESIZE) * mmap.PAGESIZE


class ChunkSource:
    """Yields the encrypted chunks of a payload, each with whether it is the last.

    A chunk is the last one when the stream ends right after it, so a chunk
    is handed out only once at least one byte past it has been read (or the
    stream has ended). Reads go straight into one page-aligned buffer, two
    chunks at a time; what is left of a read (the look-ahead byte, or the
    part of a chunk that a pipe delivered so far) is moved to just in front
    of the page where the next read lands. From a regular file that is one
    byte per read, and the chunks are decrypted where they were read.
    """

    def __init__(self, stream: BinaryIO, rest: bytes, read_chunks: int = READ_CHUNKS) -> None:
        self._stream = stream
        self._readinto = getattr(stream, "readinto", None)
        # A full buffer holds read_chunks chunks and the byte that shows
        # whether the last of them is the final one.
        self._full = max(1, read_chunks) * ENCRYPTED_CHUNK_SIZE + 1
        self._base = max(_FRONT, -(-len(rest) // mmap.PAGESIZE) * mmap.PAGESIZE)
        self._view = page_aligned_buffer(self._base + self._full)
        self._start = self._base - len(rest)
        self._end = self._base
        self._view[self._start : self._end] = rest
        self._eof = False

    def _fill(self, need: int) -> None:
        """Read until ``need`` (at most a chunk and a byte) bytes are
        buffered or the stream has ended."""
        view = self._view
        while not self._eof and self._end - self._start < need:
            carry = self._end - self._start
            want = self._full - carry
            if self._end + want > len(view):
                # Usually one byte; less than a chunk, which fits in front.
                view[self._base - carry : self._base] = view[self._start : self._end]
                self._start, self._end = self._base - carry, self._base
            room = view[self._end : self._end + want]
            if self._readinto is not None:
                n = self._readinto(room)
            else:
                block = self._stream.read(want)
                n = None if block is None else len(block)
                if n:
                    room[:n] = block
            if n is None:
                raise AgeError("input would block; give the decryptor a blocking file")
            if n == 0:
                self._eof = True
            self._end += n

    def take(self, n: int) -> memoryview:
        """Up to ``n`` bytes (fewer only at end of file); ``n`` at most one chunk."""
        self._fill(n)
        size = min(n, self._end - self._start)
        out = self._view[self._start : self._start + size]
        self._start += size
        return out

    def next_chunk(self) -> tuple[memoryview, bool]:
        """The next encrypted chunk and whether the file ends right after it."""
        return self.next_chunks(1)[0]

    def next_chunks(self, limit: int) -> list[tuple[memoryview, bool]]:
        """Between 1 and ``limit`` chunks, each with its at-end flag.

        Only what is buffered is handed out once at least one chunk is known,
        so a slow pipe does not hold back a chunk it has delivered. The views
        stay valid until the next call. At end of file the last element is
        the final piece, possibly empty (a payload with no chunks).
        """
        view = self._view
        if self._end - self._start <= ENCRYPTED_CHUNK_SIZE:
            self._fill(ENCRYPTED_CHUNK_SIZE + 1)
        out: list[tuple[memoryview, bool]] = []
        start, end = self._start, self._end
        for _ in range(max(1, limit)):
            if end - start > ENCRYPTED_CHUNK_SIZE:
                out.append((view[start : start + ENCRYPTED_CHUNK_SIZE], False))
                start += ENCRYPTED_CHUNK_SIZE
            else:
                if self._eof:
                    out.append((view[start:end], True))
                    start = end
                break
        self._start = start
        return out

    def at_eof(self) -> bool:
        self._fill(1)
        return self._end == self._start


class PayloadOpener:
    """Opens the chunks of one payload in order, into the caller's buffers.

    Its ``readinto`` follows the file-object rule: the authenticated bytes of
    whole chunks, 0 at the end of the payload, and an error only when no
    authenticated byte is left to hand out. A failed stream stays failed:
    every later call raises the same error. One thread at a time.
    """

    def __init__(self, source: ChunkSource, aead) -> None:
        self._source = source
        self._aead = aead
        self.chunks = 0
        self._done = False
        self._error: AgeError | None = None

    def readinto(self, out: memoryview) -> int:
        """Open as many chunks as fit in ``out`` (at least one chunk long)."""
        if self._error is None and not self._done:
            written = self._open_into(out)
            if written:
                return written
            # Nothing opened: the chunk failed, or it was the empty final one.
        if self._error is None and not self._source.at_eof():
            self._error = PayloadError("trailing data after the end of the encrypted file")
        if self._error is not None:
            raise self._error
        return 0

    def _open_into(self, out: memoryview) -> int:
        written = 0
        for data, at_end in self._source.next_chunks(len(out) // CHUNK_SIZE):
            try:
                size, last, error_after = open_chunk(
                    self._aead, self.chunks, data, at_end, out[written : written + CHUNK_SIZE]
                )
            except AgeError as exc:
                self._error = exc
                return written
            written += size
            self.chunks += 1
            if error_after is not None:
                self._error = error_after
                break
            if last:
                self._done = True
                break
        return written


def _is_regular_file(stream: BinaryIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


class Decryptor(io.RawIOBase):
    """Decrypt an age file from ``stream`` with the first matching identity.

    The header is read and checked in the constructor, so a wrong key fails
    before any plaintext is read. From a regular file, once more than
    the first :data:`READ_AHEAD_AFTER` chunks are out, the next chunks are opened
    on a helper thread while the caller uses the last ones
    (:mod:`appliance.age.read_ahead`); from a pipe or a terminal every chunk
    is opened when it is asked for, so nothing waits for input that has not
    come. ``close()`` stops the helper and wipes the plaintext it held.
    Close the Decryptor (or leave its ``with`` block) before ``stream``: a
    helper still reading while the file closes under it gets an error, or
    for a moment the descriptor number of a file opened meanwhile.
    """

    def __init__(self, stream: BinaryIO, identities: Iterable[Identity]) -> None:
        super().__init__()
        self._start_payload(stream, open_header(stream, identities))

    @classmethod
    def after_header(cls, stream: BinaryIO, opened: OpenedHeader) -> "Decryptor":
        """A decryptor for ``stream`` whose header ``opened`` was already read
        from it (so a passphrase is not run through scrypt twice)."""
        self = cls.__new__(cls)
        io.RawIOBase.__init__(self)
        self._start_payload(stream, opened)
        return self

    def _start_payload(self, stream: BinaryIO, opened: OpenedHeader) -> None:
        self._may_read_ahead = _is_regular_file(stream)
        source = ChunkSource(stream, opened.rest, READ_AHEAD_CHUNKS if self._may_read_ahead else READ_CHUNKS)
        nonce = source.take(NONCE_SIZE)
        if len(nonce) < NONCE_SIZE:
            raise HeaderError("file is truncated: the payload nonce is missing")
        self._opener = PayloadOpener(source, payload_aead(opened.file_key, bytes(nonce)))
        self._ahead: ReadAhead | None = None
        self._plain_view = memoryview(bytearray(CHUNK_SIZE))
        self._plain_start = 0
        self._plain_end = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("read from a closed Decryptor")
        out = memoryview(buffer).cast("B")
        written = 0
        while written < len(out):
            if self._plain_start < self._plain_end:
                n = min(self._plain_end - self._plain_start, len(out) - written)
                out[written : written + n] = self._plain_view[self._plain_start : self._plain_start + n]
                self._plain_start += n
                written += n
                continue
            if self._ahead is None and self._may_read_ahead and self._opener.chunks >= READ_AHEAD_AFTER:
                # From here on the helper thread owns the opener.
                self._ahead = ReadAhead(self._opener.readinto, READ_AHEAD_CHUNKS * CHUNK_SIZE)
            try:
                if self._ahead is not None:
                    n = self._ahead.readinto(out[written:])
                    written += n
                    break
                if len(out) - written >= CHUNK_SIZE:
                    n = self._opener.readinto(out[written:])
                    written += n
                else:
                    n = self._plain_end = self._opener.readinto(self._plain_view)
                    self._plain_start = 0
            except (AgeError, OSError):
                # The error is kept (or the read retried); the authenticated bytes go out first.
                if written:
                    return written
                raise
            if n == 0:
                break
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

    def close(self) -> None:
        ahead = getattr(self, "_ahead", None)
        if ahead is not None:
            ahead.close()
        plain = getattr(self, "_plain_view", None)
        if plain is not None:
            plain[:] = bytes(len(plain))  # no plaintext left behind in memory
        super().close()
