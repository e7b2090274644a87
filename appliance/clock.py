"""Wall-clock time on a computer without a real-time clock.

A Raspberry Pi starts with whatever time ``fake-hwclock`` saved at the last
shutdown, so a wall time is only believable once something trustworthy
(NTP, the school server during sync, a browser on the kit's Wi-Fi) has told
us the time. Until then every event is stored as a *monotonic offset* within
the current boot (``boot_id`` + ``CLOCK_BOOTTIME`` seconds) together with the
best-guess wall time and ``clock_trusted = False``; when trusted time
arrives, wall times of this boot are recomputed from the offsets.

>>> clock = Clock(boot_id="b1", monotonic=lambda: 100.0, wall=lambda: 0.0,
...               synchronized=lambda: False)
>>> clock.now().trusted
False
>>> clock.trust(1_700_000_000.0)      # now is 2023-11-14T22:13:20Z
>>> clock.now().wall_iso
'2023-11-14T22:13:20.000000Z'
>>> clock.wall_at(90.0)                # ten seconds earlier in this boot
'2023-11-14T22:13:10.000000Z'
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
# systemd-timesyncd creates this file once the system clock is NTP-synchronised.
TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")

_FALLBACK_BOOT_ID = uuid.uuid4().hex


def read_boot_id() -> str:
    """The kernel's id of this boot (changes on every power cycle)."""
    try:
        return BOOT_ID_PATH.read_text().strip().replace("-", "")
    except OSError:
        return _FALLBACK_BOOT_ID


def boottime() -> float:
    """Seconds since boot, counting suspend; never jumps when the wall clock is set."""
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):
        return time.monotonic()


def system_clock_synchronized() -> bool:
    return TIMESYNC_FLAG.exists()


def iso_utc(epoch: float) -> str:
    moment = _dt.datetime.fromtimestamp(epoch, tz=_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso_utc(text: str) -> float:
    """Seconds since the epoch from an ISO 8601 time (``Z`` or an offset)."""
    moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.timestamp()


@dataclass(frozen=True)
class Stamp:
    """One moment: where it sits in this boot and what the wall clock said."""

    boot_id: str
    mono: float
    wall: float
    trusted: bool

    @property
    def wall_iso(self) -> str:
        return iso_utc(self.wall)


class Clock:
    """Monotonic time with an optional trusted offset to wall time, per boot."""

    def __init__(
        self,
        boot_id: str | None = None,
        monotonic: Callable[[], float] = boottime,
        wall: Callable[[], float] = time.time,
        synchronized: Callable[[], bool] = system_clock_synchronized,
    ) -> None:
        self.boot_id = boot_id or read_boot_id()
        self._monotonic = monotonic
        self._wall = wall
        self._synchronized = synchronized
        self._offset: float | None = None  # trusted wall - monotonic, this boot
        self._lock = threading.Lock()

    @property
    def trusted(self) -> bool:
        with self._lock:
            return self._offset is not None or self._synchronized()

    @property
    def offset(self) -> float | None:
        with self._lock:
            return self._offset

    def monotonic(self) -> float:
        return self._monotonic()

    def now(self) -> Stamp:
        mono = self._monotonic()
        with self._lock:
            if self._offset is not None:
                return Stamp(self.boot_id, mono, mono + self._offset, True)
        return Stamp(self.boot_id, mono, self._wall(), self._synchronized())

    def trust(self, now_epoch: float, offset: float | None = None) -> None:
        """Adopt ``now_epoch`` (seconds since the epoch) as the true time now."""
        with self._lock:
            self._offset = offset if offset is not None else now_epoch - self._monotonic()

    def wall_at(self, mono: float) -> str | None:
        """Trusted wall time of a monotonic moment of this boot, if known."""
        with self._lock:
            if self._offset is None:
                return None
            return iso_utc(mono + self._offset)
