"""Request plumbing shared by the blueprints: the session cookie, CSRF,
and the checks that decide who may see what.

A visitor who has not unlocked has no server-side session. Her browser holds
``kit_pre``, a random nonce, and her forms carry a token signed over that
nonce with an expiry (``ui.signed``); the kit checks the signature and keeps
nothing, so a flood of cookieless requests creates no state and evicts
nobody. An entry in the session store (``kit_session``) exists only after an
unlock or the admin's login.

Roles: an *unlocked person* (teacher or coach) sees only recordings whose
recipients include their key; the *admin* manages the kit and gets 403 on
everything personal (footage, thumbnails, annotations, statistics, live).
"""

from __future__ import annotations

import hmac
import re
import secrets
from functools import wraps
from typing import Any, Callable, TypeVar

from flask import abort, current_app, g, jsonify, redirect, request, url_for

from appliance.catalogue import Catalogue, Recording
from ui.i18n import gettext as _
from ui.media import valid_recording_id
from ui.session_store import ReviewSession, SessionStore
from ui.signed import Signer

SESSION_COOKIE = "kit_session"
#: The anonymous visitor's nonce, which her forms' signed CSRF token is bound to.
NONCE_COOKIE = "kit_pre"
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
F = TypeVar("F", bound=Callable[..., Any])


def store() -> SessionStore:
    return current_app.extensions["kit_sessions"]


def catalogue() -> Catalogue:
    """The kit's one catalogue, handed to ``create_app``."""
    return current_app.extensions["kit_catalogue"]


def current_session() -> ReviewSession:
    return g.kit_session


def signer() -> Signer:
    return current_app.extensions["kit_signer"]


def load_session() -> None:
    session = store().get(request.cookies.get(SESSION_COOKIE))
    # A cookie for a session the kit no longer has: idle past the timeout, or the kit restarted.
    g.session_gone = session is None and bool(request.cookies.get(SESSION_COOKIE))
    if session is None:
        session = _anonymous()
    g.kit_session = session


def _anonymous() -> ReviewSession:
    # Not stored: the CSRF token is signed over the browser's nonce, so it can be checked later.
    nonce = request.cookies.get(NONCE_COOKIE, "")
    g.new_nonce = not NONCE_RE.match(nonce)
    if g.new_nonce:
        nonce = secrets.token_urlsafe(16)
    g.nonce = nonce
    token = signer().sign("csrf", nonce, lifetime_s=current_app.config["KIT"].form_token_s)
    return ReviewSession(sid="", csrf_token=token, last_seen=0.0, owner=request.remote_addr)


def check_csrf() -> None:
    if request.method not in STATE_CHANGING:
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    session = g.kit_session
    if session.sid:
        valid = hmac.compare_digest(sent.encode("utf-8", "replace"), session.csrf_token.encode("ascii"))
    else:
        valid = not g.new_nonce and signer().verify(sent, "csrf", g.nonce)
    if not valid:
        if wants_json() and session_ended():
            abort(session_ended_response())
        abort(400, description=_("The form has expired or did not come from this kit. Reload the page and try again."))


def session_ended() -> bool:
    """The kit ended the browser's session under it (idle past the timeout, a restart, or
    locked from another device), as opposed to her pressing Vergrendelen here."""
    return bool(g.get("session_gone")) or current_session().ended_by_kit


def session_ended_response() -> Any:
    """401 for the page's script: it unlocks in place and sends the request again."""
    return json_error(401, _("Your session has ended: unlock again."), session_ended=True)


def set_session_cookie(response: Any) -> Any:
    session: ReviewSession | None = g.get("kit_session")
    if session is None:
        return response
    secure = current_app.config["KIT"].secure_cookies
    if g.get("session_ended"):
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict", secure=secure)
    elif g.get("session_rotated"):
        response.set_cookie(SESSION_COOKIE, session.sid, path="/", httponly=True, samesite="Strict", secure=secure)
    if g.get("new_nonce") and not session.sid:
        response.set_cookie(NONCE_COOKIE, g.nonce, path="/", httponly=True, samesite="Strict", secure=secure,
                            max_age=12 * 3600)
    for name, value, max_age in g.get("extra_cookies", ()):
        response.set_cookie(name, value, path="/", httponly=True, samesite="Strict", secure=secure, max_age=max_age)
    return response


def add_cookie(name: str, value: str, max_age: int) -> None:
    """Set an HttpOnly, SameSite=Strict cookie on this request's response."""
    g.setdefault("extra_cookies", []).append((name, value, max_age))


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/media/"))


def person_required(view: F) -> F:
    """An unlocked teacher or coach; the admin gets 403, strangers go to unlock."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        session = current_session()
        if session.role == "admin":
            abort(403, description=_("The admin account has no access to footage or annotations."))
        if not session.unlocked:
            if wants_json() and session_ended():
                abort(session_ended_response())
            if wants_json() or request.method != "GET":
                abort(401, description=_("Unlock first."))
            return redirect(url_for("auth.unlock", next=request.path))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def admin_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_session().role != "admin":
            if request.method == "GET" and not wants_json():
                return redirect(url_for("admin.login"))
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def owned_recording(recording_id: str) -> Recording:
    """The recording if it is encrypted to the unlocked person; 404 otherwise.

    Unknown ids, malformed ids (``..``, slashes) and other people's recordings
    all look the same from outside.
    """
    if not valid_recording_id(recording_id):
        abort(404)
    recording = catalogue().recording_view(recording_id)
    if recording is None or not recording.is_for(current_session().recipients):
        abort(404)
    return recording


def identities() -> list[Any]:
    """Every key the unlocked person holds (her current one first)."""
    return list(current_session().identities)


def json_error(status: int, message: str, **extra: Any) -> Any:
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response
