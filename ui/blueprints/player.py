"""The player page and the decrypted media it plays.

``/media/<id>/playlist.m3u8`` is generated from the catalogue's segments
table; ``init.mp4`` and ``seg-NNNNNN.m4s`` are the age files decrypted per
request (Range supported); ``full.mp4`` is init + all segments as one
virtual file, for seeking downloads and the decrypted export.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from flask import Blueprint, Response, abort, current_app, render_template, request

from appliance import age
from appliance.footage import thumbnail
from appliance.footage.store import open_segment, segment_name
from markupsafe import Markup

from ui import keymap, talk, web
from ui.blueprints.library import format_duration, format_started
from ui.i18n import gettext as _
from ui.media import (
    ConcatView,
    RangeNotSatisfiable,
    concatenated,
    hls_playlist,
    media_segments,
    parse_range,
    stream_range,
)

bp = Blueprint("player", __name__)


def recording_dir(recording_id: str) -> Any:
    return current_app.config["KIT_PATHS"].recording(recording_id)


@bp.get("/recordings/<recording_id>")
@web.person_required
def page(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    store = current_app.extensions["kit_annotations"]
    doc = store.load(rec.id, web.identities())
    t = talk.view(rec, doc) if rec.state != "recording" else {"state": "none", "segments": []}
    strip = Markup(talk.strip_svg(_("Who speaks when"), t.get("duration_s") or rec.duration_s, t["segments"],
                                  margin=0, labels=False)) if t["state"] == "done" else None
    return render_template(
        "player.html",
        talk_strip=strip,
        rec=rec,
        started=format_started(rec.started_at, web.g.locale),
        duration=format_duration(rec.duration_s),
        doc=doc,
        bookmarks_json=json.dumps(web.catalogue().bookmark_offsets(rec.id)),
        fps=current_app.config["KIT"].fps,
        live=rec.state == "recording",
        keys=keymap.for_page(coding=True, spherical=rec.spherical),
    )


@bp.get("/media/<recording_id>/playlist.m3u8")
@web.person_required
def playlist(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    text = hls_playlist(web.catalogue().segment_views(rec.id), live=rec.state == "recording")
    return Response(text, mimetype="application/vnd.apple.mpegurl")


@bp.get("/media/<recording_id>/init.mp4")
@web.person_required
def init_segment(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    return _serve_part(rec.id, 0, "video/mp4")


@bp.get("/media/<recording_id>/thumb.jpg")
@web.person_required
def thumbnail_image(recording_id: str) -> Any:
    """The lesson's picture in Opnames, decrypted with the session's keys."""
    rec = web.owned_recording(recording_id)
    return serve_sealed(recording_dir(rec.id) / thumbnail.NAME, "image/jpeg")


@bp.get("/media/<recording_id>/seg-<int:idx>.m4s")
@web.person_required
def media_segment(recording_id: str, idx: int) -> Any:
    rec = web.owned_recording(recording_id)
    if idx < 1 or web.catalogue().segment_view(rec.id, idx) is None:
        abort(404)
    return _serve_part(rec.id, idx, "video/iso.segment")


def _serve_part(recording_id: str, idx: int, mimetype: str) -> Response:
    return serve_sealed(recording_dir(recording_id) / segment_name(idx), mimetype)


def serve_sealed(path: Any, mimetype: str) -> Response:
    """One sealed file, decrypted with the session's keys as it is read, with byte ranges."""
    if not path.is_file():
        abort(404)
    try:
        seg = open_segment(path, web.identities())
    except age.AgeError:
        abort(500, description=_("This part of the recording is damaged and cannot be played."))
    size = seg.size
    try:
        wanted = parse_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        seg.close()
        return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
    start, end = wanted or (0, size)
    return _ranged_response(stream_range(seg, start, end), start, end, size, partial=wanted is not None,
                            mimetype=mimetype)


def _ranged_response(body: Iterator[bytes], start: int, end: int, size: int, partial: bool, mimetype: str,
                     filename: str | None = None) -> Response:
    response = Response(body, status=206 if partial else 200, mimetype=mimetype, direct_passthrough=True)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Content-Length"] = str(end - start)
    if partial:
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def serve_concatenated(rec: Any, parts: list[int], filename: str | None) -> Response:
    try:
        size, view = concatenated(recording_dir(rec.id), rec, parts, web.identities(),
                                  current_app.extensions["kit_sizes"])
    except FileNotFoundError:
        abort(404)
    except age.AgeError:
        abort(500, description=_("This part of the recording is damaged and cannot be played."))
    try:
        wanted = parse_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
    start, end = wanted or (0, size)
    return _ranged_response(view.stream(start, end), start, end, size, partial=wanted is not None,
                            mimetype="video/mp4", filename=filename)


@bp.get("/media/<recording_id>/full.mp4")
@web.person_required
def full(recording_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    parts = [0, *(s.idx for s in media_segments(web.catalogue().segment_views(rec.id)))]
    name = f"{rec.id}.mp4" if request.args.get("download") else None
    return serve_concatenated(rec, parts, name)


__all__ = ["bp", "serve_concatenated", "serve_sealed", "ConcatView"]
