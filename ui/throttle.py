"""Slowing down passphrase guessing without locking the real teacher out.

An attempt is *counted before* the passphrase is checked: :meth:`Throttle.begin`
refuses at once (``Refused`` with the seconds to wait) or charges the attempt
as a failure and hands back an :class:`Attempt`; a success takes the charge
back. So twenty requests sent at the same moment from one phone get one
scrypt and nineteen refusals, not twenty guesses. Refusals are immediate
rather than a sleep, so a guesser cannot tie up the server's threads.

Three kinds of key, three limits (defaults in ``ui.config.ReviewConfig``):

``client:<address>`` — per device on the hotspot.
    After ``n`` failures in a row the next attempt waits ``1 s · 2**(n-1)``,
    at most 60 s. A pupil on one phone guessing Anna's passphrase gets about
    one guess a minute once the backoff is full (≈ 50 in a lesson).
``person:<id>`` — per person, over every device that has not unlocked as
    that person before. The first 10 failures cost nothing here; after that each
    attempt must wait ``2 s · 2**(k-1)`` since the last, at most 30 s. This is what
    slows a pupil rotating many phones or addresses: about two guesses a minute
    for Anna however many addresses she uses. It is much looser than the
    client limit so that it can never lock Anna out for long: when the flood
    stops she waits at most 30 s, from any device.
``device:<id>`` — a device that unlocked as this person before (a signed
    cookie, ``ui.known_device``) is judged by its own backoff (like a client)
    instead of the person limit, so Anna on her iPad is not slowed at all by a
    flood of guesses from other devices. A copied cookie shares that one backoff.

A key with no failure for ``forget_s`` (15 min) starts over. A success clears
the client's and the device's backoff and takes back its own charge on the
person; it does not forgive the other devices' failures.

>>> now = [0.0]
>>> t = Throttle(ThrottlePolicy(person_free=2), clock=lambda: now[0])
>>> a = t.begin("client:x", person="person:anna")
>>> t.begin("client:x", person="person:anna")      # the same phone, at the same moment
Traceback (most recent call last):
...
ui.throttle.Refused: wait 1.0 s
>>> now[0] = 1.0; b = t.begin("client:x", person="person:anna"); t.wait_s("client:x")
2.0
>>> c = t.begin("client:y", person="person:anna")  # a third failure for Anna: the person limit starts
>>> t.begin("client:z", person="person:anna")
Traceback (most recent call last):
...
ui.throttle.Refused: wait 2.0 s
>>> t.begin("client:z", device="device:ipad").succeeded()   # Anna's own iPad is not held up
>>> c.cancel(); t.wait_s("person:anna")             # not tried after all (the kit was busy): no charge
0.0
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

#: Above this many keys, expired client entries are dropped (a flood of new addresses must not grow memory).
MAX_KEYS = 10_000


@dataclass(frozen=True)
class ThrottlePolicy:
    client_base_s: float = 1.0
    client_max_s: float = 60.0
    person_free: int = 10
    person_base_s: float = 2.0
    person_max_s: float = 30.0
    forget_s: float = 15 * 60.0


class Refused(Exception):
    def __init__(self, wait_s: float) -> None:
        super().__init__(f"wait {wait_s:.1f} s")
        self.wait_s = wait_s


@dataclass(frozen=True)
class _Entry:
    failures: int
    until: float  # no attempt for this key before this time
    last: float  # time of the last charged attempt


class Throttle:
    def __init__(self, policy: ThrottlePolicy | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy or ThrottlePolicy()
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def begin(self, client: str, person: str | None = None, device: str | None = None) -> "Attempt":
        """Charge one attempt to ``client`` and to ``device`` (if known) or else ``person``; or raise Refused."""
        keys = [client, device] if device else [client, person] if person else [client]
        now = self._clock()
        with self._lock:
            wait = max(self._wait(key, now) for key in keys)
            if wait > 0:
                raise Refused(wait)
            if len(self._entries) > MAX_KEYS:
                self._prune(now)
            charges = []
            for key in keys:
                before = self._live(key, now)
                failures = (before.failures if before else 0) + 1
                entry = _Entry(failures, now + self._delay(key, failures), now)
                self._entries[key] = entry
                charges.append((key, before, entry))
        return Attempt(self, charges)

    def wait_s(self, *keys: str) -> float:
        """Seconds before every one of ``keys`` may try again (0 when they may now)."""
        now = self._clock()
        with self._lock:
            return max([0.0, *(self._wait(key, now) for key in keys)])

    def clear(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._entries.pop(key, None)

    def _delay(self, key: str, failures: int) -> float:
        p = self.policy
        if key.startswith("person:") or key == "admin":
            over = failures - p.person_free
            return 0.0 if over <= 0 else min(p.person_max_s, p.person_base_s * 2 ** (over - 1))
        return min(p.client_max_s, p.client_base_s * 2 ** (failures - 1))

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and now - entry.last > self.policy.forget_s:
            return None
        return entry

    def _wait(self, key: str, now: float) -> float:
        entry = self._live(key, now)
        return 0.0 if entry is None else max(0.0, entry.until - now)

    def _prune(self, now: float) -> None:
        # Person and device keys are few (real people, real unlocks); client keys are whatever a flood invents.
        self._entries = {k: e for k, e in self._entries.items()
                         if not k.startswith("client:") or (e.until > now and now - e.last <= self.policy.forget_s)}

    # -- used by Attempt --------------------------------------------------

    def _settle(self, charges: list[tuple[str, _Entry | None, _Entry]], success: bool) -> None:
        with self._lock:
            for key, before, ours in charges:
                current = self._entries.get(key)
                if success and not (key.startswith("person:") or key == "admin"):
                    self._entries.pop(key, None)
                elif current is ours:
                    # Nobody charged this key since: put back exactly what was there.
                    if before is None:
                        self._entries.pop(key, None)
                    else:
                        self._entries[key] = before
                elif current is not None:
                    # Others charged it meanwhile: take back only our one failure.
                    self._entries[key] = _Entry(max(0, current.failures - 1), current.until, current.last)


class Attempt:
    """One charged attempt: call :meth:`succeeded`, or :meth:`cancel` if the passphrase was never tried."""

    def __init__(self, throttle: Throttle, charges: list) -> None:
        self._throttle = throttle
        self._charges = charges
        self._settled = False

    def succeeded(self) -> None:
        self._finish(success=True)

    def cancel(self) -> None:
        self._finish(success=False)

    def failed(self) -> None:
        """A wrong passphrase: the charge made in ``begin`` stands."""
        self._settled = True

    def _finish(self, success: bool) -> None:
        if not self._settled:
            self._settled = True
            self._throttle._settle(self._charges, success)
