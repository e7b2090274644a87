"""Statistics per lesson or per 10-minute window, as SVG beside the norms."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from markupsafe import Markup

from ui import talk, web
from ui.blueprints.annotate import load, sharing
from ui.i18n import gettext as _, number
from appliance.coding.statistics import WINDOW_S, lesson_statistics
from ui.charts import COLOURS, bar_chart, timeline_chart

bp = Blueprint("stats", __name__)


def window_arg() -> float | None:
    raw = request.args.get("window", "")
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0 <= value < 1e7 else None


def charts(s: dict[str, Any], duration_s: float) -> dict[str, Markup]:
    c = s["counts"]
    q = s["questions"]
    fb = s["feedback"]
    return {
        "counts": Markup(bar_chart(_("Interventions per minute"), [
            (_("instructions"), s["rate_per_min"]["instruction"], COLOURS["instruction"]),
            (_("questions"), s["rate_per_min"]["question"], COLOURS["question"]),
            (_("feedback"), s["rate_per_min"]["feedback"], COLOURS["feedback"]),
        ], unit="/min", number=number)),
        "questions": Markup(bar_chart(_("Question mix"), [
            (_("instructions"), c["instruction"], COLOURS["instruction"]),
            (_("category 1"), q[1], "#9ecae1"),
            (_("category 2 + 3"), q[2] + q[3], COLOURS["question"]),
        ], norm=(_("dashed line: the norm"), c["instruction"] + 0.5), number=number)),
        "feedback": Markup(bar_chart(_("Feedback"), [
            (_("positive"), fb["positive"], COLOURS["positive"]),
            (_("negative"), fb["negative"], COLOURS["negative"]),
        ], norm=(_("dashed line: the norm"), 3 * fb["negative"]) if fb["negative"] else None, number=number)),
        "clips": Markup(bar_chart(_("Pearls and puzzles"), [
            (_("pearls"), s["pearls"], COLOURS["pearl"]),
            (_("puzzles"), s["puzzles"], COLOURS["puzzle"]),
        ], norm=(_("dashed line: the norm"), 2 * s["puzzles"]) if s["puzzles"] else None, number=number)),
        "timeline": Markup(timeline_chart(_("Timeline"), duration_s, s["timeline"], s["clip_spans"], s["window"])),
    }


@bp.get("/recordings/<recording_id>/stats")
@web.person_required
def page(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    doc = load(rec)
    window = window_arg()
    s = lesson_statistics(doc, rec.duration_s, window)
    windows = [i * WINDOW_S for i in range(int(rec.duration_s // WINDOW_S) + 1)] if rec.duration_s else [0.0]
    t = talk.view(rec, doc, s["window"] if window is not None else None)
    strip = Markup(talk.strip_svg(_("Who speaks when"), t.get("duration_s") or rec.duration_s, t["segments"])) \
        if t["state"] == "done" else None
    return render_template("stats.html", rec=rec, s=s, charts=charts(s, rec.duration_s), window=window, num=number,
                           windows=windows, shared=sharing().is_shared(rec.id), talk=t, talk_strip=strip,
                           can_share=web.current_session().person_id == rec.teacher_id)


@bp.post("/recordings/<recording_id>/stats/sharing")
@web.person_required
def set_sharing(recording_id: str) -> Any:
    """The teacher's switch; the coach (also a recipient) may not flip it."""
    rec = web.owned_recording(recording_id)
    if web.current_session().person_id != rec.teacher_id:
        abort(403, description=_("Only the teacher of this lesson can change this."))
    share = request.form.get("share")
    if share not in ("on", "off"):
        abort(400, description=_("Choose whether to share or not."))
    store = current_app.extensions["kit_annotations"]
    store.read_locked(rec.id, web.identities(),
                      lambda doc: sharing().choose(rec.id, share == "on", doc, rec.duration_s,
                                                   talk.summary_for_sharing(rec, doc)))
    return redirect(url_for("stats.page", recording_id=rec.id) + "#sharing")


@bp.post("/recordings/<recording_id>/stats/talk")
@web.person_required
def start_talk(recording_id: str) -> Any:
    """Measure talk and wait time now (the analysis runs in the background)."""
    rec = web.owned_recording(recording_id)
    talk.start(rec)
    return redirect(url_for("stats.page", recording_id=rec.id) + "#talk")
