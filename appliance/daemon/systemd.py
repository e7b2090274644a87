"""sd_notify without a dependency: READY=1, STOPPING=1 and the watchdog.

Under systemd (``Type=notify``, ``WatchdogSec=``) the service manager sets
``$NOTIFY_SOCKET`` and ``$WATCHDOG_USEC``; elsewhere every call is a no-op.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Callable


def notify(message: str, environ: dict[str, str] | None = None) -> bool:
    """Send ``message`` (e.g. ``"READY=1"``) to systemd; False when not under systemd."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract socket namespace
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.connect(address)
            # Never block the kit on a listener that stopped reading.
            sock.send(message.encode(), socket.MSG_DONTWAIT)
        except OSError:
            return False
    return True


def watchdog_interval(environ: dict[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (half the configured timeout), or None."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        return max(int(usec) / 1_000_000 / 2, 0.05)
    except ValueError:
        return None


class Watchdog:
    """Pings systemd while the kit's main loop keeps beating and ``healthy()`` holds.

    The main loop calls :meth:`beat` on every tick; a loop that hangs stops the
    pings, and systemd restarts the kit instead of leaving one that looks
    alive but records nothing.
    """

    def __init__(self, healthy: Callable[[], bool] = lambda: True,
                 environ: dict[str, str] | None = None, stale_after: float | None = None) -> None:
        self.interval = watchdog_interval(environ)
        self._stale_after = stale_after
        self._environ = environ
        self._healthy = healthy
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_beat = time.monotonic()

    def beat(self) -> None:
        self._last_beat = time.monotonic()

    def _alive(self) -> bool:
        assert self.interval is not None
        stale_after = self._stale_after or max(self.interval, 5.0)
        return time.monotonic() - self._last_beat < stale_after and self._healthy()

    def start(self) -> None:
        if self.interval is None:
            return
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self.interval is not None
        while not self._stop.wait(self.interval):
            if self._alive():
                notify("WATCHDOG=1", self._environ)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)
