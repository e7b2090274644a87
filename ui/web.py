"""Request plumbing shared by the blueprints: the session cookie, CSRF,
and the checks that decide who may see what.

Roles: an *unlocked person* (teacher or coach) sees only recordings whose
recipients include their key; the *admin* manages the kit and gets 403 on
everything personal (footage, thumbnails, annotations, statistics, live).
"""

from __future__ import annotations

import hmac
from functools import wraps
from typing import Any, Callable, TypeVar

from flask import abort, current_app, g, jsonify, redirect, request, url_for

from appliance.catalogue import Catalogue, Recording
from ui.i18n import gettext as _
from ui.media import valid_recording_id
from ui.session_store import ReviewSession, SessionStore

SESSION_COOKIE = "kit_session"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
F = TypeVar("F", bound=Callable[..., Any])


def store() -> SessionStore:
    return current_app.extensions["kit_sessions"]


def catalogue() -> Catalogue:
    """The kit's one catalogue, handed to ``create_app``."""
    return current_app.extensions["kit_catalogue"]


def current_session() -> ReviewSession:
    return g.kit_session


def load_session() -> None:
    session = store().get(request.cookies.get(SESSION_COOKIE))
    g.new_session = session is None
    if session is None:
        session = store().create()
    g.kit_session = session


def check_csrf() -> None:
    if request.method not in STATE_CHANGING:
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    if g.new_session or not hmac.compare_digest(sent, g.kit_session.csrf_token):
        abort(400, description=_("The form has expired or did not come from this kit. Reload the page and try again."))


def set_session_cookie(response: Any) -> Any:
    session: ReviewSession | None = g.get("kit_session")
    if session is None:
        return response
    if g.get("session_ended"):
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict",
                               secure=current_app.config["KIT"].secure_cookies)
    elif g.new_session or g.get("session_rotated"):
        response.set_cookie(
            SESSION_COOKIE,
            session.sid,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=current_app.config["KIT"].secure_cookies,
        )
    return response


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
    if recording is None or not recording.is_for(current_session().recipient):
        abort(404)
    return recording


def identities() -> list[Any]:
    return [current_session().identity]


def json_error(status: int, message: str) -> Any:
    response = jsonify({"error": message})
    response.status_code = status
    return response
