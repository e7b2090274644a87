"""The recordings encrypted to the unlocked person."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from flask import Blueprint, g, render_template

from ui import web

bp = Blueprint("library", __name__)


def retention_days(retention_until: str | None, today: date | None = None) -> int | None:
    """Whole days until the footage is shredded (``None`` when no date is set).

    >>> retention_days("2030-01-11T00:00:00Z", today=date(2030, 1, 1))
    10
    """
    if not retention_until:
        return None
    try:
        until = datetime.fromisoformat(retention_until.replace("Z", "+00:00")).date()
    except ValueError:
        return None
    return (until - (today or datetime.now(timezone.utc).date())).days


def format_started(started_at: str, locale: str) -> str:
    from babel.dates import format_datetime

    try:
        when = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return started_at
    return format_datetime(when, "d MMM yyyy HH:mm", locale=locale)


def format_duration(seconds: float) -> str:
    """>>> format_duration(3725)
    '1:02:05'
    """
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


@bp.get("/library")
@web.person_required
def index() -> Any:
    recordings = web.catalogue().recordings_for(web.current_session().recipient)
    today = datetime.now(timezone.utc).date()
    rows = [
        {
            "rec": r,
            "started": format_started(r.started_at, g.locale),
            "duration": format_duration(r.duration_s),
            "retention_days": retention_days(r.retention_until, today),
        }
        for r in recordings
    ]
    return render_template("library.html", rows=rows)
