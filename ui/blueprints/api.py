"""The JSON API the player page uses (and other clients may), described by
the OpenAPI document at ``/api/openapi.json``.

Authentication is the same server-side session as the pages: ``GET
/api/session`` gives the CSRF token, ``POST /api/unlock`` unlocks it, and
every state-changing request sends the token in ``X-CSRF-Token``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request

from ui import talk, web
from ui.blueprints import annotate, live
from ui.blueprints.auth import UnlockRefused, try_unlock
from ui.openapi import SPEC
from appliance.coding.statistics import lesson_statistics, window_span

bp = Blueprint("api", __name__, url_prefix="/api")


def body() -> Any:
    data = request.get_json(silent=True)
    if data is None:
        abort(400, description="expected a JSON body")
    return data


def recording_json(rec: Any) -> dict[str, Any]:
    return {
        "id": rec.id,
        "started_at": rec.started_at,
        "duration_s": rec.duration_s,
        "state": rec.state,
        "teacher": rec.teacher_name,
        "coach": rec.coach_name,
        "segments": rec.segments,
        "retention_until": rec.retention_until,
    }


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(SPEC)


@bp.get("/session")
def session_info() -> Any:
    s = web.current_session()
    return jsonify({"csrf_token": s.csrf_token, "unlocked": s.unlocked, "person": s.person_name,
                    "admin": s.role == "admin"})


@bp.post("/unlock")
def unlock() -> Any:
    data = body()
    if not isinstance(data, dict) or not isinstance(data.get("person"), str) \
            or not isinstance(data.get("passphrase"), str):
        abort(400, description="expected person and passphrase")
    try:
        try_unlock(data["person"], data["passphrase"])
    except UnlockRefused as refused:
        extra = {} if refused.retry_after_s is None else {"retry_after_s": refused.retry_after_s}
        response = web.json_error(refused.status, str(refused), **extra)
        response.headers.update(refused.headers)
        return response
    s = web.current_session()
    return jsonify({"csrf_token": s.csrf_token, "unlocked": True, "person": s.person_name, "admin": False})


@bp.post("/lock")
def lock() -> Any:
    s = web.current_session()
    s.forget_key()
    web.store().rotate(s)
    web.g.session_rotated = True
    return jsonify({"csrf_token": s.csrf_token, "unlocked": False, "person": None, "admin": False})


@bp.get("/status")
@web.person_required
def status() -> Any:
    st = live.live_status()
    return jsonify({k: st.get(k) for k in ("state", "reason", "recording_id", "elapsed_s", "watchable")})


@bp.post("/control/<any(start, stop, bookmark):action>")
@web.person_required
def control(action: str) -> Any:
    return jsonify(live.act(action))


@bp.get("/recordings")
@web.person_required
def recordings() -> Any:
    return jsonify([recording_json(r) for r in web.catalogue().recordings_for(web.current_session().recipients)])


@bp.get("/recordings/<recording_id>")
@web.person_required
def recording(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    return jsonify({**recording_json(rec), "bookmarks": web.catalogue().bookmark_offsets(rec.id)})


@bp.get("/recordings/<recording_id>/annotations")
@web.person_required
def annotations(recording_id: str) -> Any:
    return jsonify(annotate.load(web.owned_recording(recording_id)))


@bp.post("/recordings/<recording_id>/codes")
@web.person_required
def add_code(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    return jsonify(annotate.add_code(rec, body())), 201


@bp.delete("/recordings/<recording_id>/codes/<item_id>")
@web.person_required
def delete_code(recording_id: str, item_id: str) -> Any:
    annotate.delete_item(web.owned_recording(recording_id), "codes", item_id)
    return "", 204


@bp.post("/recordings/<recording_id>/clips")
@web.person_required
def add_clip(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    return jsonify(annotate.add_clip(rec, body())), 201


@bp.patch("/recordings/<recording_id>/clips/<item_id>")
@web.person_required
def update_clip(recording_id: str, item_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    return jsonify(annotate.update_clip(rec, item_id, body()))


@bp.delete("/recordings/<recording_id>/clips/<item_id>")
@web.person_required
def delete_clip(recording_id: str, item_id: str) -> Any:
    annotate.delete_item(web.owned_recording(recording_id), "clips", item_id)
    return "", 204


@bp.put("/recordings/<recording_id>/texts")
@web.person_required
def texts(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    doc = annotate.set_texts(rec, body())
    return jsonify({k: doc[k] for k in ("learning_question", "notes", "title", "class", "subject")})


def window_arg() -> float | None:
    """The ``window`` query argument: where a 10-minute window starts (s)."""
    raw = request.args.get("window")
    if raw is None:
        return None
    try:
        window = float(raw)
    except ValueError:
        abort(400, description="window must be a number of seconds")
    if not 0 <= window < 1e7:
        abort(400, description="window must be between 0 and the end of the recording")
    return window


@bp.get("/recordings/<recording_id>/stats")
@web.person_required
def stats(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    s = lesson_statistics(annotate.load(rec), rec.duration_s, window_arg())
    keep = ("counts", "rate_per_min", "feedback", "feedback_ratio", "feedback_norm_met", "higher_questions",
            "question_norm_met", "pearls", "puzzles", "pearl_ratio", "pearl_norm_met", "minutes")
    out = {k: s[k] for k in keep}
    out["questions"] = {str(k): v for k, v in s["questions"].items()}
    out["window"] = list(s["window"])
    return jsonify(out)


@bp.get("/recordings/<recording_id>/talk")
@web.person_required
def talk_time(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    start = window_arg()
    # The same window the statistics use, so talk and codes cover one span.
    window = None if start is None else window_span(rec.duration_s, start)
    return jsonify(talk.view(rec, annotate.load(rec), window))


@bp.put("/recordings/<recording_id>/talk/voices")
@web.person_required
def correct_voice(recording_id: str) -> Any:
    """The coach corrects who speaks in one segment: ``{"start_s", "voice": "near"|"far"|null}``."""
    rec = web.owned_recording(recording_id)
    return jsonify(talk.view(rec, annotate.correct_voice(rec, body())))


@bp.post("/recordings/<recording_id>/talk")
@web.person_required
def start_talk(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    talk.start(rec)
    return jsonify(talk.view(rec, annotate.load(rec))), 202
