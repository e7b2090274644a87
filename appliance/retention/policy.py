"""The school-wide retention policy, as the school server publishes it.

Two settings arrive with the roster (``kit-server setting KEY VALUE``) and
land in the catalogue's ``settings`` table:

* ``close_trajectory_after_days`` (N): footage of a closed or stopped
  trajectory is deleted N days after it closed;
* ``retention_days`` (M): any recording is deleted at the latest M days
  after it was made, trajectory or not.

>>> p = RetentionPolicy.from_settings({"retention_days": 90})
>>> p.after_close_days, p.max_days
(30, 90)
>>> p.deadline("2026-01-01T10:00:00Z", closed_at="2026-01-10T00:00:00Z")
('2026-02-09T00:00:00Z', 'after_close')
>>> p.deadline("2026-01-01T10:00:00Z", closed_at=None)
('2026-04-01T10:00:00Z', 'max_age')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

AFTER_CLOSE_KEY = "close_trajectory_after_days"
MAX_AGE_KEY = "retention_days"
DEFAULT_AFTER_CLOSE_DAYS = 30
DEFAULT_MAX_DAYS = 365
WARN_DAYS = 7


def parse_time(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _days(value: Any, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 3650:
        return value
    return default


@dataclass(frozen=True)
class RetentionPolicy:
    after_close_days: int = DEFAULT_AFTER_CLOSE_DAYS
    max_days: int = DEFAULT_MAX_DAYS

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> "RetentionPolicy":
        return cls(_days(settings.get(AFTER_CLOSE_KEY), DEFAULT_AFTER_CLOSE_DAYS),
                   _days(settings.get(MAX_AGE_KEY), DEFAULT_MAX_DAYS))

    def deadline(self, basis_at: str, closed_at: str | None) -> tuple[str, str]:
        """(delete-at time, reason) for a recording counted from ``basis_at``."""
        latest = parse_time(basis_at) + dt.timedelta(days=self.max_days)
        reason = "max_age"
        if closed_at:
            after_close = parse_time(closed_at) + dt.timedelta(days=self.after_close_days)
            if after_close < latest:
                latest, reason = after_close, "after_close"
        return format_time(latest), reason


def days_left(until: str | None, now: dt.datetime) -> int | None:
    """Whole days left (negative: overdue).

    >>> days_left("2026-01-08T00:00:00Z", parse_time("2026-01-01T12:00:00Z"))
    6
    """
    if not until:
        return None
    return (parse_time(until) - now).days
