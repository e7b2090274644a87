"""Clips, reflections and the learning question (the page), plus the
document operations the JSON API shares."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any, Callable

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from appliance.errors import KitError
from ui import talk, web
from appliance.coding.stats_sharing import StatsSharing
from appliance.coding.annotations import (GRID_COLS, GRID_ROWS, LESSON_FIELDS, MAX_LESSON_FIELD, AnnotationError,
                                         make_clip, make_code, make_voice_correction)
from ui.blueprints.library import format_duration
from ui.i18n import gettext as _

bp = Blueprint("annotate", __name__)
log = logging.getLogger("ui.annotate")


def store() -> Any:
    return current_app.extensions["kit_annotations"]


def load(rec: Any) -> dict[str, Any]:
    return store().load(rec.id, web.identities())


def sharing() -> StatsSharing:
    """The teacher's statistics opt-in (writes outbox events: the read-write catalogue)."""
    found = current_app.extensions.get("kit_stats_sharing")
    if found is None:
        found = current_app.extensions["kit_stats_sharing"] = StatsSharing(web.catalogue())
    return found


def _share_stats(rec: Any, doc: dict[str, Any]) -> None:
    try:
        sharing().saved(rec.id, doc, rec.duration_s, talk.summary_for_sharing(rec, doc))
    except (KitError, sqlite3.Error, OSError) as exc:
        # The annotations are saved; the counts go with the next save.
        log.warning("lesson statistics not queued for %s: %s", rec.id, exc)


def change(rec: Any, fn: Callable[[dict[str, Any]], Any]) -> tuple[dict[str, Any], Any]:
    try:
        return store().update(rec.id, web.identities(), list(rec.recipients), fn,
                              after_save=lambda doc: _share_stats(rec, doc))
    except AnnotationError as exc:
        abort(400, description=str(exc))
    except OSError as exc:
        # Full disk, read-only card...: the previous document is still in place.
        abort(503, description=_("Could not save (%(why)s); nothing was changed.", why=exc.strerror or exc))


def add_code(rec: Any, data: Any) -> dict[str, Any]:
    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        code = make_code(data, rec.duration_s or None)
        doc["codes"].append(code)
        doc["codes"].sort(key=lambda c: c["t"])
        return code

    return change(rec, apply)[1]


def add_clip(rec: Any, data: Any) -> dict[str, Any]:
    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        clip = make_clip(data, rec.duration_s or None)
        doc["clips"].append(clip)
        doc["clips"].sort(key=lambda k: k["in"])
        return clip

    return change(rec, apply)[1]


def update_clip(rec: Any, clip_id: str, data: Any) -> dict[str, Any]:
    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        for i, clip in enumerate(doc["clips"]):
            if clip["id"] == clip_id:
                merged = {**clip, **(data if isinstance(data, dict) else {})}
                doc["clips"][i] = make_clip(merged, rec.duration_s or None, clip_id=clip_id)
                return doc["clips"][i]
        abort(404)

    return change(rec, apply)[1]


def correct_voice(rec: Any, data: Any) -> dict[str, Any]:
    """The coach says who speaks in one talk segment (``voice`` None: back to the
    analysis); returns the annotations as saved."""
    if not isinstance(data, dict):
        abort(400, description="a correction is an object with start_s and voice")
    starts = talk.segment_starts(rec)
    if not starts:
        abort(409, description=_("There is no talk analysis of this recording yet."))
    undo = data.get("voice") is None
    try:
        fix = make_voice_correction({**data, "voice": "near"} if undo else data)
    except AnnotationError as exc:
        abort(400, description=str(exc))
    if fix["start_s"] not in starts:
        abort(400, description=f"no talk segment starts at {fix['start_s']:g} s")

    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        kept = [c for c in doc.get("talk_corrections", []) if c["start_s"] != fix["start_s"]]
        doc["talk_corrections"] = kept if undo else sorted([*kept, fix], key=lambda c: c["start_s"])

    return change(rec, apply)[0]


def delete_item(rec: Any, key: str, item_id: str) -> None:
    def apply(doc: dict[str, Any]) -> None:
        before = len(doc[key])
        doc[key] = [x for x in doc[key] if x["id"] != item_id]
        if len(doc[key]) == before:
            abort(404)

    change(rec, apply)


def set_texts(rec: Any, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        abort(400, description="expected an object")

    def apply(doc: dict[str, Any]) -> None:
        for key in ("learning_question", "notes", *LESSON_FIELDS):
            if key in data:
                value = data[key]
                limit = MAX_LESSON_FIELD if key in LESSON_FIELDS else 10_000
                if not isinstance(value, str) or len(value) > limit:
                    raise AnnotationError(f"{key} must be text of at most {limit} characters")
                doc[key] = " ".join(value.split()) if key in LESSON_FIELDS else value

    return change(rec, apply)[0]


@bp.get("/recordings/<recording_id>/clips")
@web.person_required
def page(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    return render_template("clips.html", rec=rec, doc=load(rec), rows=GRID_ROWS, cols=GRID_COLS,
                           fmt=format_duration)


@bp.post("/recordings/<recording_id>/clips/<clip_id>")
@web.person_required
def save_clip(recording_id: str, clip_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    form = request.form
    reflection = {row: {col: form.get(f"{row}_{col}", "") for col in GRID_COLS} for row in GRID_ROWS}
    data: dict[str, Any] = {"title": form.get("title", ""), "reflection": reflection}
    if form.get("kind") in ("pearl", "puzzle"):
        data["kind"] = form["kind"]
    update_clip(rec, clip_id, data)
    return redirect(url_for("annotate.page", recording_id=rec.id) + f"#{clip_id}")


@bp.post("/recordings/<recording_id>/clips/<clip_id>/delete")
@web.person_required
def remove_clip(recording_id: str, clip_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    delete_item(rec, "clips", clip_id)
    return redirect(url_for("annotate.page", recording_id=rec.id))


@bp.post("/recordings/<recording_id>/notes")
@web.person_required
def save_notes(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    set_texts(rec, {k: request.form[k] for k in ("learning_question", "notes", *LESSON_FIELDS) if k in request.form})
    return redirect(request.form.get("back") == "player" and url_for("player.page", recording_id=rec.id)
                    or url_for("annotate.page", recording_id=rec.id))
