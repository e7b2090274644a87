"""The admin account ("Beheer"): people, the assignment and the kit's state, never footage.

The admin invites people (a one-time code, shown once) but never types,
sees or sets anyone's passphrase: the person enrols herself on the kit's
page. Assigning a pair only chooses; the kit records for it once the
teacher has confirmed it with her own key. The school's settings are shown,
not edited: they come from the school server, and none of them can make a
teacher share what she did not choose to.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from appliance.consent import Consents
from appliance.consent.invitations import Invitations
from appliance.errors import KitError
from appliance.retention.policy import AFTER_CLOSE_KEY, DEFAULT_AFTER_CLOSE_DAYS, DEFAULT_MAX_DAYS, MAX_AGE_KEY
from sync.protocol import SETTINGS
from ui import kit_health, web
from ui.blueprints.auth import wait_sentence
from ui.i18n import N_, gettext as _
from ui.throttle import Refused
from ui.unlock_gate import GateBusy

bp = Blueprint("admin", __name__, url_prefix="/admin")
# What the Beheer page shows of the school's settings: (key, words with the value, the kit's default).
SCHOOL_SETTINGS = [
    (MAX_AGE_KEY, N_("Recordings are kept at most %(n)s days"), DEFAULT_MAX_DAYS),
    (AFTER_CLOSE_KEY, N_("Deleted %(n)s days after their trajectory closes"), DEFAULT_AFTER_CLOSE_DAYS),
    ("sync_period_s", N_("Syncs every %(n)s seconds while connected"), 900),
    ("intervisie_counts", N_("Counts of intervisie shares per group go to the school: %(n)s"), False),
]
assert {key for key, _label, _default in SCHOOL_SETTINGS} == set(SETTINGS)


def _shown(value: Any) -> Any:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return value


@bp.get("/login")
def login() -> Any:
    return render_template("admin_login.html", error=None)


@bp.post("/login")
def login_post() -> Any:
    throttle = current_app.extensions["kit_throttle"]
    try:
        # Counted before the password is checked, like an unlock (ui.throttle).
        attempt = throttle.begin(f"admin-client:{request.remote_addr}", person="admin")
    except Refused as refused:
        wait = math.ceil(refused.wait_s)
        msg = _("Too many wrong passwords.") + " " + wait_sentence(wait)
        return render_template("admin_login.html", error=msg), 429, {"Retry-After": str(wait)}
    account = current_app.extensions["kit_admin"]
    if not account.is_set():
        attempt.cancel()
        return render_template("admin_login.html", error=_("No admin password is set on this kit yet.")), 409
    try:
        with current_app.extensions["kit_unlock_gate"].slot():  # scrypt too: one at a time
            right = account.check(request.form.get("password", ""))
    except GateBusy as busy:
        attempt.cancel()
        msg = _("The kit is opening another key right now.") + " " + wait_sentence(busy.retry_after_s)
        return render_template("admin_login.html", error=msg), 429, {"Retry-After": str(busy.retry_after_s)}
    if not right:
        attempt.failed()
        return render_template("admin_login.html", error=_("That password is not right.")), 401
    attempt.succeeded()
    session = web.current_session()
    session.forget_key()  # an admin session never holds a person's key
    web.store().rotate(session)
    g.session_rotated = True
    session.role = "admin"
    return redirect(url_for("admin.index"))


def _page(message: str | None = None, error: str | None = None, status: int = 200, **extra: Any) -> Any:
    cat = web.catalogue()
    tls = current_app.extensions.get("kit_tls")
    settings = cat.all_settings()
    consents = Consents(cat)
    assignment = cat.get_assignment()
    return render_template(
        "admin.html", people=cat.list_people(), assignment=assignment,
        consent_problem=consents.problem(assignment["teacher"]["id"], assignment["coach"]["id"]) if assignment else None,
        # Only what the school decides (published by the server), shown, never edited here.
        school_settings=[(label, _shown(settings.get(key, default)), key not in settings)
                         for key, label, default in SCHOOL_SETTINGS],
        invitations=Invitations(cat, current_app.config["DATA_DIR"]).pending(),
        refused_keys=cat.query("SELECT r.person_id, p.name, r.refused_at FROM refused_key_changes r"
                               " LEFT JOIN people p ON p.id = r.person_id ORDER BY r.refused_at DESC LIMIT 20"),
        message=message, error=error, certificate=tls.status() if tls is not None else None,
        health=kit_health.readings(), **extra), status


@bp.get("/")
@web.admin_required
def index() -> Any:
    return _page(message=request.args.get("done"))


def _page_with_error(message: str, status: int = 400) -> Any:
    return _page(error=message, status=status)


@bp.post("/invitations")
@web.admin_required
def invite() -> Any:
    """An invitation code, shown once: the person enrols with it and chooses her own passphrase."""
    form = request.form
    name, role = form.get("name", "").strip(), form.get("role", "")
    if not name or role not in ("teacher", "coach"):
        return _page(error=_("Give a name and choose teacher or coach."), status=400, name=name, role=role)
    try:
        code = Invitations(web.catalogue(), current_app.config["DATA_DIR"]).create(name, role)
    except KitError as exc:
        return _page(error=str(exc), status=400, name=name, role=role)
    return _page(invitation={"name": " ".join(name.split()), "code": code})


@bp.post("/assignment")
@web.admin_required
def assign() -> Any:
    try:
        web.catalogue().assign(request.form.get("teacher", ""), request.form.get("coach", ""))
    except KitError as exc:
        return _page_with_error(str(exc))
    return redirect(url_for("admin.index", done="assignment"))


@bp.post("/logout")
def logout() -> Any:
    web.store().destroy(web.current_session().sid)
    g.session_ended = True
    return redirect(url_for("auth.unlock"))
