"""The recordings encrypted to the unlocked person."""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from typing import Any

from flask import Blueprint, current_app, g, render_template, url_for
from markupsafe import Markup, escape

from appliance.footage import thumbnail
from ui import web
from ui.lesson_labels import labels
from ui.i18n import gettext as _
from ui.i18n import ngettext

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


class DateFormatter:
    """``d MMM yyyy HH:mm`` in the page's language, with the month names looked
    up once (Babel's general formatter is too slow for a 1,000-row page).

    >>> DateFormatter("nl")("2026-03-05T09:07:00Z")
    '5 mrt 2026 09:07'
    """

    def __init__(self, locale: str) -> None:
        from babel.dates import get_month_names

        self.months = get_month_names("abbreviated", locale=locale)

    def __call__(self, started_at: str) -> str:
        try:
            when = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
        except ValueError:
            return started_at
        return f"{when.day} {self.months[when.month].rstrip('.')} {when.year} {when.hour:02d}:{when.minute:02d}"


def format_started(started_at: str, locale: str) -> str:
    return DateFormatter(locale)(started_at)


def format_duration(seconds: float) -> str:
    """
    >>> format_duration(3725)
    '1:02:05'
    """
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _steps() -> dict[str, str]:
    """Each recording's place in its trajectory (metadata, not personal), in words."""
    cat = web.catalogue()
    if cat.query_one("SELECT 1 FROM sqlite_master WHERE name = 'trajectory_recordings'") is None:
        return {}
    baseline = _("baseline")
    return {r["recording_id"]: baseline if r["step"] == 0 else _("recording %(n)s", n=r["step"])
            for r in cat.query("SELECT recording_id, step FROM trajectory_recordings")}


@bp.get("/library")
@web.person_required
def index() -> Any:
    rows = web.catalogue().library_rows(web.current_session().recipients)
    today = datetime.now(timezone.utc).date()
    started = DateFormatter(g.locale)
    href = str(escape(url_for("player.page", recording_id="RECORDING_ID")))
    # Built here rather than in a Jinja loop: a 1,000-row page must render in
    # well under 50 ms, so values that repeat (names, states, retention dates)
    # are escaped and translated once. Every value still goes through escape().
    escaped: dict[str | None, str] = {}
    retention_text: dict[str | None, str] = {}

    def esc(value: str | None) -> str:
        if value not in escaped:
            escaped[value] = str(escape(value if value is not None else "?"))
        return escaped[value]

    def retention(until: str | None) -> str:
        if until not in retention_text:
            days = retention_days(until, today)
            if days is None:
                text = ""
            elif days >= 0:
                text = ngettext("deleted in %(num)s day", "deleted in %(num)s days", days)
            else:
                text = _("due for deletion")
            retention_text[until] = f'<span class="retention">{escape(text)}</span>' if text else ""
        return retention_text[until]

    states = {state: str(escape(_(state))) for state in ("recording", "complete", "interrupted")}
    me = web.current_session().person_id
    token = str(escape(web.current_session().csrf_token))
    delete_action = str(escape(url_for("trajectory.delete_recording", recording_id="RECORDING_ID")))
    delete_word = str(escape(_("Delete")))

    def delete_form(rid: str, when: str) -> str:
        # Only the filmed teacher deletes, and the page asks first (confirm.js).
        question = escape(_("Delete the recording of %(when)s for good? Its clips, codes and shares go too.",
                            when=when))
        return (f'<form method="post" action="{delete_action.replace("RECORDING_ID", esc(rid))}" class="rec-delete"'
                f' data-confirm="{question}"><input type="hidden" name="csrf_token" value="{token}">'
                f'<input type="hidden" name="confirm" value="yes"><input type="hidden" name="back" value="/library">'
                f'<button type="submit" class="danger small">{delete_word}</button></form>')

    def thumb(rid: str) -> str:
        # Sealed while recording (appliance.footage.thumbnail); older lessons have none.
        if not os.path.exists(os.path.join(recordings_dir, rid, thumbnail.NAME)):
            return '<span class="thumb none" aria-hidden="true"></span>'
        return (f'<img class="thumb" src="{thumb_href.replace("RECORDING_ID", esc(rid))}" alt="" loading="lazy"'
                f' width="{thumbnail.WIDTH}" height="{thumbnail.WIDTH * 9 // 16}">')

    words = labels(current_app.extensions["kit_annotations"], [r[0] for r in rows], web.identities())
    steps = _steps()
    items = []
    spherical = f'<span class="badge" title="{escape(_("360° view"))}">360°</span>'
    recordings_dir = current_app.config["KIT_PATHS"].recordings
    thumb_href = str(escape(url_for("player.thumbnail_image", recording_id="RECORDING_ID")))
    for rid, started_at, duration_s, state, until, teacher, coach, teacher_id, projection in rows:
        when = started(started_at)
        lesson = " · ".join(w for w in (*words.get(rid, ()), steps.get(rid, "")) if w)
        search = esc(f"{when} {teacher or ''} {coach or ''} {_(state)} {lesson}".lower())
        items.append(
            f'<li class="rec state-{esc(state)}" data-search="{search}"><a href="{href.replace("RECORDING_ID", esc(rid))}">'
            f'{thumb(rid)}'
            f'<span class="when">{esc(when)}</span>'
            f'<span class="dur">{spherical if projection == "equirectangular" else ""}'
            f'{format_duration(duration_s or 0)}</span>'
            f'{f"""<span class="lesson">{esc(lesson)}</span>""" if lesson else ""}'
            f'<span class="people">{esc(teacher)} · {esc(coach)}</span>'
            f'<span class="state">{states.get(state) or esc(state)}</span>'
            f'{retention(until)}</a>'
            f'{delete_form(rid, when) if teacher_id == me and state != "recording" else ""}</li>')
    return render_template("library.html", count=len(items), rows_html=Markup("\n".join(items)))
