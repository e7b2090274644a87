"""The streaming encryptor: a writable file object producing an age file.

Chunks are sealed straight from the caller's buffer whenever more data is
known to follow; only the tail of each write (the chunk that might be the
last) is copied aside, and writes smaller than a chunk are only gathered.
Ciphertext is gathered in a 128 KiB batch before it is written. Once
:data:`SEAL_AHEAD_AFTER` chunks are out (a lesson export, not a sealed
document), the plaintext is gathered into 512 KiB batches instead, which a
helper thread and the calling thread seal side by side
(:mod:`appliance.age.seal_ahead`). Memory is constant either way (about
200 KiB, then about 4 MiB) whatever the amount written. ``out`` is only
ever written on the calling thread, inside ``write()`` and ``close()``;
with the helper a sealed batch may reach it a few ``write()`` calls later.

``close()`` seals the final chunk; leaving a ``with`` block through an
exception (or ``abort()``) does *not* seal it, so a half-written stream can
never be mistaken for a complete file (it stays detectably cut off and can
be salvaged).

>>> import io
>>> from appliance.age.keys import generate_identity
>>> me = generate_identity()
>>> out = io.BytesIO()
>>> with Encryptor(out, [me.recipient]) as w:
...     _ = w.write(b"hello")
>>> out.getvalue().startswith(b"age-encryption.org/v1\\n")
True
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO, Iterable

from appliance.age.errors import AgeError
from appliance.age.filekey import Recipient, seal_header
from appliance.age.seal_ahead import SealAhead
from appliance.age.stream import (
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    MAX_COUNTER,
    NONCE_SIZE,
    TAG_SIZE,
    chunk_nonce,
    page_aligned_buffer,
    payload_aead,
)

_BATCH_CHUNKS = 2
#: Chunks sealed on the calling thread alone before the helper starts: a
#: sealed document or a thumbnail never starts a thread.
SEAL_AHEAD_AFTER = 16


class Encryptor(io.RawIOBase):
    """Encrypt everything written to it to ``recipients``, into ``out``.

    The header and payload nonce are written at once; ``out`` is flushed but
    never closed. Errors writing ``out`` (``OSError``, e.g. a full disk) are
    raised by the ``write()`` or ``close()`` that hit them.
    """

    def __init__(self, out: BinaryIO, recipients: Iterable[Recipient]) -> None:
        super().__init__()
        self._out = out
        file_key, header = seal_header(recipients)
        nonce = os.urandom(NONCE_SIZE)
        self._aead = payload_aead(file_key, nonce)
        self._counter = 0
        self._plain = memoryview(bytearray(CHUNK_SIZE))
        self._pending = 0
        self._batch = page_aligned_buffer(_BATCH_CHUNKS * ENCRYPTED_CHUNK_SIZE)
        self._batch_used = 0
        self._sealed = False
        self._broken = False
        self._ahead: SealAhead | None = None
        self._write_out(header + nonce)

    def writable(self) -> bool:
        return True

    def _write_out(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        try:
            while view:
                n = self._out.write(view)
                # Raw files may write less than asked; None means "would block".
                if n is None:
                    raise AgeError("output would block; give the encryptor a blocking file")
                view = view[n:]
        except BaseException:
            # Nothing more may land after a gap in the file.
            self._broken = True
            raise

    def _seal_chunk(self, data: memoryview, last: bool) -> None:
        if self._counter > MAX_COUNTER:
            raise AgeError("file too large for the age format")
        size = len(data) + TAG_SIZE
        if self._batch_used + size > len(self._batch):
            self._flush_batch()
        self._aead.encrypt_into(
            chunk_nonce(self._counter, last), data, None, self._batch[self._batch_used : self._batch_used + size]
        )
        self._batch_used += size
        self._counter += 1

    def _flush_batch(self) -> None:
        if self._batch_used and not self._broken:
            self._write_out(self._batch[: self._batch_used])
        self._batch_used = 0

    def write(self, data) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed Encryptor")
        if self._broken:
            raise AgeError("an earlier write to the output failed: the encrypted file is cut off there")
        view = memoryview(data)
        if view.format != "B":
            view = view.cast("B")
        n = len(view)
        if self._ahead is None and self._counter >= SEAL_AHEAD_AFTER:
            self._start_sealing_ahead()
        if self._ahead is not None:
            self._ahead.write(view)
            return n
        pending = self._pending
        if pending + n <= CHUNK_SIZE:
            # Small writes (media packets) only join the chunk being gathered.
            self._plain[pending : pending + n] = view
            self._pending = pending + n
            return n
        # More data follows, so the chunk being gathered is not the last one.
        pos = 0
        if pending:
            pos = CHUNK_SIZE - pending
            self._plain[pending:] = view[:pos]
            self._pending = CHUNK_SIZE
            self._seal_chunk(self._plain, last=False)
            self._pending = 0
        while n - pos > CHUNK_SIZE:
            self._seal_chunk(view[pos : pos + CHUNK_SIZE], last=False)
            pos += CHUNK_SIZE
        # The tail might be the last chunk: keep it until more data or close().
        self._plain[: n - pos] = view[pos:]
        self._pending = n - pos
        return n

    def _start_sealing_ahead(self) -> None:
        self._flush_batch()
        self._ahead = SealAhead(self._aead, self._counter, self._write_out)
        self._ahead.write(self._plain[: self._pending])
        self._pending = 0

    def close(self) -> None:
        """Seal the final chunk and flush ``out`` (which stays open)."""
        if self.closed:
            return
        try:
            if not self._sealed:
                self._sealed = True
                if self._ahead is not None:
                    self._ahead.finish(last=True)
                else:
                    self._seal_chunk(self._plain[: self._pending], last=True)
                    self._flush_batch()
                flush = getattr(self._out, "flush", None)
                if flush is not None:
                    flush()
        finally:
            self._finish()

    def abort(self) -> None:
        """Stop without sealing: ``out`` holds a cut-off (salvageable) stream.

        Every full chunk is still written (as a non-final chunk), so all of
        it can be salvaged; only a buffered partial chunk is dropped.
        """
        if self.closed:
            return
        self._sealed = True
        try:
            if self._ahead is not None:
                if self._broken:
                    self._ahead.stop()
                else:
                    self._ahead.finish(last=False)
            else:
                if self._pending == CHUNK_SIZE and not self._broken:
                    self._seal_chunk(self._plain, last=False)
                self._flush_batch()
        finally:
            self._finish()

    def _finish(self) -> None:
        if self._ahead is not None:
            self._ahead.stop()
        self._plain[:] = bytes(CHUNK_SIZE)  # no plaintext left behind in memory
        self._pending = 0
        super().close()

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[override]
        if exc_type is None:
            self.close()
        else:
            # Keep the original exception; a failing flush (disk full) adds nothing.
            try:
                self.abort()
            except (OSError, AgeError):
                pass

    def __del__(self) -> None:
        # io.IOBase.__del__ would call close() and seal a stream that was
        # abandoned half-way; an abandoned stream must stay unsealed.
        if not getattr(self, "closed", True):
            try:
                self.abort()
            except Exception:
                pass
