"""Slowing down wrong passphrases, per person and per client.

After ``n`` consecutive failures for a key (a person id, or a client
address) the next attempt for that key is refused until
``base * 2**(n-1)`` seconds (at most ``max``) have passed. A success clears
the person's and the client's count. The refusal is immediate rather than a
sleep, so a guesser cannot tie up the server's threads.

>>> now = [0.0]
>>> t = Throttle(base_s=1, max_s=8, clock=lambda: now[0])
>>> t.failure("person:a", "client:x"); t.wait_s("person:a", "client:y")
1.0
>>> now[0] = 1.0; t.wait_s("person:a")
0.0
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class Throttle:
    def __init__(self, base_s: float, max_s: float, clock: Callable[[], float] = time.monotonic):
        self.base_s = base_s
        self.max_s = max_s
        self._clock = clock
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, *keys: str) -> float:
        """Seconds before any of ``keys`` may try again (0 when it may now)."""
        now = self._clock()
        with self._lock:
            waits = [until - now for count, until in (self._failures.get(k, (0, 0.0)) for k in keys)]
        return max([0.0, *waits])

    def failure(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) > 10_000:
                self._failures = {k: v for k, v in self._failures.items() if v[1] > now}
            for key in keys:
                count = self._failures.get(key, (0, 0.0))[0] + 1
                delay = min(self.max_s, self.base_s * 2 ** (count - 1))
                self._failures[key] = (count, now + delay)

    def success(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
