"""Intervisie in the review app: groups, sharing a clip with one, watching and commenting.

Only the filmed teacher shares her clip (her own session, her own keys open
the footage); a share page answers only to someone holding one of the
share's keys, everyone else — her coach if he is not a member, other
teachers, the admin — gets 404 (403 for the admin, as everywhere).
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from appliance import age
from appliance.errors import KitError
from appliance.footage.clip import ClipError
from appliance.intervisie import Changed, NotEnrolled, NotYours, Shares
from ui import web
from ui.blueprints.annotate import load
from ui.blueprints.library import format_started
from ui.blueprints.player import serve_sealed
from ui.i18n import gettext as _

bp = Blueprint("intervisie", __name__)


def shares() -> Shares:
    return Shares(web.catalogue(), current_app.config["DATA_DIR"])


def _me() -> dict:
    person = web.catalogue().get_person(web.current_session().person_id)
    if person is None:
        abort(404)
    return person


@bp.get("/intervisie")
@web.person_required
def index() -> Any:
    me, store = _me(), shares()
    groups = [dict(g, members=store.groups.members(g["id"])) for g in store.groups.of(me["id"])]
    visible = store.list_for(web.current_session().recipients)
    names = {p.id: p.name for p in web.catalogue().person_views()}
    group_names = {g["id"]: g["name"] for g in store.groups.all()}
    people = [p for p in web.catalogue().list_people() if p["id"] != me["id"] and p["signing_key"]]
    return render_template("intervisie.html", me=me, groups=groups, people=people, names=names,
                           group_names=group_names,
                           mine=[s for s in visible if s["teacher_id"] == me["id"]],
                           with_me=[s for s in visible if s["teacher_id"] != me["id"]],
                           done=request.args.get("done"))


@bp.post("/intervisie/groups")
@web.person_required
def create_group() -> Any:
    me = _me()
    if me["role"] != "teacher":
        abort(403, description=_("Teachers start their own intervisie groups."))
    members = [m for m in request.form.getlist("member") if m != me["id"]][:50]
    try:
        shares().groups.create(request.form.get("name", ""), members, created_by=me["id"])
    except KitError:
        abort(400, description=_("A group needs a name and at least one other member from this kit."))
    return redirect(url_for("intervisie.index", done="group"))


def _own_clip(recording_id: str, clip_id: str) -> tuple[Any, dict]:
    rec = web.owned_recording(recording_id)
    if rec.teacher_id != web.current_session().person_id:
        abort(403, description=_("Only the teacher who was filmed can share her footage."))
    for clip in load(rec)["clips"]:
        if clip["id"] == clip_id:
            return rec, clip
    abort(404)


@bp.get("/intervisie/share/<recording_id>/<clip_id>")
@web.person_required
def share_form(recording_id: str, clip_id: str) -> Any:
    rec, clip = _own_clip(recording_id, clip_id)
    store = shares()
    groups = [dict(g, members=store.groups.members(g["id"])) for g in store.groups.of(rec.teacher_id)]
    return render_template("intervisie_share.html", rec=rec, clip=clip, groups=groups, span=_span(clip),
                           started=format_started(rec.started_at, g.locale))


@bp.post("/intervisie/share/<recording_id>/<clip_id>")
@web.person_required
def share(recording_id: str, clip_id: str) -> Any:
    rec, clip = _own_clip(recording_id, clip_id)
    store = shares()
    group_id = request.form.get("group", "")
    if store.groups.get(group_id) is None:
        abort(400, description=_("Choose one of your groups."))
    if not store.groups.is_member(group_id, rec.teacher_id):
        abort(403, description=_("Choose one of your groups."))
    if request.form.get("span", "") != _span(clip):
        abort(409, description=_("The clip changed since you opened this page. Nothing was shared; look again."))
    gate = current_app.extensions.setdefault("kit_share_gate", threading.Lock())
    if not gate.acquire(blocking=False):  # one cut at a time: the kit may be recording
        abort(429, description=_("The kit is making another share right now. Try again in a minute."))
    try:
        row = store.create(rec.id, rec.teacher_id, web.identities(), group_id, float(clip["in"]), float(clip["out"]),
                           title=clip.get("title") or (_("Puzzle") if clip.get("kind") == "puzzle" else _("Pearl")),
                           question=request.form.get("question", ""),
                           expect_members=[m for m in request.form.get(f"members-{group_id}", "").split(",") if m])
    except Changed:
        abort(409, description=_("The group changed since you opened this page. Nothing was shared; look again."))
    except NotYours:
        abort(403, description=_("Only the teacher who was filmed can share her footage."))
    except NotEnrolled as exc:
        abort(400, description=_("Not shared: %(names)s has not enrolled on this kit yet, so nothing can be "
                                 "encrypted to them.", names=", ".join(exc.names)))
    except (ClipError, age.AgeError):
        abort(409, description=_("This part of the recording is damaged and cannot be played."))
    except KitError:
        abort(400, description=_("Not shared: the clip is longer than ten minutes, or the recording is still "
                                 "running or gone."))
    finally:
        gate.release()
    return redirect(url_for("intervisie.share_page", share_id=row["id"]))


def _span(clip: dict) -> str:
    return f"{float(clip['in']):.3f}-{float(clip['out']):.3f}"


def _visible(share_id: str) -> dict:
    row = shares().visible_to(share_id, web.current_session().recipients)
    if row is None:
        abort(404)
    return row


@bp.get("/shares/<share_id>")
@web.person_required
def share_page(share_id: str) -> Any:
    row, store = _visible(share_id), shares()
    ids = web.identities()
    try:
        doc = store.document(share_id, ids)
        comments = store.comments(share_id, ids)
    except (age.AgeError, KitError):
        abort(409, description=_("This share is damaged and cannot be opened."))
    teacher = web.catalogue().get_person(row["teacher_id"])
    group = store.groups.get(row["group_id"])
    return render_template("intervisie_watch.html", row=row, doc=doc, comments=comments,
                           teacher=teacher, group=group, mine=row["teacher_id"] == web.current_session().person_id,
                           started=format_started(doc.get("recording_started_at") or "", g.locale))


@bp.get("/shares/<share_id>/clip.mp4")
@web.person_required
def share_clip(share_id: str) -> Any:
    _visible(share_id)
    return serve_sealed(shares().clip_path(share_id), "video/mp4")


@bp.get("/shares/<share_id>/clip.mp4.age")
@web.person_required
def share_file(share_id: str) -> Any:
    """The portable file: the same age file, for the group's own laptops."""
    from flask import send_file

    _visible(share_id)
    path = shares().clip_path(share_id)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="application/octet-stream", as_attachment=True,
                     download_name=f"{share_id}.mp4.age", max_age=0)


@bp.post("/shares/<share_id>/comments")
@web.person_required
def comment(share_id: str) -> Any:
    _visible(share_id)
    try:
        shares().comment(share_id, _me(), request.form.get("text", ""), web.current_session().recipients)
    except KitError:
        abort(400, description=_("Write a comment first."))
    return redirect(url_for("intervisie.share_page", share_id=share_id) + "#comments")


@bp.post("/shares/<share_id>/withdraw")
@web.person_required
def withdraw(share_id: str) -> Any:
    _visible(share_id)
    try:
        shares().withdraw(share_id, web.current_session().person_id)
    except NotYours:
        abort(403, description=_("Only the teacher who shared it can withdraw it."))
    return redirect(url_for("intervisie.index", done="withdrawn"))
