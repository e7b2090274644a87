"""Unlocking with name + passphrase, locking, logging out, language."""

from __future__ import annotations

import math
import re
from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from appliance import age
from appliance.consent import Consents
from appliance.errors import KitError
from appliance.identities import held_keys
from ui import known_device, web
from ui.i18n import gettext as _, ngettext
from ui.throttle import Refused
from ui.unlock_gate import GateBusy

bp = Blueprint("auth", __name__)
PERSON_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@bp.get("/")
def index() -> Any:
    session = web.current_session()
    if session.role == "admin":
        return redirect(url_for("admin.index"))
    if session.unlocked:
        return redirect(url_for("library.index"))
    return redirect(url_for("auth.unlock"))


@bp.get("/favicon.ico")
def favicon() -> Any:
    return "", 204


def visible_people() -> list[Any]:
    """Who the anonymous unlock page names: people with recordings or a confirmed pair here.

    A pupil on the hotspot must not read the school's coaching roster off
    the page; everyone else types her name.
    """
    cat = web.catalogue()
    ids = Consents(cat).confirmed_people()
    ids |= {r["id"] for r in cat.query(
        "SELECT teacher_id AS id FROM recordings UNION SELECT coach_id AS id FROM recordings")}
    return [p for p in cat.person_views() if p.id in ids]


def _unlock_page(error: str | None = None, chosen: str | None = None, typed: str = "",
                 next_: str | None = None, wait_s: int | None = None) -> str:
    return render_template("unlock.html", people=visible_people(), error=error, chosen=chosen, typed=typed,
                           next=_safe_next(next_), anyone=bool(web.catalogue().query_one("SELECT 1 FROM people")),
                           wait_s=wait_s)


@bp.get("/unlock")
def unlock() -> Any:
    return _unlock_page(chosen=request.args.get("person"), next_=request.args.get("next"))


def _person_id_from_form() -> str:
    """The chosen person's id, or the id of the name she typed ('' when nobody has it)."""
    chosen = request.form.get("person", "")
    typed = " ".join(request.form.get("name", "").split())[:100]
    if typed:
        row = web.catalogue().query_one("SELECT id FROM people WHERE name = ? COLLATE NOCASE", (typed,))
        return row["id"] if row else ""
    return chosen


_LOCAL_PATH = re.compile(r"^/(?![/\\])[^\s\\\x00-\x1f\x7f]*$")


def _safe_next(target: str | None) -> str:
    r"""Only a local path: never another site after unlocking.

    Browsers drop tabs and newlines from a Location (``/\t/evil.example``
    becomes ``//evil.example``), so whitespace and control characters are
    refused along with ``//`` and backslashes.

    >>> [_LOCAL_PATH.match(t) is not None for t in ("/library", "/recordings/r-1?x=1", "//evil.example",
    ...                                               "/\t/evil.example", "/\\evil", "/a\nb", "https://x")]
    [True, True, False, False, False, False, False]
    """
    if target and _LOCAL_PATH.match(target):
        return target
    return url_for("library.index")


class UnlockRefused(Exception):
    def __init__(self, status: int, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        #: Seconds before trying again makes sense (a 429): the page counts them down.
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        if self.retry_after_s is None:
            return self.message
        return f"{self.message} {wait_sentence(self.retry_after_s)}"

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.retry_after_s is None else {"Retry-After": str(self.retry_after_s)}


def wait_sentence(seconds: int) -> str:
    return ngettext("Wait %(num)s more second.", "Wait %(num)s more seconds.", seconds)


def try_unlock(person_id: str, passphrase: str) -> None:
    """Unwrap the person's identity into the current session, or raise UnlockRefused.

    The attempt is charged to the throttle before scrypt runs, and scrypt runs
    only inside the kit-wide gate (see ``ui.throttle`` and ``ui.unlock_gate``).
    """
    throttle = current_app.extensions["kit_throttle"]
    person = web.catalogue().person_view(person_id) if PERSON_ID_RE.match(person_id or "") else None
    device = None
    if person is not None:
        device = known_device.key_from(web.signer(), person.id, request.cookies.get(known_device.cookie_name(person.id)))
    try:
        attempt = throttle.begin(f"client:{request.remote_addr}", person=person and f"person:{person.id}",
                                 device=device)
    except Refused as refused:
        raise UnlockRefused(429, _("Too many wrong passphrases on this device or for this name."),
                            retry_after_s=math.ceil(refused.wait_s))
    path = current_app.config["KIT_PATHS"].identity(person_id)
    if person is None or not path.exists():
        attempt.failed()
        raise UnlockRefused(401, _("That name and passphrase do not match. Check both and try again."))
    kit = current_app.config["KIT"]
    try:
        with current_app.extensions["kit_unlock_gate"].slot(priority=device is not None):
            held = age.unwrap_identities(path.read_bytes(), passphrase, max_work_factor=kit.unlock_max_work_factor)
    except GateBusy as busy:
        attempt.cancel()  # the passphrase was never tried
        raise UnlockRefused(429, _("The kit is opening another key right now."), retry_after_s=busy.retry_after_s)
    except age.NoIdentityMatch:
        attempt.failed()
        raise UnlockRefused(401, _("That passphrase is not right. Check it and try again."))
    except age.WorkFactorTooHigh:
        attempt.cancel()  # refused before scrypt: more memory than the kit can spare next to a recording
        raise UnlockRefused(500, _("Your key file needs more memory to open than this kit has. "
                                   "Restore a backup made on this kit."))
    except age.AgeError:
        attempt.cancel()
        raise UnlockRefused(500, _("Your key file on this kit is damaged. Restore it from your backup."))
    try:
        held = held_keys(held, {"recipient": person.recipient, "name": person.name})
    except KitError:
        attempt.cancel()
        raise UnlockRefused(500, _("Your key file does not match your public key in the catalogue."))
    attempt.succeeded()
    web.add_cookie(*known_device.cookie_for(web.signer(), person.id,
                                            request.cookies.get(known_device.cookie_name(person.id))),
                   max_age=known_device.LIFETIME_S)
    session = web.store().rotate(web.current_session())
    g.session_rotated = True
    session.role = "person"
    session.ended_by_kit = False
    session.person_id = person.id
    session.person_name = person.name
    session.recipient = person.recipient
    session.identities = tuple(held)


@bp.post("/unlock")
def unlock_post() -> Any:
    person_id = _person_id_from_form()
    try:
        try_unlock(person_id, request.form.get("passphrase", ""))
    except UnlockRefused as refused:
        return _unlock_page(refused.message, chosen=request.form.get("person"), typed=request.form.get("name", "")[:100],
                            next_=request.form.get("next"), wait_s=refused.retry_after_s), refused.status, refused.headers
    offer_browser_time(request.form.get("browser_time"))
    return redirect(_safe_next(request.form.get("next")))


def offer_browser_time(raw: str | None) -> None:
    """Hand an unlocked person's browser clock to a kit whose clock nobody vouched for yet.

    Only after a successful unlock, only while untrusted, and only a plausible
    time: a stranger on the Wi-Fi cannot move the kit's dates.
    """
    controller = current_app.extensions["kit_controller"]
    catalogue = getattr(controller, "catalogue", None)
    if catalogue is None or not raw:
        return
    try:
        epoch = float(raw)
    except ValueError:
        return
    if not 1.7e9 < epoch < 4.1e9 or getattr(catalogue.clock, "trusted", True):
        return
    try:
        catalogue.trust_time(epoch, source="browser")
    except Exception:  # the clock is a convenience; unlocking has already succeeded
        current_app.logger.warning("could not adopt the browser's time")


@bp.post("/lock")
def lock() -> Any:
    """Forget the key now; the browser keeps an anonymous session for the next unlock."""
    session = web.current_session()
    name = session.person_id
    session.forget_key()
    web.store().rotate(session)
    g.session_rotated = True
    return redirect(url_for("auth.unlock", person=name) if name else url_for("auth.unlock"))


@bp.post("/logout")
def logout() -> Any:
    web.store().destroy(web.current_session().sid)
    g.session_ended = True
    return redirect(url_for("auth.unlock"))
