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
from concurrent.futures import Future
from typing import BinaryIO, Iterable

from cryptography.exceptions import InvalidTag

from appliance.age.errors import AgeError, HeaderError, PayloadError, TruncatedError
from appliance.age import parallel
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
_SLOT_BYTES = 8 * CHUNK_SIZE


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
    before any plaintext is read. While the caller consumes one slot of
    plaintext (up to 512 KiB), a helper thread reads and opens the next one;
    only authenticated chunks ever reach a slot.
    """

    def __init__(self, stream: BinaryIO, identities: Iterable[Identity]) -> None:
        super().__init__()
        opened = open_header(stream, identities)
        self._source = ChunkSource(stream, opened.rest)
        nonce = self._source.take(NONCE_SIZE)
        if len(nonce) < NONCE_SIZE:
            raise HeaderError("file is truncated: the payload nonce is missing")
        self._aead = payload_aead(opened.file_key, bytes(nonce))
        # Producer state: touched only by the one job in flight.
        self._counter = 0
        self._finished = False
        # Consumer state.
        self._slots = [memoryview(bytearray(_SLOT_BYTES)) for _ in range(2 if parallel.HELPERS else 1)]
        self._next_slot = 0
        self._view = self._slots[0][:0]
        self._pos = 0
        self._after: AgeError | None = None  # raise once the current slot is consumed
        self._end = False  # the final chunk has been handed out
        self._error: AgeError | None = None  # sticky
        self._inflight: Future | None = None

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

    def _produce(self, slot: memoryview) -> tuple[int, bool, AgeError | None]:
        """Fill ``slot`` with the next authenticated chunks.

        Returns ``(bytes, final_chunk_seen, error)``; the error is raised by
        the consumer after the bytes are handed out.
        """
        written = 0
        try:
            while written + CHUNK_SIZE <= len(slot):
                room = (len(slot) - written) // CHUNK_SIZE
                for data, at_end in self._source.next_chunks(room):
                    size, last, error_after = self._open(
                        self._counter, data, at_end, slot[written : written + CHUNK_SIZE]
                    )
                    written += size
                    self._counter += 1
                    if last or error_after is not None:
                        self._finished = True
                        return written, last, error_after
        except AgeError as exc:
            self._finished = True
            return written, False, exc
        return written, False, None

    def _start_next(self) -> None:
        if self._finished or self._inflight is not None:
            return
        slot = self._slots[self._next_slot]
        self._next_slot = (self._next_slot + 1) % len(self._slots)
        if len(self._slots) > 1:
            self._inflight = parallel.submit(self._produce, slot)
        else:
            self._inflight = Future()
            self._inflight.set_result(self._produce(slot))
        self._inflight.slot = slot  # type: ignore[attr-defined]

    def _advance(self) -> None:
        """Make the next produced slot current and start filling the other one."""
        self._start_next()
        future, self._inflight = self._inflight, None
        if future.cancel():
            # The shared helper is busy elsewhere: fill the slot here instead.
            n, final, error = self._produce(future.slot)  # type: ignore[attr-defined]
        else:
            n, final, error = future.result()
        self._view = future.slot[:n]  # type: ignore[attr-defined]
        self._pos = 0
        self._after = error
        self._end = final and error is None
        if len(self._slots) > 1:  # with one slot, the next fill must wait for the reader
            self._start_next()

    def readinto(self, buffer) -> int:  # type: ignore[override]
        out = memoryview(buffer).cast("B")
        written = 0
        while written < len(out):
            if self._pos < len(self._view):
                n = min(len(self._view) - self._pos, len(out) - written)
                out[written : written + n] = self._view[self._pos : self._pos + n]
                self._pos += n
                written += n
                continue
            if self._after is not None:
                # A failed stream stays failed; authenticated bytes go out first.
                self._error, self._after = self._after, None
            if self._error is not None:
                if written:
                    return written
                raise self._error
            if self._end:
                break
            self._advance()
        return written

    def close(self) -> None:
        if self._inflight is not None:
            if not self._inflight.cancel():
                try:
                    self._inflight.result()  # the helper must stop using our buffers
                except Exception:
                    pass
            self._inflight = None
        super().close()

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
