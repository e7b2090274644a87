"""Live view while recording, with start / stop / bookmark in the page.

Only the unlocked teacher or coach of the kit's assignment may start, and
only someone the current recording is encrypted to may watch it, stop it or
bookmark it: the live playlist is an HLS EVENT playlist of the segments
sealed so far, decrypted like any other footage.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from appliance.errors import KitError
from ui import keymap, web
from ui.i18n import gettext as _

bp = Blueprint("live", __name__)


def controller() -> Any:
    ctl = current_app.extensions["kit_controller"]
    if ctl is None:
        abort(503, description=_("The recorder is not running on this kit."))
    return ctl


def may_start() -> bool:
    assignment = web.catalogue().assignment_ids()
    return assignment is not None and web.current_session().person_id in assignment


def _reason_words(status: dict[str, Any]) -> str:
    """Why the kit cannot record, in the reader's language (the controller says it in English)."""
    t, c = status.get("teacher") or "?", status.get("coach") or "?"
    words = {
        "no_assignment": _("no teacher and coach assigned"),
        "disk_low": _("less than 10 minutes of recording space left"),
        "no_camera": _("no camera"),
        "no_consent": _("%(t)s has not confirmed coach %(c)s with her own key yet, or the coach has not accepted "
                        "(Who may watch)", t=t, c=c),
    }
    return words.get(status.get("reason") or "", status.get("message") or "")


def live_status() -> dict[str, Any]:
    ctl = current_app.extensions["kit_controller"]
    if ctl is None:
        return {"state": "unavailable", "reason": _("The recorder is not running on this kit."),
                "recording_id": None, "elapsed_s": None, "watchable": False}
    status = dict(ctl.status())
    if status.get("state") == "cannot_record":
        status["reason"] = _reason_words(status)
    rec_id = status.get("recording_id")
    rec = web.catalogue().recording_view(rec_id) if rec_id else None
    status["watchable"] = bool(rec and rec.is_for(web.current_session().recipients))
    if rec_id and not status["watchable"]:
        status["recording_id"] = None  # someone else's lesson: not even its id
    return status


@bp.get("/live")
@web.person_required
def page() -> Any:
    done = {"start": _("Recording started."), "stop": _("Recording stopped."),
            "bookmark": _("Bookmark set.")}.get(request.args.get("done", ""))
    status = live_status()
    rec = web.catalogue().recording_view(status["recording_id"]) if status.get("recording_id") else None
    spherical = bool(rec and rec.spherical)
    return render_template("live.html", status=status, may_start=may_start(), done=done, spherical=spherical,
                           keys=keymap.for_page(coding=False, spherical=spherical))


def _current_own_recording() -> str:
    status = live_status()
    if status.get("state") != "recording" or not status.get("watchable"):
        abort(409, description=_("Nothing of yours is being recorded right now."))
    return str(status["recording_id"])


def act(action: str) -> dict[str, Any]:
    """Run a control action for the unlocked person; KitError becomes a 409 with its message."""
    ctl = controller()
    try:
        if action == "start":
            if not may_start():
                abort(403, description=_("Only the assigned teacher or coach can start a recording."))
            recording_id = ctl.start_recording(source="ui")
            return {"recording_id": recording_id}
        _current_own_recording()
        if action == "stop":
            ctl.stop_recording()
            return {"ok": True}
        marked = ctl.bookmark()
        return {"ok": True, "offset_s": marked.get("offset_s") if isinstance(marked, dict) else None}
    except KitError as exc:
        abort(409, description=str(exc))


@bp.post("/live/<any(start, stop, bookmark):action>")
@web.person_required
def control(action: str) -> Any:
    act(action)
    return redirect(url_for("live.page", done=action))
