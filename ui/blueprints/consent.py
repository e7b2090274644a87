"""Who may watch: the teacher confirms her coach with her own key, the coach accepts.

Only the unlocked teacher can confirm a pair she is the teacher of, and only
the coach of a pair can accept it; either of the two can end it. The admin
account gets 403 like on every personal page. The signatures are made here
with the session's identity (:mod:`appliance.consent`), so nothing the admin
or the school server writes can stand in for them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for

from appliance.consent import Consents, PairState
from appliance.errors import KitError
from ui import web
from ui.i18n import gettext as _

bp = Blueprint("consent", __name__, url_prefix="/consent")


def consents() -> Consents:
    return Consents(web.catalogue())


def _signed(sign: Any, done: str) -> Any:
    """Make the signature with the unlocked key; a refusal (not enrolled, not her key) is a 400."""
    try:
        sign()
    except KitError as exc:
        abort(400, description=str(exc))
    return redirect(url_for("consent.page", done=done))


@bp.get("")
@web.person_required
def page() -> Any:
    me = web.current_session()
    cat = web.catalogue()
    person = cat.get_person(me.person_id)
    if person is None:
        abort(404)
    names = {p.id: p.name for p in cat.person_views()}
    pairs = [dict(p, state=p["state"].value) for p in consents().pairs_of(me.person_id)]
    paired = {p["coach_id"] for p in pairs} if person["role"] == "teacher" else set()
    coaches = [c for c in cat.list_people("coach") if c["signing_key"] and c["id"] not in paired] \
        if person["role"] == "teacher" else []
    return render_template("consent.html", me=person, pairs=pairs, names=names, coaches=coaches,
                           done=request.args.get("done"))


@bp.post("/confirm")
@web.person_required
def confirm() -> Any:
    me = web.current_session()
    person = web.catalogue().get_person(me.person_id)
    if person is None or person["role"] != "teacher":
        abort(403, description=_("Only a teacher confirms who may watch her recordings."))
    return _signed(lambda: consents().confirm(me.person_id, request.form.get("coach", ""), me.identity), "confirmed")


@bp.post("/accept")
@web.person_required
def accept() -> Any:
    me = web.current_session()
    person = web.catalogue().get_person(me.person_id)
    if person is None or person["role"] != "coach":
        abort(403, description=_("Only the coach of a pair accepts it."))
    teacher_id = request.form.get("teacher", "")
    if consents().state(teacher_id, me.person_id) is PairState.NONE:
        abort(404)
    return _signed(lambda: consents().accept(teacher_id, me.person_id, me.identity), "accepted")


@bp.post("/withdraw")
@web.person_required
def withdraw() -> Any:
    me = web.current_session()
    teacher_id, coach_id = request.form.get("teacher", ""), request.form.get("coach", "")
    if me.person_id not in (teacher_id, coach_id):
        abort(404)
    if not consents().withdraw(teacher_id, coach_id):
        abort(404)
    return redirect(url_for("consent.page", done="withdrawn"))
