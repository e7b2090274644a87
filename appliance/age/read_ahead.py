"""Opening the next chunks on a helper thread while the caller uses the last.

A caller that decrypts to a file spends about as long in ``write()`` as the
decryptor spends reading and opening chunks. pyca ``cryptography`` 50 and
later releases the GIL while it decrypts, and the kernel copies without it,
so the two overlap on a second core: :class:`ReadAhead` keeps one batch
being opened while the caller copies out the one before. Only chunks the
opener authenticated ever reach a batch, and batches are handed out in
order, so the release rule is the sequential decryptor's own.

The helper holds only the opener and two queues, never the object that
owns it, so a decryptor that is dropped without ``close()`` is still
collected, and its ``close()`` (run by the collector) stops the helper.

>>> from io import BytesIO
>>> ahead = ReadAhead(BytesIO(b"lesson").readinto, batch_size=4)
>>> out = bytearray(16); n = ahead.readinto(memoryview(out)); ahead.close()
>>> bytes(out[:n])
b'lesson'
"""

from __future__ import annotations

import queue
import threading
from typing import Callable

from appliance.age.stream import page_aligned_buffer

#: Batches in flight: one being opened while the caller copies the other.
DEPTH = 2


class _End:
    """The opener's clean end of the payload (its ``readinto`` returned 0)."""


_EOF = _End()


def _open_batches(fill: Callable[[memoryview], int], free: queue.SimpleQueue, ready: queue.SimpleQueue,
                  stop: threading.Event) -> None:
    while True:
        batch = free.get()
        if batch is None or stop.is_set():
            return
        try:
            n = fill(batch)
        except BaseException as exc:  # raised to the caller, in the caller's thread
            ready.put((batch, 0, exc))
            return
        ready.put((batch, n, _EOF if n == 0 else None))
        if n == 0:
            return


class ReadAhead:
    """``readinto`` over ``fill``, which runs ahead on a helper thread.

    ``fill(view)`` writes the next bytes into ``view`` and returns how many
    (0 at the end), or raises; the error is raised by the ``readinto`` that
    reaches it, once everything filled before it has been handed out, and
    by every ``readinto`` after. ``fill`` must not block indefinitely
    (``close()`` waits for the call in progress): give it a regular file.
    """

    def __init__(self, fill: Callable[[memoryview], int], batch_size: int) -> None:
        self._buffers = [page_aligned_buffer(batch_size) for _ in range(DEPTH)]
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self._ready: queue.SimpleQueue = queue.SimpleQueue()
        for batch in self._buffers:
            self._free.put(batch)
        self._stop = threading.Event()
        self._current: memoryview | None = None
        self._pos = self._size = 0
        self._end: object = None  # _EOF or the exception that ended the payload
        self._thread = threading.Thread(target=_open_batches, args=(fill, self._free, self._ready, self._stop),
                                        name="age-read-ahead", daemon=True)
        self._thread.start()

    def readinto(self, out: memoryview) -> int:
        written = 0
        while written < len(out):
            if self._pos < self._size:
                n = min(self._size - self._pos, len(out) - written)
                out[written : written + n] = self._current[self._pos : self._pos + n]
                self._pos += n
                written += n
                continue
            if self._end is not None:
                if self._end is _EOF or written:
                    break
                raise self._end
            if self._current is not None:
                self._free.put(self._current)
            self._current, self._size, end = self._ready.get()
            self._pos = 0
            if end is not None:
                self._end = end
        return written

    def close(self) -> None:
        """Stop the helper (after the batch it is opening) and wipe the plaintext."""
        if self._buffers is None:
            return
        self._stop.set()
        self._free.put(None)
        self._thread.join()
        for batch in self._buffers:
            batch[:] = bytes(len(batch))
        self._buffers = None
        self._current = None
        self._pos = self._size = 0
        if self._end is None:
            self._end = ValueError("read from a closed decryptor")
