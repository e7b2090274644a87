"""One passphrase unwrap at a time, kit-wide, with a short queue and early refusals.

Unwrapping an identity runs scrypt at work factor 18: 256 MiB for about a
second on a Pi. Six at once (one per server thread) take ``kit run`` to
1.6 GiB, and a 2 GiB Pi then kills the kit and the lesson being recorded.
So every scrypt the review app runs goes through this gate: one runs, at
most ``max_waiting`` wait (at most ``max_wait_s`` each, enough for a teacher
and her coach unlocking in the same second), and anyone beyond that is
refused at once with an estimate of when to come back, instead of holding
one of the server's six threads while a flood piles up behind it.

A flood of guesses would still win most places in that queue, so an
attempt from a device that unlocked as that person before (``priority``,
see ``ui.known_device``) waits in a lane of its own and goes next: Anna on
her iPad waits for at most the unwrap that is running.

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
from collections import deque
from contextlib import contextmanager
from typing import Iterator


class GateBusy(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"another key is being opened; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class _Waiter:
    __slots__ = ("granted", "event")

    def __init__(self) -> None:
        self.granted = False
        self.event = threading.Event()


class UnlockGate:
    def __init__(self, max_waiting: int = 2, max_wait_s: float = 3.0, max_priority_waiting: int = 2) -> None:
        self.max_waiting = max_waiting
        self.max_wait_s = max_wait_s
        self.max_priority_waiting = max_priority_waiting
        self._lock = threading.Lock()
        self._busy = False
        self._queues: dict[bool, deque[_Waiter]] = {True: deque(), False: deque()}
        self._typical_s = 1.0  # what an unwrap costs here, learnt as they run
        #: Instrumentation (read by tests and the benchmark): threads inside the slot now,
        #: the most ever inside at once, slots granted and requests refused.
        self.running = 0
        self.peak = 0
        self.granted = 0
        self.refused = 0

    @contextmanager
    def slot(self, priority: bool = False) -> Iterator[None]:
        """Run the block as the only unwrap of the process, or raise :class:`GateBusy`."""
        self._acquire(priority)
        started = time.monotonic()
        try:
            yield
        finally:
            self._release(time.monotonic() - started)

    def _acquire(self, priority: bool) -> None:
        with self._lock:
            if not self._busy:
                self._enter()
                return
            queue = self._queues[priority]
            if len(queue) >= (self.max_priority_waiting if priority else self.max_waiting):
                self.refused += 1
                raise GateBusy(self._retry_after(priority))
            waiter = _Waiter()
            queue.append(waiter)
        waiter.event.wait(self.max_wait_s)
        with self._lock:
            if waiter.granted:
                return  # _release handed the slot over (and counted it)
            queue.remove(waiter)
            self.refused += 1
            raise GateBusy(self._retry_after(priority))

    def _release(self, took_s: float) -> None:
        with self._lock:
            self.running -= 1
            self._typical_s = 0.8 * self._typical_s + 0.2 * took_s
            queue = self._queues[True] or self._queues[False]
            if queue:
                waiter = queue.popleft()
                waiter.granted = True
                self._enter()  # still busy: the slot passes straight to the waiter
                waiter.event.set()
            else:
                self._busy = False

    def _enter(self) -> None:
        self._busy = True
        self.running += 1
        self.peak = max(self.peak, self.running)
        self.granted += 1

    def _retry_after(self, priority: bool) -> int:
        # The queue ahead and the one running, at what unwraps cost on this kit.
        ahead = len(self._queues[True]) + (0 if priority else len(self._queues[False]))
        return max(1, math.ceil((ahead + 1) * self._typical_s))
