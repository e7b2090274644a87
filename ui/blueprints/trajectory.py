"""Coaching trajectories in the review app: the timeline, preparing a review
meeting (clips with the pearls:puzzles balance, action points), the
before-recording checklist, retention countdowns, deleting one's own
recordings and the audit log.

Only the teacher and the coach of a trajectory see it (others get 404, the
admin 403). Everything personal is read from and written to age documents
with the unlocked person's key; the catalogue gets states and dates only.
The audit log is written by :mod:`ui.audit_hook`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from typing import Any, Iterator

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from markupsafe import Markup

from appliance.audit import AuditLog
from appliance.coding.statistics import lesson_statistics
from appliance.consent import Consents
from appliance.errors import KitError
from appliance.retention import WARN_DAYS, CannotDelete, Retention, days_left
from appliance.trajectory import METHODS, Trajectories
from appliance.trajectory.states import DEFAULT_RECORDINGS, MAX_RECORDINGS, MIN_RECORDINGS, advance, InvalidTransition
from appliance.trajectory.store import position
from ui import talk, web
from ui.blueprints.annotate import load
from ui.blueprints.library import DateFormatter, format_duration, format_started
from ui.charts import COLOURS, spark_bars
from ui.i18n import gettext as _, number

log = logging.getLogger("kit.ui.trajectory")
bp = Blueprint("trajectory", __name__, url_prefix="/trajectories")

#: Actions offered as buttons, in this order, when the state machine allows them.
BUTTONS = ("intake", "review", "close", "pause", "resume", "stop")


# -- plumbing ---------------------------------------------------------------------

def trajectories() -> Trajectories:
    return Trajectories(web.catalogue(), current_app.config["DATA_DIR"])


def retention() -> Retention:
    return Retention(web.catalogue(), current_app.config["DATA_DIR"])


def audit() -> AuditLog:
    return AuditLog(web.catalogue(), current_app.config["DATA_DIR"])


def _mine(trajectory_id: str) -> dict:
    """The trajectory if the unlocked person is its teacher or coach; 404 otherwise."""
    row = trajectories().get(trajectory_id) if len(trajectory_id) <= 64 else None
    me = web.current_session().person_id
    if row is None or me not in (row["teacher_id"], row["coach_id"]):
        abort(404)
    return row


@contextlib.contextmanager
def _saving() -> Iterator[None]:
    """A user's mistake is a 400 with its one line; a full or broken card a 503.

    Encrypted documents are replaced atomically, so after either the previous
    version is still in place.
    """
    try:
        yield
    except KitError as exc:
        abort(400, description=str(exc))
    except OSError as exc:
        abort(503, description=_("Could not save (%(why)s); nothing was changed.", why=exc.strerror or exc))


def _back(trajectory_id: str, anchor: str = "") -> Any:
    return redirect(url_for("trajectory.page", trajectory_id=trajectory_id) + anchor)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def retention_info(until: str | None, now: dt.datetime | None = None) -> dict[str, Any]:
    left = days_left(until, now or _now())
    return {"days": left, "warn": left is not None and left <= WARN_DAYS}


def balance(clips: list[dict]) -> dict[str, Any]:
    """Pearls and puzzles among chosen clips, against the norm of about 2:1.

    >>> balance([{"kind": "pearl"}, {"kind": "pearl"}, {"kind": "puzzle"}])["met"]
    True
    >>> balance([{"kind": "puzzle"}])["met"]
    False
    """
    pearls = sum(1 for c in clips if c.get("kind") == "pearl")
    puzzles = sum(1 for c in clips if c.get("kind") == "puzzle")
    met = puzzles > 0 and 1.5 <= pearls / puzzles <= 2.5
    return {"pearls": pearls, "puzzles": puzzles, "met": met}


# -- pages --------------------------------------------------------------------------

@bp.get("")
@web.person_required
def index() -> Any:
    me = web.current_session()
    store = trajectories()
    store.advance_recorded()
    person = web.catalogue().person_view(me.person_id)
    rows = store.list(me.person_id)
    names = {p.id: p.name for p in web.catalogue().person_views()}
    now = _now()
    recordings = [
        {"rec": r, "started": format_started(r.started_at, g.locale), "duration": format_duration(r.duration_s),
         "retention": retention_info(r.retention_until, now), "mine": r.teacher_id == me.person_id}
        for r in web.catalogue().recordings_for(me.recipients)
    ]
    partners = [p for p in web.catalogue().person_views() if person and p.role != person.role]
    soon = sum(1 for r in recordings if r["retention"]["warn"])
    return render_template("trajectory_list.html", rows=rows, names=names, me=person, partners=partners, soon=soon,
                           methods=METHODS, recordings=recordings, default_count=DEFAULT_RECORDINGS,
                           counts=range(MIN_RECORDINGS, MAX_RECORDINGS + 1), warn_days=WARN_DAYS)


@bp.post("")
@web.person_required
def create() -> Any:
    me = web.current_session()
    person = web.catalogue().person_view(me.person_id)
    other = request.form.get("partner", "")
    if person is None:
        abort(404)
    teacher, coach = (me.person_id, other) if person.role == "teacher" else (other, me.person_id)
    try:
        count = int(request.form.get("planned_recordings", DEFAULT_RECORDINGS))
    except ValueError:
        abort(400, description=_("The number of recordings must be 1 to 5."))
    with _saving():
        row = trajectories().create(teacher, coach, method=request.form.get("method", "beeldcoaching"),
                                    planned_recordings=count,
                                    learning_question=request.form.get("learning_question", ""))
    return _back(row["id"])


@bp.get("/<trajectory_id>")
@web.person_required
def page(trajectory_id: str) -> Any:
    store = trajectories()
    store.advance_recorded()
    row = _mine(trajectory_id)
    doc = store.private(trajectory_id, web.identities())
    names = {p.id: p.name for p in web.catalogue().person_views()}
    now = _now()
    recordings = store.recordings(trajectory_id)
    receipts = retention().receipts_for_trajectory(trajectory_id)
    events = store.events(trajectory_id)
    pos = position(row)
    clips = _clips_by_id(recordings)
    steps = []
    for step in range(0, row["planned_recordings"] + 1):
        meeting = doc["meetings"].get(str(step), {"clips": [], "action_points": []})
        meeting = dict(meeting, shown=[dict(c, **clips.get((c["recording_id"], c["clip_id"]), {"gone": True}))
                                       for c in meeting["clips"]])
        steps.append({
            "step": step,
            "recordings": [dict(r, started=format_started(r["started_at"], g.locale),
                                duration=format_duration(r["duration_s"]),
                                retention=retention_info(r["retention_until"], now))
                           for r in recordings if r["step"] == step],
            "deleted": [r for r in receipts if r["step"] == step],
            "meeting": meeting,
            "balance": balance(meeting["clips"]),
        })
        steps[-1]["status"] = _step_status(step, events, bool(steps[-1]["recordings"] or steps[-1]["deleted"]),
                                           pos.expects_recording)
    allowed = [a for a in BUTTONS if _allowed(pos, a)]
    linked = {r["recording_id"] for r in recordings}
    # The pair's recordings that are in no step yet: one can be attached to a step by hand.
    loose = [dict(id=r.id, started=format_started(r.started_at, g.locale))
             for r in web.catalogue().recordings_for(web.current_session().recipients)
             if (r.teacher_id, r.coach_id) == (row["teacher_id"], row["coach_id"]) and r.id not in linked
             and r.state != "recording" and store.trajectory_of(r.id) is None]
    return render_template("trajectory.html", t=row, doc=doc, steps=steps, names=names, allowed=allowed, loose=loose,
                           events=events, expects=pos.expects_recording,
                           confirmations=store.checklist_confirmations(trajectory_id),
                           is_teacher=web.current_session().person_id == row["teacher_id"],
                           consent=Consents(web.catalogue()).state(row["teacher_id"], row["coach_id"]).value)


@bp.get("/<trajectory_id>/progress")
@web.person_required
def progress(trajectory_id: str) -> Any:
    """Verloop: the key figures of each recording of the trajectory, in step order."""
    row = _mine(trajectory_id)
    rows = [_figures(r) for r in trajectories().recordings(trajectory_id)]
    rows = [r for r in rows if r is not None]
    return render_template("trajectory_progress.html", t=row, rows=rows, charts=_progress_charts(rows), num=number)


def _figures(linked: dict) -> dict[str, Any] | None:
    """One recording's coded figures and talk measures, read exactly as its
    statistics page reads them; None for a recording the unlocked person's
    keys cannot open (it is not shown rather than shown empty)."""
    rec = web.catalogue().recording_view(linked["recording_id"])
    if rec is None or not rec.is_for(web.current_session().recipients):
        return None
    out: dict[str, Any] = {"rec": rec, "step": linked["step"], "started": format_started(rec.started_at, g.locale),
                           "s": None, "talk": None}
    try:
        doc = load(rec)
    except Exception as exc:  # one damaged annotation file must not hide the other recordings
        log.warning("annotations of %s unreadable: %s", rec.id, type(exc).__name__)
        return out
    out["s"] = lesson_statistics(doc, rec.duration_s)
    t = talk.view(rec, doc)
    if t["state"] == "done":
        out["talk"] = {"near_share": t["shares"]["near"], "mean_wait_s": t["mean_wait_s"],
                       "long_wait_share": t["long_wait_share"]}
    return out


def _progress_charts(rows: list[dict]) -> list[Markup]:
    """Small bars per figure across the recordings; a missing figure is a gap, not a zero."""
    labels = [_("baseline") if r["step"] == 0 else str(r["step"]) for r in rows]

    def series(pick):
        return [pick(r) if r["s"] is not None else None for r in rows]

    def percent(v: float | None) -> float | None:
        return None if v is None else round(100 * v)

    figures = [
        (_("instructions"), series(lambda r: r["s"]["counts"]["instruction"]), COLOURS["instruction"], ""),
        (_("questions category 2 + 3"), series(lambda r: r["s"]["higher_questions"]), COLOURS["question"], ""),
        (_("positive feedback"), series(lambda r: r["s"]["feedback"]["positive"]), COLOURS["positive"], ""),
        (_("negative feedback"), series(lambda r: r["s"]["feedback"]["negative"]), COLOURS["negative"], ""),
        (_("teacher talk"), [percent(r["talk"]["near_share"]) if r["talk"] else None for r in rows],
         talk.NEAR_COLOUR, " %"),
        (_("waits of 3 s or more"), [percent(r["talk"]["long_wait_share"]) if r["talk"] else None for r in rows],
         COLOURS["question"], " %"),
    ]
    return [Markup(spark_bars(title, labels, values, colour, unit=unit, number=number))
            for title, values, colour, unit in figures if any(v is not None for v in values)]


def _clips_by_id(recordings: list[dict]) -> dict[tuple[str, str], dict]:
    """(recording id, clip id) -> what the timeline shows of a clip (from the encrypted annotations)."""
    annotations = current_app.extensions["kit_annotations"]
    out = {}
    for rec in recordings:
        try:
            doc = annotations.load(rec["recording_id"], web.identities())
        except Exception as exc:  # a damaged annotation file must not hide the trajectory
            log.warning("annotations of %s unreadable: %s", rec["recording_id"], type(exc).__name__)
            continue
        for clip in doc["clips"]:
            out[(rec["recording_id"], clip["id"])] = {
                "title": clip.get("title", ""), "step": rec["step"],
                "range": f"{format_duration(clip['in'])}–{format_duration(clip['out'])}"}
    return out


def _allowed(pos: Any, action: str) -> bool:
    try:
        advance(pos, action)
        return True
    except InvalidTransition:
        return False


def _step_status(step: int, events: list[dict], has_recording: bool, expects: int | None) -> str:
    """'reviewed', 'recorded', 'next' or '' (still planned) for the timeline."""
    if step > 0 and any(e["action"] == "review" and e["step"] == step for e in events):
        return "reviewed"
    if has_recording:
        return "recorded"
    return "next" if step == expects else ""


@bp.post("/<trajectory_id>/act")
@web.person_required
def act(trajectory_id: str) -> Any:
    _mine(trajectory_id)
    action = request.form.get("action", "")
    with _saving():
        if action == "activate":
            trajectories().activate(trajectory_id)
        elif action in BUTTONS:
            trajectories().act(trajectory_id, action)
        else:
            abort(400)
    return _back(trajectory_id)


@bp.post("/<trajectory_id>/question")
@web.person_required
def question(trajectory_id: str) -> Any:
    _mine(trajectory_id)
    with _saving():
        trajectories().set_learning_question(trajectory_id, web.identities(),
                                             request.form.get("learning_question", ""))
    return _back(trajectory_id)


@bp.post("/<trajectory_id>/checklist")
@web.person_required
def checklist(trajectory_id: str) -> Any:
    row = _mine(trajectory_id)
    if web.current_session().person_id != row["teacher_id"]:
        abort(403, description=_("Only the teacher confirms the checklist for a class."))
    if request.form.get("out_of_frame") != "yes":
        abort(400, description=_("Tick the checklist item to confirm it."))
    with _saving():
        trajectories().confirm_checklist(trajectory_id, web.identities(), request.form.get("class_label", ""),
                                         request.form.get("note", ""))
    return _back(trajectory_id, "#checklist")


@bp.get("/<trajectory_id>/meetings/<int:step>")
@web.person_required
def meeting(trajectory_id: str, step: int) -> Any:
    row = _mine(trajectory_id)
    if not 1 <= step <= row["planned_recordings"]:
        abort(404)
    store = trajectories()
    doc = store.private(trajectory_id, web.identities())
    meeting_doc = doc["meetings"].get(str(step), {"clips": [], "action_points": []})
    chosen = {(c["recording_id"], c["clip_id"]) for c in meeting_doc["clips"]}
    annotations = current_app.extensions["kit_annotations"]
    candidates = []
    for rec in store.recordings(trajectory_id):
        try:
            clips = annotations.load(rec["recording_id"], web.identities())["clips"]
        except Exception as exc:  # a damaged annotation file must not hide the others
            log.warning("annotations of %s unreadable: %s", rec["recording_id"], type(exc).__name__)
            continue
        for clip in clips:
            candidates.append({"recording": rec, "step": rec["step"], "clip": clip,
                               "chosen": (rec["recording_id"], clip["id"]) in chosen,
                               "range": f"{format_duration(clip['in'])}–{format_duration(clip['out'])}"})
    return render_template("trajectory_meeting.html", t=row, step=step, meeting=meeting_doc,
                           candidates=candidates, balance=balance(meeting_doc["clips"]))


@bp.post("/<trajectory_id>/meetings/<int:step>/clips")
@web.person_required
def choose_clips(trajectory_id: str, step: int) -> Any:
    _mine(trajectory_id)
    store = trajectories()
    annotations = current_app.extensions["kit_annotations"]
    wanted = set(request.form.getlist("clip"))
    chosen = []
    with _saving():
        for rec in store.recordings(trajectory_id):
            for clip in annotations.load(rec["recording_id"], web.identities())["clips"]:
                if f"{rec['recording_id']}/{clip['id']}" in wanted:
                    chosen.append({"recording_id": rec["recording_id"], "clip_id": clip["id"],
                                   "kind": clip["kind"]})
        store.choose_clips(trajectory_id, step, web.identities(), chosen)
    return redirect(url_for("trajectory.meeting", trajectory_id=trajectory_id, step=step))


@bp.post("/<trajectory_id>/link")
@web.person_required
def link(trajectory_id: str) -> Any:
    """Attach one of the pair's earlier recordings to a step (the teacher or the coach)."""
    _mine(trajectory_id)
    rec = web.owned_recording(request.form.get("recording", "")[:64])
    try:
        step = int(request.form.get("step", ""))
    except ValueError:
        abort(400, description=_("Choose a step."))
    if trajectories().trajectory_of(rec.id) is not None:
        abort(409, description=_("That recording is already in a trajectory."))
    with _saving():
        trajectories().link_recording(trajectory_id, rec.id, step)
    return redirect(url_for("trajectory.page", trajectory_id=trajectory_id) + f"#step-{step}")


@bp.post("/<trajectory_id>/meetings/<int:step>/actions")
@web.person_required
def add_action(trajectory_id: str, step: int) -> Any:
    _mine(trajectory_id)
    with _saving():
        trajectories().add_action_point(trajectory_id, step, web.identities(), request.form.get("text", ""))
    return redirect(url_for("trajectory.meeting", trajectory_id=trajectory_id, step=step) + "#actions")


@bp.post("/<trajectory_id>/meetings/<int:step>/actions/<point_id>")
@web.person_required
def change_action(trajectory_id: str, step: int, point_id: str) -> Any:
    """Save an edited action point, or delete it (the form's "delete" button)."""
    _mine(trajectory_id)
    text = None if request.form.get("delete") == "yes" else request.form.get("text", "")
    with _saving():
        trajectories().change_action_point(trajectory_id, step, web.identities(), point_id[:64], text)
    return redirect(url_for("trajectory.meeting", trajectory_id=trajectory_id, step=step) + "#actions")


@bp.post("/recordings/<recording_id>/delete")
@web.person_required
def delete_recording(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    me = web.current_session()
    if me.person_id != rec.teacher_id:
        abort(403, description=_("Only the teacher of a recording can delete it."))
    if request.form.get("confirm") != "yes":
        abort(400, description=_("Tick the box to confirm that the recording should be deleted."))
    try:
        retention().delete(rec.id, "teacher_request", by_person=me.person_id)
    except CannotDelete as exc:
        abort(409, description=str(exc))
    except OSError as exc:  # the receipt stays pending; housekeeping finishes the deletion
        abort(503, description=_("Could not delete everything yet (%(why)s); the kit will finish it.",
                                 why=exc.strerror or exc))
    back = request.form.get("back", "")
    return redirect(back if back == "/library" or back.startswith("/trajectories") else url_for("trajectory.index"))


@bp.get("/audit")
@web.person_required
def my_audit() -> Any:
    """Every entry about recordings the unlocked person shares with a teacher or coach."""
    me = web.current_session()
    pairs = {tuple(sorted(r.recipients)) for r in web.catalogue().recordings_for(me.recipients)}
    store = trajectories()
    pairs |= {tuple(sorted(store.recipients(t))) for t in store.list(me.person_id)}
    log_ = audit()
    entries = sorted((e for pair in pairs for e in log_.entries(list(pair), web.identities())),
                     key=lambda e: e.get("at") or "", reverse=True)
    names = {p.id: p.name for p in web.catalogue().person_views()}
    return render_template("trajectory_audit.html", t=None, entries=entries, names=names, lessons=_lessons())


def _lessons() -> dict[str, str]:
    """The date of each recording the person can open, to name it in the Logboek."""
    started = DateFormatter(g.locale)
    return {r.id: started(r.started_at) for r in web.catalogue().recordings_for(web.current_session().recipients)}


@bp.get("/<trajectory_id>/audit")
@web.person_required
def audit_page(trajectory_id: str) -> Any:
    row = _mine(trajectory_id)
    store = trajectories()
    # The pair's entries sit under the keys they had then: a renewed key starts a new directory.
    pairs = {tuple(sorted(store.recipients(row)))}
    pairs |= {tuple(sorted(r.recipients)) for r in web.catalogue().recordings_for(web.current_session().recipients)
              if (r.teacher_id, r.coach_id) == (row["teacher_id"], row["coach_id"])}
    log_ = audit()
    entries = sorted((e for pair in pairs for e in log_.entries(list(pair), web.identities())),
                     key=lambda e: e.get("at") or "", reverse=True)
    names = {p.id: p.name for p in web.catalogue().person_views()}
    return render_template("trajectory_audit.html", t=row, entries=entries, names=names, lessons=_lessons())
