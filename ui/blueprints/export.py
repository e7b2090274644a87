"""Downloads for the key holder: annotations as WebVTT / CSV / ELAN EAF,
a clip as an age file (to the recording's recipients) or as a decrypted MP4.

Everything stays in memory: a clip's segments are decrypted into this
process, cut exactly at its in and out point (``appliance.footage.clip``)
and the resulting MP4 goes to the socket (or into the age encryptor); no
plaintext is ever written to the kit's disk.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, request

from appliance import age
from ui import web
from ui.blueprints.annotate import load
from ui.blueprints.player import recording_dir
from appliance.coding.exports import csv_text, eaf, encrypt_stream, webvtt
from ui.i18n import gettext as _
from appliance.footage.clip import ClipError, clip_segments, recording_clip
from ui.media import RangeNotSatisfiable, parse_range

bp = Blueprint("export", __name__, url_prefix="/export")


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` and, when needed, RFC 5987 ``filename*``.

    >>> content_disposition("2026-12-01 Parel - Mooie vraag.mp4")
    'attachment; filename="2026-12-01 Parel - Mooie vraag.mp4"'
    >>> print(content_disposition("2026-12-01 Puzzel - Één idee.mp4"))
    attachment; filename="2026-12-01 Puzzel - Een idee.mp4"; filename*=UTF-8''2026-12-01%20Puzzel%20-%20%C3%89%C3%A9n%20idee.mp4
    """
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = ascii_name.replace("\\", "_").replace('"', "'")
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def clip_filename(rec: Any, clip: dict[str, Any], suffix: str) -> str:
    """``2026-12-01 Parel - Mooie vraag.mp4``: the lesson's date, the kind, the title.

    Characters that no file system takes (``/\\:*?"<>|`` and control
    characters) become a space; without a title the in point stands in.
    """
    date = (rec.started_at or "")[:10] or rec.id
    kind = _("Pearl") if clip.get("kind") == "pearl" else _("Puzzle")
    title = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", str(clip.get("title") or "")).strip()
    title = re.sub(r"\s+", " ", title)[:80].strip(" .")
    if not title:
        at = int(clip.get("in") or 0)
        title = f"{at // 60}.{at % 60:02d}"
    return f"{date} {kind} - {title}{suffix}"


def _download(body: Any, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(filename)
    return response


@bp.get("/<recording_id>/annotations.<any(vtt, csv, eaf):fmt>")
@web.person_required
def annotations(recording_id: str, fmt: str) -> Any:
    rec = web.owned_recording(recording_id)
    doc = load(rec)
    if fmt == "vtt":
        return _download(webvtt(doc, _), "text/vtt", f"{rec.id}.vtt")
    if fmt == "csv":
        return _download(csv_text(doc, _).encode("utf-8"), "text/csv; charset=utf-8", f"{rec.id}.csv")
    return _download(eaf(doc, f"{rec.id}.mp4", _), "application/xml", f"{rec.id}.eaf")


def _clip(rec: Any, clip_id: str) -> dict[str, Any]:
    for clip in load(rec)["clips"]:
        if clip["id"] == clip_id:
            return clip
    abort(404)


#: Where the flat export of a 360° clip looks when the coach chose no direction: the front.
DEFAULT_VIEW = {"yaw": 0.0, "pitch": 0.0, "fov": 90.0}


def _exact_clip(rec: Any, clip: dict[str, Any], view: dict[str, float] | None = None) -> bytes:
    """The clip as an MP4 cut exactly at its in and out point, built in memory."""
    segments = web.catalogue().segment_views(rec.id)
    if len(clip_segments(segments, clip["in"], clip["out"])) < 2:
        abort(404)
    try:
        return recording_clip(recording_dir(rec.id), segments, web.identities(), float(clip["in"]), float(clip["out"]),
                              view=view)
    except FileNotFoundError:
        abort(404)
    except (age.AgeError, ClipError):
        abort(500, description=_("This part of the recording is damaged and cannot be played."))


@bp.get("/<recording_id>/clips/<clip_id>.mp4")
@web.person_required
def clip_mp4(recording_id: str, clip_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    clip = _clip(rec, clip_id)
    return _playable(_exact_clip(rec, clip), clip_filename(rec, clip, ".mp4"))


@bp.get("/<recording_id>/clips/<clip_id>.view.mp4")
@web.person_required
def clip_view_mp4(recording_id: str, clip_id: str) -> Any:
    """A 360° clip as the flat picture in the direction the clip looks (reframed on the kit, this clip only)."""
    rec = web.owned_recording(recording_id)
    if not rec.spherical:
        abort(404)
    clip = _clip(rec, clip_id)
    body = _exact_clip(rec, clip, view=clip.get("view") or DEFAULT_VIEW)
    return _playable(body, clip_filename(rec, clip, " " + _("view") + ".mp4"))


def _playable(body: bytes, filename: str) -> Response:
    """An MP4 in memory, with Range support so a browser can play and seek it."""
    size = len(body)
    try:
        wanted = parse_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
    start, end = wanted or (0, size)
    response = Response(body[start:end], status=206 if wanted else 200, mimetype="video/mp4")
    response.headers["Accept-Ranges"] = "bytes"
    if wanted:
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    response.headers["Content-Disposition"] = content_disposition(filename)
    return response


@bp.get("/<recording_id>/clips/<clip_id>.mp4.age")
@web.person_required
def clip_age(recording_id: str, clip_id: str) -> Any:
    rec = web.owned_recording(recording_id)
    clip = _clip(rec, clip_id)
    try:
        recipients = [age.parse_recipient(r) for r in rec.recipients]
    except age.AgeError:
        abort(500, description=_("This part of the recording is damaged and cannot be played."))
    body = encrypt_stream(iter([_exact_clip(rec, clip)]), recipients)
    return _download(body, "application/octet-stream", clip_filename(rec, clip, ".mp4.age"))
