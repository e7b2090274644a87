"""The admin account: kit settings and people, never footage.

Adding a person creates their X25519 identity, wraps it with the passphrase
they choose (as ``age -p`` would) and stores only the wrapped file; the
public key goes to the catalogue. The page says plainly that a lost
passphrase means lost footage, and the person can download the wrapped file
as a backup after unlocking.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from appliance.errors import KitError
from ui import web
from ui.blueprints.auth import wait_sentence
from ui.i18n import gettext as _
from ui.throttle import Refused
from ui.unlock_gate import GateBusy

bp = Blueprint("admin", __name__, url_prefix="/admin")
MIN_PASSPHRASE = 10


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


def _page(message: str | None = None, error: str | None = None, status: int = 200) -> Any:
    cat = web.catalogue()
    tls = current_app.extensions.get("kit_tls")
    return render_template("admin.html", people=cat.list_people(), assignment=cat.get_assignment(),
                           settings=cat.all_settings(), message=message, error=error,
                           certificate=tls.status() if tls is not None else None), status


@bp.get("/")
@web.admin_required
def index() -> Any:
    return _page(message=request.args.get("done"))


def _page_with_error(message: str, status: int = 400) -> Any:
    return _page(error=message, status=status)


@bp.post("/people")
@web.admin_required
def add_person() -> Any:
    form = request.form
    name, role = form.get("name", "").strip(), form.get("role", "")
    passphrase, again = form.get("passphrase", ""), form.get("passphrase_again", "")
    if not name or role not in ("teacher", "coach"):
        return _page_with_error(_("Give a name and choose teacher or coach."))
    if len(passphrase) < MIN_PASSPHRASE:
        return _page_with_error(_("The passphrase needs at least %(n)s characters.", n=MIN_PASSPHRASE))
    if passphrase != again:
        return _page_with_error(_("The two passphrases differ."))
    from appliance.identities import create_person

    try:
        create_person(current_app.config["DATA_DIR"], web.catalogue(), name, role, passphrase)
    except KitError as exc:
        return _page_with_error(str(exc))
    return redirect(url_for("admin.index", done="person"))


@bp.post("/assignment")
@web.admin_required
def assign() -> Any:
    try:
        web.catalogue().assign(request.form.get("teacher", ""), request.form.get("coach", ""))
    except KitError as exc:
        return _page_with_error(str(exc))
    return redirect(url_for("admin.index", done="assignment"))


@bp.post("/settings")
@web.admin_required
def settings() -> Any:
    key = request.form.get("key", "").strip()
    raw = request.form.get("value", "")
    if not key or len(key) > 64 or not key.replace("_", "").replace(".", "").isalnum():
        return _page_with_error(_("A setting needs a short name of letters, digits, dots and underscores."))
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    web.catalogue().set_setting(key, value)
    return redirect(url_for("admin.index", done="setting"))


@bp.post("/logout")
def logout() -> Any:
    web.store().destroy(web.current_session().sid)
    g.session_ended = True
    return redirect(url_for("auth.unlock"))
