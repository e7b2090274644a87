"""Failed logins, counted per address and per user name, refused at once.

A refused attempt is answered immediately with how long to wait: no thread
sleeps (a sleeping thread is a thread an attacker holds), and the password
is not even checked (scrypt is the expensive part of a login).

* An address with ``per_address`` failures in the window is refused for any name.
* A name with ``per_user`` failures in the window is refused from every
  address that has failed in the window. An address with no failures still
  gets its try, so someone guessing one account from elsewhere does not lock
  the real person out; a guesser gets one try per fresh address.

>>> clock = [1000.0]
>>> t = LoginThrottle(per_address=3, per_user=2, window_s=60, clock=lambda: clock[0])
>>> for _ in range(2): t.failed("10.0.0.66", "coordinator")
>>> t.wait("10.0.0.66", "coordinator"), t.wait("10.0.0.7", "coordinator")
(60.0, 0.0)
>>> t.failed("10.0.0.66", "someone-else"); t.wait("10.0.0.66", "leader")
60.0
>>> clock[0] += 61; t.wait("10.0.0.66", "coordinator")
0.0
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

MAX_KEYS = 10_000


class LoginThrottle:
    def __init__(self, per_address: int = 10, per_user: int = 5, window_s: float = 900,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_address, self.per_user, self.window_s = per_address, per_user, window_s
        self.clock = clock
        self._addresses: dict[str, deque[float]] = {}
        self._users: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, table: dict[str, deque[float]], key: str, now: float) -> deque[float]:
        times = table.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del table[key]
        return times

    def _until_below(self, times: deque[float], limit: int, now: float) -> float:
        """Seconds until fewer than ``limit`` of ``times`` are in the window."""
        if len(times) < limit:
            return 0.0
        return max(0.0, times[len(times) - limit] + self.window_s - now)

    def wait(self, address: str, user: str) -> float:
        """0 if this attempt may go ahead, else the seconds to wait."""
        with self._lock:
            now = self.clock()
            by_address = self._recent(self._addresses, address, now)
            by_user = self._recent(self._users, user, now)
            wait = self._until_below(by_address, self.per_address, now)
            if by_address:
                wait = max(wait, self._until_below(by_user, self.per_user, now))
            return wait

    def failed(self, address: str, user: str) -> None:
        with self._lock:
            now = self.clock()
            for table, key, limit in ((self._addresses, address, self.per_address),
                                      (self._users, user, self.per_user)):
                times = table.setdefault(key, deque(maxlen=max(limit, 1)))
                times.append(now)
                if len(table) > MAX_KEYS:
                    self._forget_oldest(table, now)

    def _forget_oldest(self, table: dict[str, deque[float]], now: float) -> None:
        for key in list(table):
            self._recent(table, key, now)
        while len(table) > MAX_KEYS:
            del table[min(table, key=lambda k: table[k][-1])]
