"""The audit log, fed from the requests that happened.

``create_app`` installs :func:`install`: after every successful request of
an unlocked person it notes an unlock (once per teacher/coach pair the
person can open), a play (once per session and recording) or an export, so
the blueprints themselves need no audit code.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, g, request

from appliance.audit import AuditLog
from ui import web

log = logging.getLogger("kit.ui.audit")
PLAYED_ENDPOINTS = {"player.playlist", "player.full"}
UNLOCK_ENDPOINTS = {"auth.unlock_post", "api.unlock"}


def audit() -> AuditLog:
    return AuditLog(web.catalogue(), current_app.config["DATA_DIR"])


# What an export endpoint hands out, as the Logboek names it.
EXPORTED = {"export.clip_mp4": "clip.mp4", "export.clip_age": "clip.mp4.age"}


def _exported(endpoint: str) -> str | None:
    if endpoint == "export.annotations":
        return "annotations." + str((request.view_args or {}).get("fmt", ""))
    return EXPORTED.get(endpoint)


def _audit(action: str, rec: Any, detail: str | None = None) -> None:
    try:
        audit().record(action, web.current_session().person_id, rec.teacher_id, rec.coach_id,
                       list(rec.recipients), rec.id, detail=detail)
    except Exception:  # the audit must never break playback; say so in the log
        log.exception("audit entry %s could not be written", action)


def _audit_request(response: Any) -> Any:
    endpoint = request.endpoint or ""
    session = g.get("kit_session")
    if response.status_code >= 400 or session is None or not session.unlocked:
        return response
    if endpoint in UNLOCK_ENDPOINTS and request.method == "POST":
        seen = set()
        for rec in web.catalogue().recordings_for(session.recipients):
            pair = tuple(sorted(rec.recipients))
            if pair not in seen:
                seen.add(pair)
                _audit("unlocked", rec)
    elif endpoint in PLAYED_ENDPOINTS or endpoint.startswith("export."):
        recording_id = (request.view_args or {}).get("recording_id", "")
        action = "played" if endpoint in PLAYED_ENDPOINTS else "exported"
        # Once per session and recording: a player fetches its playlist more than once.
        marks = current_app.extensions.setdefault("kit_audit_seen", {})
        key = (session.sid, action, recording_id, request.path if action == "exported" else "")
        if key not in marks:
            rec = web.catalogue().recording_view(recording_id)
            if rec is not None and rec.is_for(session.recipients):
                marks[key] = True
                if len(marks) > 10_000:
                    marks.clear()
                _audit(action, rec, _exported(endpoint) if action == "exported" else None)
    return response


def install(app: Flask) -> None:
    app.after_request(_audit_request)
