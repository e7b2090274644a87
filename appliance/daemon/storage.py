"""Storage guard: never start a recording that cannot last, never fill the disk.

>>> guard = StorageGuard("/", min_minutes=10, reserve_bytes=0, stop_margin_s=6,
...                      disk_usage=lambda p: (0, 0, 1_250_000 * 60 * 12))
>>> round(guard.minutes_left(1_250_000), 1)     # 12 minutes at 10 Mbit/s
12.0
>>> guard.can_start(1_250_000)
True
>>> guard.can_start(2_500_000)                  # twice the rate: 6 minutes
False
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from appliance.errors import KitError


class DiskLow(KitError):
    pass


def _usage(path: Path) -> tuple[int, int, int]:
    usage = shutil.disk_usage(path)
    return usage.total, usage.used, usage.free


class StorageGuard:
    def __init__(
        self,
        data_dir: str | Path,
        min_minutes: float = 10.0,
        reserve_bytes: int = 64 * 1024 * 1024,
        stop_margin_s: float = 6.0,
        disk_usage: Callable[[Path], tuple[int, int, int]] = _usage,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.min_minutes = min_minutes
        self.reserve_bytes = reserve_bytes
        self.stop_margin_s = stop_margin_s
        self._disk_usage = disk_usage

    def usable_bytes(self) -> int:
        """Free bytes we allow ourselves to write (the reserve is never touched)."""
        total, _used, free = self._disk_usage(self.data_dir)
        # Keep at least 1 % of the filesystem free as well, whatever the reserve.
        return max(0, free - max(self.reserve_bytes, total // 100))

    def minutes_left(self, bytes_per_second: float) -> float:
        return self.usable_bytes() / max(bytes_per_second, 1.0) / 60.0

    def can_start(self, bytes_per_second: float) -> bool:
        return self.minutes_left(bytes_per_second) >= self.min_minutes

    def check_start(self, bytes_per_second: float) -> None:
        minutes = self.minutes_left(bytes_per_second)
        if minutes < self.min_minutes:
            raise DiskLow(
                f"disk low: about {minutes:.0f} minutes of recording space left "
                f"(at least {self.min_minutes:g} needed); delete old recordings or sync first"
            )

    def must_stop(self, bytes_per_second: float) -> bool:
        """True when less than ``stop_margin_s`` seconds of recording still fit."""
        return self.usable_bytes() < bytes_per_second * self.stop_margin_s
