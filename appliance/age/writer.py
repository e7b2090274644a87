"""The streaming encryptor: a writable file object producing an age file.

Memory is constant (one plaintext chunk plus one output batch of about 1 MiB)
whatever the amount written. ``close()`` seals the final chunk; leaving a
``with`` block through an exception does *not* seal it, so a half-written
stream can never be mistaken for a complete file (it stays detectably cut
off and can be salvaged).

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
from appliance.age.parallel import run_split
from appliance.age.stream import (
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    MAX_COUNTER,
    NONCE_SIZE,
    chunk_nonce,
    payload_aead,
)

_BATCH_CHUNKS = 2


class Encryptor(io.RawIOBase):
    """Encrypt everything written to it to ``recipients``, into ``out``.

    The header and payload nonce are written at once; ``out`` is flushed but
    never closed.
    """

    def __init__(self, out: BinaryIO, recipients: Iterable[Recipient]) -> None:
        super().__init__()
        self._out = out
        file_key, header = seal_header(recipients)
        nonce = os.urandom(NONCE_SIZE)
        self._aead = payload_aead(file_key, nonce)
        self._counter = 0
        self._plain = bytearray(CHUNK_SIZE)
        self._plain_view = memoryview(self._plain)
        self._pending = 0
        self._batch = bytearray(_BATCH_CHUNKS * ENCRYPTED_CHUNK_SIZE)
        self._batch_view = memoryview(self._batch)
        self._batch_used = 0
        self._jobs: list[tuple[bytes, memoryview, memoryview]] = []
        self._sealed = False
        self._write_out(header + nonce)

    def writable(self) -> bool:
        return True

    def _write_out(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            n = self._out.write(view)
            # Raw files may write less than asked; None means "would block".
            if n is None:
                raise AgeError("output would block; give the encryptor a blocking file")
            view = view[n:]

    def _seal_chunk(self, data: memoryview, last: bool) -> None:
        """Queue ``data`` as the next chunk; it is encrypted by :meth:`_run_jobs`."""
        if self._counter > MAX_COUNTER:
            raise AgeError("file too large for the age format")
        size = len(data) + 16
        if self._batch_used + size > len(self._batch):
            self._flush_batch()
        target = self._batch_view[self._batch_used : self._batch_used + size]
        self._jobs.append((chunk_nonce(self._counter, last), data, target))
        self._batch_used += size
        self._counter += 1

    def _run_jobs(self) -> None:
        if self._jobs:
            jobs, self._jobs = self._jobs, []
            run_split(self._encrypt_into, jobs)

    def _encrypt_into(self, nonce: bytes, data: memoryview, target: memoryview) -> None:
        self._aead.encrypt_into(nonce, data, None, target)

    def _flush_batch(self) -> None:
        self._run_jobs()
        if self._batch_used:
            self._write_out(self._batch_view[: self._batch_used])
            self._batch_used = 0

    def write(self, data) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed Encryptor")
        view = memoryview(data).cast("B")
        n = len(view)
        pos = 0
        try:
            while pos < n:
                if self._pending == CHUNK_SIZE:
                    # More data follows, so the buffered chunk is not the last one.
                    self._seal_chunk(self._plain_view, last=False)
                    self._pending = 0
                if self._pending == 0 and n - pos > CHUNK_SIZE:
                    self._seal_chunk(view[pos : pos + CHUNK_SIZE], last=False)
                    pos += CHUNK_SIZE
                    continue
                # Queued chunks may point into the plaintext buffer or the
                # caller's data: encrypt them before either changes.
                self._run_jobs()
                take = min(CHUNK_SIZE - self._pending, n - pos)
                self._plain_view[self._pending : self._pending + take] = view[pos : pos + take]
                self._pending += take
                pos += take
        finally:
            self._run_jobs()
        return n

    def close(self) -> None:
        """Seal the final chunk and flush ``out`` (which stays open)."""
        if self.closed:
            return
        try:
            if not self._sealed:
                self._sealed = True
                self._seal_chunk(self._plain_view[: self._pending], last=True)
                self._flush_batch()
                flush = getattr(self._out, "flush", None)
                if flush is not None:
                    flush()
        finally:
            self._drop_secrets()
            super().close()

    def abort(self) -> None:
        """Stop without sealing: ``out`` holds a cut-off (salvageable) stream."""
        if not self.closed:
            self._sealed = True
            try:
                self._flush_batch()
            finally:
                self._drop_secrets()
                super().close()

    def _drop_secrets(self) -> None:
        self._jobs = []
        self._plain_view[:] = bytes(CHUNK_SIZE)
        self._batch_used = 0

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[override]
        if exc_type is None:
            self.close()
        else:
            # Keep the original exception; a failing flush (disk full) adds nothing.
            try:
                self.abort()
            except OSError:
                pass

    def __del__(self) -> None:
        # io.IOBase.__del__ would call close() and seal a stream that was
        # abandoned half-way; an abandoned stream must stay unsealed.
        if not self.closed:
            try:
                self.abort()
            except Exception:
                pass
