"""Downloads for the key holder: annotations as WebVTT / CSV / ELAN EAF,
a clip as an age file (to the recording's recipients) or as a decrypted MP4.

Everything is streamed from memory; the decrypted MP4 goes straight from the
random-access readers to the socket and is never written to the kit's disk.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app

from appliance import age
from ui import web
from ui.blueprints.annotate import load
from ui.blueprints.player import recording_dir, serve_concatenated
from appliance.coding.exports import csv_text, eaf, encrypt_stream, webvtt
from ui.i18n import gettext as _
from ui.media import clip_parts, concatenated

bp = Blueprint("export", __name__, url_prefix="/export")


def _download(body: Any, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/<recording_id>/annotations.<any(vtt, csv, eaf):fmt>")
@web.person_required
def annotations(recording_id: str, fmt: str) -> Any:
    rec = web.owned_recording(recording_id)
    doc = load(rec)
    if fmt == "vtt":
        return _download(webvtt(doc, _), "text/vtt", f"{rec.id}.vtt")
    if fmt == "csv":
        return _download(csv_text(doc, _), "text/csv", f"{rec.id}.csv")
    return _download(eaf(doc, f"{rec.id}.mp4", _), "application/xml", f"{rec.id}.eaf")


def _clip(rec: Any, clip_id: str) -> dict[str, Any]:
    for clip in load(rec)["clips"]:
        if clip["id"] == clip_id:
            return clip
    abort(404)


@bp.get("/<recording_id>/clips/<clip_id>.mp4")
@web.person_required
def clip_mp4(recording_id: str, clip_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    clip = _clip(rec, clip_id)
    parts = clip_parts(web.catalogue().segment_views(rec.id), clip["in"], clip["out"])
    return serve_concatenated(rec, parts, f"{rec.id}-{clip['kind']}-{int(clip['in'])}.mp4")


@bp.get("/<recording_id>/clips/<clip_id>.mp4.age")
@web.person_required
def clip_age(recording_id: str, clip_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    clip = _clip(rec, clip_id)
    parts = clip_parts(web.catalogue().segment_views(rec.id), clip["in"], clip["out"])
    try:
        size, view = concatenated(recording_dir(rec.id), rec, parts, web.identities(),
                                  current_app.extensions["kit_sizes"])
        recipients = [age.parse_recipient(r) for r in rec.recipients]
    except FileNotFoundError:
        abort(404)
    except age.AgeError:
        abort(500, description=_("This part of the recording is damaged and cannot be played."))
    body = encrypt_stream(view.stream(0, size), recipients)
    return _download(body, "application/octet-stream", f"{rec.id}-{clip['kind']}-{int(clip['in'])}.mp4.age")
