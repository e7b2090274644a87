"""The streaming encryptor: a writable file object producing an age file.

Written data is copied into one of three slots (eight 64 KiB chunks each);
a full slot is sealed on a helper thread while the caller goes on writing.
When the slot comes round again the calling thread seals whatever chunks are
still left, then writes its ciphertext to ``out``, in order. Memory is
constant (about 3 MiB of buffers) whatever the amount written. ``close()`` seals the final chunk; leaving a ``with`` block through an
exception does *not* seal it, so a half-written stream can never be mistaken
for a complete file (it stays detectably cut off and can be salvaged).

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
import itertools
import os
from concurrent.futures import Future
from typing import BinaryIO, Iterable

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from appliance.age import parallel
from appliance.age.errors import AgeError
from appliance.age.filekey import Recipient, seal_header
from appliance.age.stream import (
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    MAX_COUNTER,
    NONCE_SIZE,
    TAG_SIZE,
    chunk_nonce,
    payload_aead,
)

_SLOT_CHUNKS = 8
_SLOT_BYTES = _SLOT_CHUNKS * CHUNK_SIZE
_SLOTS = 3


class _Slot:
    """Plaintext waiting to be sealed, and the ciphertext it became."""

    __slots__ = ("plain", "cipher", "used", "sealed_size", "future", "jobs", "claim", "aead")

    def __init__(self) -> None:
        self.plain = memoryview(bytearray(_SLOT_BYTES))
        self.cipher = memoryview(bytearray(_SLOT_CHUNKS * ENCRYPTED_CHUNK_SIZE))
        self.used = 0
        self.sealed_size = 0
        self.future: Future | None = None
        self.jobs: list[tuple[bytes, memoryview, memoryview]] = []
        self.claim = itertools.count()
        self.aead: ChaCha20Poly1305 | None = None


def _encrypt_claimed(aead: ChaCha20Poly1305, slot: _Slot) -> None:
    """Encrypt the slot's chunks that no other thread has claimed yet.

    Called by the helper and, when it needs the slot back, by the writing
    thread too, so that thread works instead of waiting. ``next()`` on an
    ``itertools.count`` is atomic, so each chunk is claimed exactly once.
    """
    jobs = slot.jobs
    while True:
        i = next(slot.claim)
        if i >= len(jobs):
            return
        nonce, plain, target = jobs[i]
        aead.encrypt_into(nonce, plain, None, target)


class Encryptor(io.RawIOBase):
    """Encrypt everything written to it to ``recipients``, into ``out``.

    The header and payload nonce are written at once; ``out`` is flushed but
    never closed. Errors writing ``out`` (a full disk) are raised by the
    ``write()`` or ``close()`` that writes the affected slot.
    """

    def __init__(self, out: BinaryIO, recipients: Iterable[Recipient]) -> None:
        super().__init__()
        self._out = out
        file_key, header = seal_header(recipients)
        nonce = os.urandom(NONCE_SIZE)
        # pyca does not document AEAD objects as thread-safe, so none is
        # shared: the writing thread has its own, each slot one for its helper.
        self._aead = payload_aead(file_key, nonce)
        self._counter = 0
        self._slots = [_Slot() for _ in range(_SLOTS if parallel.HELPERS else 1)]
        if len(self._slots) > 1:
            for slot in self._slots:
                slot.aead = payload_aead(file_key, nonce)
        self._current = 0
        self._sealed = False
        self._broken = False
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
            # Later slots must not land after a gap: stop writing altogether.
            self._broken = True
            raise

    def _seal(self, slot: _Slot, final: bool) -> None:
        """Fix the nonces of ``slot``'s chunks and start encrypting them."""
        chunks = max(1, -(-slot.used // CHUNK_SIZE))
        if self._counter + chunks > MAX_COUNTER:
            raise AgeError("file too large for the age format")
        jobs = []
        at = 0
        for i in range(chunks):
            plain = slot.plain[i * CHUNK_SIZE : min((i + 1) * CHUNK_SIZE, slot.used)]
            size = len(plain) + TAG_SIZE
            last = final and i == chunks - 1
            jobs.append((chunk_nonce(self._counter, last), plain, slot.cipher[at : at + size]))
            self._counter += 1
            at += size
        slot.sealed_size = at
        slot.jobs = jobs
        slot.claim = itertools.count()
        if len(self._slots) > 1:
            slot.future = parallel.submit(_encrypt_claimed, slot.aead, slot)
        else:
            _encrypt_claimed(self._aead, slot)

    def _drain(self, slot: _Slot, write: bool = True) -> None:
        """Wait for ``slot``'s encryption, write its ciphertext, make it reusable."""
        future, slot.future = slot.future, None
        if future is not None:
            _encrypt_claimed(self._aead, slot)  # help with what is left
            # A job the (shared) helper has not started is not waited for.
            if not future.cancel():
                future.result()
        if slot.sealed_size and write and not self._broken:
            self._write_out(slot.cipher[: slot.sealed_size])
        slot.sealed_size = 0
        slot.used = 0

    def _drain_all(self, write: bool = True) -> None:
        """Drain every slot, oldest first (the one after the current one)."""
        n = len(self._slots)
        for k in range(1, n + 1):
            self._drain(self._slots[(self._current + k) % n], write)

    def write(self, data) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed Encryptor")
        view = memoryview(data).cast("B")
        n = len(view)
        pos = 0
        slot = self._slots[self._current]
        while pos < n:
            if slot.used == _SLOT_BYTES:
                # More data follows, so none of this slot's chunks is the last.
                self._seal(slot, final=False)
                self._current = (self._current + 1) % len(self._slots)
                slot = self._slots[self._current]
                self._drain(slot)
            take = min(_SLOT_BYTES - slot.used, n - pos)
            slot.plain[slot.used : slot.used + take] = view[pos : pos + take]
            slot.used += take
            pos += take
        return n

    def close(self) -> None:
        """Seal the final chunk and flush ``out`` (which stays open)."""
        if self.closed:
            return
        try:
            if not self._sealed:
                self._sealed = True
                self._seal(self._slots[self._current], final=True)
                self._drain_all()
                flush = getattr(self._out, "flush", None)
                if flush is not None:
                    flush()
        finally:
            self._finish()

    def abort(self) -> None:
        """Stop without sealing: ``out`` holds a cut-off (salvageable) stream.

        Every full chunk is still written (as a non-final chunk), so all of
        it can be salvaged; only a buffered partial chunk (under 64 KiB) is
        dropped.
        """
        if self.closed:
            return
        self._sealed = True
        try:
            slot = self._slots[self._current]
            slot.used -= slot.used % CHUNK_SIZE
            if slot.used and not self._broken:
                self._seal(slot, final=False)
            else:
                slot.used = 0
            self._drain_all()
        finally:
            self._finish()

    def _finish(self) -> None:
        try:
            self._drain_all(write=False)  # helpers must be done before we wipe
        finally:
            for slot in self._slots:
                slot.plain[:] = bytes(_SLOT_BYTES)
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
