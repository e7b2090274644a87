"""The person's own key: a backup to download, and renewing it herself.

Renewing asks for her current passphrase again (an unlocked browser left on
a desk must not be enough to lock her out or learn nothing new), is counted
by the unlock throttle before scrypt runs and runs inside the kit-wide
unlock gate, like an unlock. Only the unlocked person renews her own key:
there is no person id in the request, and the admin account gets 403. Her
other unlocked sessions are locked: she may renew because someone else
knows her old passphrase.
"""

from __future__ import annotations

import math
import sqlite3
from typing import Any

from flask import Blueprint, current_app, render_template, request, send_file

from appliance import age
from appliance.consent import Renewals
from appliance.errors import KitError
from appliance.identities import MIN_PASSPHRASE, renew_key
from ui import known_device, web
from ui.i18n import gettext as _
from ui.throttle import Refused
from ui.unlock_gate import GateBusy

bp = Blueprint("key", __name__)


def _page(error: str | None = None, renewed: bool = False, wait_s: int | None = None) -> str:
    me = web.current_session()
    return render_template("key.html", error=error, renewed=renewed, min_length=MIN_PASSPHRASE, wait_s=wait_s,
                           renewals=Renewals(web.catalogue()).count(me.person_id), keys=len(me.identities))


@bp.get("/key")
@web.person_required
def page() -> Any:
    return _page()


@bp.get("/key-backup")
@web.person_required
def backup() -> Any:
    """Her passphrase-wrapped key file (as ``age -p`` wrote it), with every key she holds."""
    session = web.current_session()
    path = current_app.config["KIT_PATHS"].identity(session.person_id)
    return send_file(path, mimetype="application/octet-stream", as_attachment=True,
                     download_name=f"{session.person_name}-key.age", max_age=0)


@bp.post("/key/renew")
@web.person_required
def renew() -> Any:
    me = web.current_session()
    form = request.form
    new_passphrase = form.get("new_passphrase", "")
    if new_passphrase != form.get("new_passphrase_again", ""):
        return _page(_("The two new passphrases differ.")), 400
    if len(new_passphrase) < MIN_PASSPHRASE:
        return _page(_("The passphrase needs at least %(n)s characters.", n=MIN_PASSPHRASE)), 400
    if not form.get("passphrase"):
        return _page(_("Type your current passphrase.")), 400
    throttle = current_app.extensions["kit_throttle"]
    device = known_device.key_from(web.signer(), me.person_id,
                                   request.cookies.get(known_device.cookie_name(me.person_id)))
    try:
        attempt = throttle.begin(f"client:{request.remote_addr}", person=f"person:{me.person_id}", device=device)
    except Refused as refused:
        wait = math.ceil(refused.wait_s)
        return _page(_("Too many wrong passphrases on this device or for this name."), wait_s=wait), 429, \
            {"Retry-After": str(wait)}
    kit = current_app.config["KIT"]
    try:
        with current_app.extensions["kit_unlock_gate"].slot(priority=device is not None):
            held = renew_key(current_app.config["DATA_DIR"], web.catalogue(), me.person_id,
                             form.get("passphrase", ""), new_passphrase, max_work_factor=kit.unlock_max_work_factor)
    except GateBusy as busy:
        attempt.cancel()
        return _page(_("The kit is opening another key right now."), wait_s=busy.retry_after_s), 429, \
            {"Retry-After": str(busy.retry_after_s)}
    except age.NoIdentityMatch:
        attempt.failed()
        return _page(_("Your current passphrase is not right. Nothing was changed.")), 403
    except (age.AgeError, KitError):
        attempt.cancel()
        current_app.logger.warning("key renewal refused for %s: the key file does not match", me.person_id)
        return _page(_("Your key could not be renewed; nothing was changed. Restore your key file from your backup.")), 409
    except (OSError, sqlite3.Error) as exc:
        attempt.cancel()
        current_app.logger.warning("key renewal for %s could not be saved: %s", me.person_id, exc)
        return _page(_("The kit could not save your new key (is its storage full?); nothing was changed.")), 409
    attempt.succeeded()
    me.identities = tuple(held)
    me.recipient = str(held[0].recipient)
    # Whoever knew the old passphrase may have unlocked elsewhere: those sessions end now.
    web.store().lock_person(me.person_id, keep=me.sid)
    return _page(renewed=True)
