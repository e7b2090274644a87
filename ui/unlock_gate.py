"""One passphrase unwrap at a time, kit-wide, with a short queue and early refusals.

Unwrapping an identity runs scrypt at work factor 18: 256 MiB for about a
second on a Pi. Six at once (one per server thread) take ``kit run`` to
1.6 GiB, and a 2 GiB Pi then kills the kit and the lesson being recorded.
So every scrypt the review app runs goes through this gate: one runs, at
most ``max_waiting`` wait (at most ``max_wait_s`` each, enough for a teacher
and her coach unlocking in the same second), and anyone beyond that is
refused at once with an estimate of when to come back, instead of holding
one of the server's six threads while a flood piles up behind it.

>>> gate = UnlockGate(max_waiting=0)
>>> with gate.slot():
...     gate.running
1
>>> gate.peak, gate.refused
(1, 0)
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from typing import Iterator


class GateBusy(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"another key is being opened; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class UnlockGate:
    def __init__(self, max_waiting: int = 2, max_wait_s: float = 3.0) -> None:
        self.max_waiting = max_waiting
        self.max_wait_s = max_wait_s
        self._work = threading.Lock()
        self._state = threading.Lock()
        self._waiting = 0
        self._typical_s = 1.0  # what an unwrap costs here, learnt as they run
        #: Instrumentation (read by tests and the benchmark): threads inside the slot now,
        #: the most ever inside at once, slots granted and requests refused.
        self.running = 0
        self.peak = 0
        self.granted = 0
        self.refused = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Run the block as the only unwrap of the process, or raise :class:`GateBusy`."""
        with self._state:
            if self._waiting >= self.max_waiting + (0 if self._work.locked() else 1):
                self.refused += 1
                raise GateBusy(self._retry_after())
            self._waiting += 1
        try:
            got = self._work.acquire(timeout=self.max_wait_s)
        finally:
            with self._state:
                self._waiting -= 1
        if not got:
            with self._state:
                self.refused += 1
                retry = self._retry_after()
            raise GateBusy(retry)
        started = time.monotonic()
        with self._state:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.granted += 1
        try:
            yield
        finally:
            took = time.monotonic() - started
            with self._state:
                self.running -= 1
                self._typical_s = 0.8 * self._typical_s + 0.2 * took
            self._work.release()

    def _retry_after(self) -> int:
        # The queue ahead and the one running, at what unwraps cost on this kit.
        return max(1, math.ceil((self._waiting + 1) * self._typical_s))
