"""Enrolling with an invitation code: the person chooses her own passphrase, on the kit.

No session is needed and none is unlocked here: after enrolling she unlocks
as anyone else does. Codes are throttled per device like passphrases.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from appliance.consent.invitations import InvalidInvitation, Invitations
from appliance.errors import KitError
from appliance.identities import MIN_PASSPHRASE
from ui import web
from ui.i18n import gettext as _
from ui.throttle import Refused

bp = Blueprint("enrol", __name__, url_prefix="/enrol")


def invitations() -> Invitations:
    return Invitations(web.catalogue(), current_app.config["DATA_DIR"])


@bp.get("")
def page() -> Any:
    return render_template("enrol.html", error=None, min_length=MIN_PASSPHRASE)


@bp.post("")
def enrol() -> Any:
    throttle = current_app.extensions["kit_throttle"]
    try:
        # Counted before the code is checked, like a passphrase (ui.throttle).
        attempt = throttle.begin(f"client:enrol:{request.remote_addr}")
    except Refused as refused:
        return render_template("enrol.html", error=_("Too many wrong codes. Wait a moment and try again."),
                               min_length=MIN_PASSPHRASE), 429, {"Retry-After": str(math.ceil(refused.wait_s))}
    form = request.form
    passphrase = form.get("passphrase", "")
    if passphrase != form.get("passphrase_again", ""):
        attempt.cancel()
        return render_template("enrol.html", error=_("The two passphrases differ."), min_length=MIN_PASSPHRASE), 400
    if len(passphrase) < MIN_PASSPHRASE:
        attempt.cancel()
        return render_template("enrol.html", error=_("The passphrase needs at least %(n)s characters.",
                                                     n=MIN_PASSPHRASE), min_length=MIN_PASSPHRASE), 400
    try:
        person = invitations().redeem(form.get("code", "")[:64], passphrase)
    except InvalidInvitation:
        attempt.failed()
        return render_template("enrol.html", error=_("This code is not valid: used, expired or mistyped."),
                               min_length=MIN_PASSPHRASE), 400
    except KitError as exc:
        attempt.cancel()
        return render_template("enrol.html", error=str(exc), min_length=MIN_PASSPHRASE), 400
    attempt.succeeded()
    return render_template("enrolled.html", person=person)
