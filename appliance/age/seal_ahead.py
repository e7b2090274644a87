"""Sealing chunks on a second core while the caller gathers the next ones.

The streaming :class:`~appliance.age.writer.Encryptor` spends most of its
time in ChaCha20-Poly1305, one chunk after the other. pyca ``cryptography``
50 and later releases the GIL while it seals, so a helper thread can seal
one batch of chunks while the caller copies in the next, writes out the one
before, or seals one itself. :class:`SealAhead` keeps a few batches (slots)
in flight and writes them to ``out`` strictly in file order, always on the
caller's thread: ``out`` never sees a second thread, so a caller that drains
``out`` after every ``write()`` (the exports' streaming responses) still
can. The price is that a sealed batch may reach ``out`` a few ``write()``
calls after its plaintext came in; ``finish()`` writes the rest.

The helper holds the AEAD and two queues, never the encryptor, so an
encryptor dropped half-way is still collected and its abort stops the
helper. Memory is fixed: ``SLOTS`` batches of plaintext and ciphertext.

>>> from appliance.age.stream import payload_aead
>>> out = []
>>> ahead = SealAhead(payload_aead(bytes(16), bytes(16)), 0, out.append, chunks=1)
>>> ahead.write(memoryview(bytes(3 * CHUNK_SIZE + 5)))
>>> ahead.finish(last=True)
>>> sum(len(b) for b in out) == 3 * CHUNK_SIZE + 5 + 4 * TAG_SIZE
True
"""

from __future__ import annotations

import collections
import queue
import threading
from typing import Callable

from appliance.age.errors import AgeError
from appliance.age.stream import CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, MAX_COUNTER, TAG_SIZE, chunk_nonce, page_aligned_buffer

#: Batches in memory: one being filled, up to HELPER_QUEUE with the helper,
#: the rest sealed on the caller's thread or waiting to be written.
SLOTS = 4
#: Batches the helper may hold before the caller seals one itself: with a
#: slow ``out`` the caller is busy writing and the helper does the sealing;
#: with a fast one both seal.
HELPER_QUEUE = 2
#: Chunks per batch (512 KiB): each hand-over costs a thread wake-up.
BATCH_CHUNKS = 8


class _Slot:
    __slots__ = ("plain", "sealed", "used", "first", "size", "ready", "error")

    def __init__(self, chunks: int) -> None:
        self.plain = page_aligned_buffer(chunks * CHUNK_SIZE)
        self.sealed = page_aligned_buffer(chunks * ENCRYPTED_CHUNK_SIZE)
        self.used = 0  # plaintext bytes gathered
        self.first = 0  # counter of its first chunk
        self.size = 0  # ciphertext bytes once sealed
        self.ready = False
        self.error: BaseException | None = None


def _seal(aead, slot: _Slot, last: bool) -> None:
    """Seal the slot's plaintext as chunks ``first``…; the final one marked
    last if ``last`` (a full final chunk stays full; no plaintext at all is
    one empty chunk)."""
    plain, sealed, n = slot.plain, slot.sealed, slot.used
    pos = out = 0
    counter = slot.first
    while True:
        size = min(CHUNK_SIZE, n - pos)
        final = last and pos + size == n
        aead.encrypt_into(chunk_nonce(counter, final), plain[pos : pos + size], None,
                          sealed[out : out + size + TAG_SIZE])
        pos += size
        out += size + TAG_SIZE
        counter += 1
        if pos == n:
            break
    slot.size = out


def _seal_slots(aead, todo: queue.SimpleQueue, done: queue.SimpleQueue) -> None:
    while (slot := todo.get()) is not None:
        try:
            _seal(aead, slot, last=False)
        except BaseException as exc:  # raised on the caller's thread
            slot.error = exc
        done.put(slot)


class SealAhead:
    """Gathers plaintext into batches, seals them on two threads, writes them in order.

    ``write_out(view)`` writes one sealed batch to the output, on the
    caller's thread, or raises (a full disk); after that the stream is
    broken and only :meth:`stop` is left to call.
    """

    def __init__(self, aead, counter: int, write_out: Callable[[memoryview], None],
                 chunks: int = BATCH_CHUNKS) -> None:
        self._aead = aead
        self._counter = counter
        self._write_out = write_out
        self._free = [_Slot(chunks) for _ in range(SLOTS)]
        self._all = list(self._free)
        self._fill = self._free.pop()
        self._order: collections.deque[_Slot] = collections.deque()
        self._with_helper = 0
        self._todo: queue.SimpleQueue = queue.SimpleQueue()
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=_seal_slots, args=(aead, self._todo, self._done),
                                        name="age-seal-ahead", daemon=True)
        self._thread.start()

    def write(self, view: memoryview) -> None:
        """Take all of ``view`` (copied: the caller may reuse its buffer)."""
        while view:
            fill = self._fill
            if fill.used == len(fill.plain):
                # More data follows, so none of its chunks is the last one.
                self._submit()
                fill = self._fill
            n = min(len(view), len(fill.plain) - fill.used)
            fill.plain[fill.used : fill.used + n] = view[:n]
            fill.used += n
            view = view[n:]

    def _number(self, slot: _Slot, chunks: int) -> None:
        if self._counter + chunks - 1 > MAX_COUNTER:
            raise AgeError("file too large for the age format")
        slot.first = self._counter
        self._counter += chunks

    def _submit(self) -> None:
        slot = self._fill
        self._number(slot, slot.used // CHUNK_SIZE)
        self._collect(block=False)
        slot.ready = False
        if self._with_helper < HELPER_QUEUE:
            self._with_helper += 1
            self._todo.put(slot)
        else:
            _seal(self._aead, slot, last=False)
            slot.ready = True
        self._order.append(slot)
        self._write_ready()
        while not self._free:
            # The oldest batch is still with the helper.
            if not self._with_helper:
                raise AgeError("no batch is free and none is being sealed: the output failed earlier")
            self._collect(block=True)
            self._write_ready()
        self._fill = self._free.pop()

    def _collect(self, block: bool) -> None:
        while self._with_helper:
            try:
                slot = self._done.get() if block else self._done.get_nowait()
            except queue.Empty:
                return
            self._with_helper -= 1
            slot.ready = True
            if slot.error is not None:
                raise slot.error
            if block:
                return

    def _write_ready(self) -> None:
        self._collect(block=False)
        while self._order and self._order[0].ready:
            slot = self._order.popleft()
            self._write_out(slot.sealed[: slot.size])
            slot.used = 0
            self._free.append(slot)

    def finish(self, last: bool) -> None:
        """Write every batch in order, then what is being gathered: sealed
        with its final chunk marked last if ``last``, else only its full
        chunks, as non-final ones (an aborted stream stays detectably cut
        off). Then stop the helper."""
        try:
            while self._order:
                self._collect(block=not self._order[0].ready)
                self._write_ready()
            fill = self._fill
            if not last:
                fill.used -= fill.used % CHUNK_SIZE
            if last or fill.used:
                self._number(fill, max(1, -(-fill.used // CHUNK_SIZE)))
                _seal(self._aead, fill, last)
                self._write_out(fill.sealed[: fill.size])
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop the helper (after the batch it is sealing) and wipe the plaintext. Idempotent."""
        if self._all is None:
            return
        self._todo.put(None)
        self._thread.join()
        for slot in self._all:
            slot.plain[:] = bytes(len(slot.plain))
        self._all = None
        self._order.clear()
