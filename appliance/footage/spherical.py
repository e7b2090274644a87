"""Spherical Video V2 metadata: what tells a player that an MP4 is a 360° video.

A 360° camera delivers an ordinary H.264 picture twice as wide as it is
high, the whole sphere unrolled (equirectangular projection). Nothing in the
picture says so; players (VLC, YouTube, ffprobe, Photo Sphere Viewer's
users) learn it from two boxes in the video track's sample entry, defined
by Google's Spherical Video V2 RFC:

- ``st3d``: stereo mode (0: one picture, not 3-D);
- ``sv3d``: ``svhd`` (who wrote the metadata) and ``proj`` with ``prhd``
  (the camera's pose: yaw, pitch, roll) and ``equi`` (the projection and
  its crop bounds, all zero: the full sphere).

FFmpeg writes them only for streams that carry spherical side data, which
a mux-only stream fed by a camera has no way to get; so the kit adds them
to the MP4 it writes, in the ``avc1`` entry of every video track, and
corrects the sizes of every box around it (and the chunk offsets, when the
``moov`` precedes the media it points into).

>>> init = _toy_init()
>>> projection_of(init)
'flat'
>>> spherical = add_equirectangular(init)
>>> projection_of(spherical), len(spherical) - len(init)
('equirectangular', 104)
>>> add_equirectangular(spherical) == spherical  # already marked: unchanged
True
"""

from __future__ import annotations

import struct

from appliance.footage.mp4boxes import iter_boxes

FLAT = "flat"
EQUIRECTANGULAR = "equirectangular"
PROJECTIONS = (FLAT, EQUIRECTANGULAR)

# Boxes on the way to a sample entry, and how many bytes of their payload
# come before their first child (FullBox fields, entry counts).
_PATH = ("moov", "trak", "mdia", "minf", "stbl", "stsd")
_CHILDREN_AT = {"stsd": 8}
# A VisualSampleEntry's fixed fields before its child boxes (ISO 14496-12).
_VISUAL_ENTRY_FIELDS = 78
_VIDEO_ENTRIES = {"avc1", "avc3", "hvc1", "hev1"}


def _box(kind: str, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind.encode("latin-1")) + payload


def _full_box(kind: str, payload: bytes) -> bytes:
    return _box(kind, b"\x00\x00\x00\x00" + payload)


def spherical_boxes(source: str = "Lesson kit") -> bytes:
    """``st3d`` + ``sv3d`` for a monoscopic, uncropped equirectangular picture."""
    st3d = _full_box("st3d", b"\x00")
    svhd = _full_box("svhd", source.encode("utf-8") + b"\x00")
    prhd = _full_box("prhd", struct.pack(">iii", 0, 0, 0))
    equi = _full_box("equi", struct.pack(">IIII", 0, 0, 0, 0))
    return st3d + _box("sv3d", svhd + _box("proj", prhd + equi))


def projection_of(mp4: bytes) -> str:
    """``"equirectangular"`` when a video track carries an ``equi`` projection, else ``"flat"``."""
    for _chain, _entry, body, end in _video_entries(mp4):
        for kind, sbody, send in iter_boxes(mp4, body + _VISUAL_ENTRY_FIELDS, end):
            if kind == "sv3d":
                for sub, pbody, pend in iter_boxes(mp4, sbody, send):
                    if sub == "proj" and any(k == "equi" for k, _b, _e in iter_boxes(mp4, pbody, pend)):
                        return EQUIRECTANGULAR
    return FLAT


def add_equirectangular(mp4: bytes) -> bytes:
    """``mp4`` with the spherical boxes in each video sample entry that lacks them.

    Works on an fMP4 init segment and on a whole MP4; raises ``ValueError``
    when there is no video track to mark.
    """
    targets = [(chain, body, end) for chain, _k, body, end in _video_entries(mp4)
               if not any(k == "sv3d" for k, _b, _e in iter_boxes(mp4, body + _VISUAL_ENTRY_FIELDS, end))]
    if not targets and projection_of(mp4) == EQUIRECTANGULAR:
        return bytes(mp4)
    if not targets:
        raise ValueError("no video sample entry to mark as 360°")
    extra = spherical_boxes()
    out = bytearray(mp4)
    # From the back, so the offsets of earlier entries stay valid.
    for chain, _body, end in sorted(targets, key=lambda t: t[2], reverse=True):
        for start in chain:
            _grow(out, start, len(extra))
        out[end:end] = extra
    _shift_chunk_offsets(out, len(extra) * len(targets))
    return bytes(out)


def _video_entries(mp4: bytes):
    """(starts of the boxes around it, type, start of payload, end) of every video sample entry."""
    def walk(offset: int, end: int, depth: int, chain: tuple[int, ...]):
        for kind, body, box_end in iter_boxes(mp4, offset, end):
            here = (*chain, body - 8)
            if depth < len(_PATH):
                if kind == _PATH[depth]:
                    yield from walk(body + _CHILDREN_AT.get(kind, 0), box_end, depth + 1, here)
            elif kind in _VIDEO_ENTRIES:
                yield here, kind, body, box_end
    yield from walk(0, len(mp4), 0, ())


def _grow(mp4: bytearray, start: int, by: int) -> None:
    (size,) = struct.unpack_from(">I", mp4, start)
    if size in (0, 1):
        raise ValueError("64-bit or open-ended boxes around a sample entry are not supported")
    struct.pack_into(">I", mp4, start, size + by)


def _shift_chunk_offsets(mp4: bytearray, by: int) -> None:
    """Chunk offsets point at absolute file positions: media after the
    ``moov`` moved by ``by`` bytes (a fragmented init has no chunks)."""
    data = bytes(mp4)
    moov = next(((body, end) for kind, body, end in iter_boxes(data) if kind == "moov"), None)
    if moov is None:
        return
    moov_end = moov[1]
    if not any(kind == "mdat" and body >= moov_end for kind, body, _e in iter_boxes(data)):
        return

    def walk(offset: int, end: int) -> None:
        for kind, body, box_end in iter_boxes(data, offset, end):
            if kind in ("trak", "mdia", "minf", "stbl"):
                walk(body, box_end)
            elif kind in ("stco", "co64"):
                (count,) = struct.unpack_from(">I", data, body + 4)
                fmt, width = (">I", 4) if kind == "stco" else (">Q", 8)
                for i in range(count):
                    at = body + 8 + i * width
                    (value,) = struct.unpack_from(fmt, data, at)
                    if value >= moov_end - by:
                        struct.pack_into(fmt, mp4, at, value + by)

    walk(*moov)


def _toy_init() -> bytes:
    """The smallest tree with a video sample entry (for the examples above)."""
    avc1 = _box("avc1", bytes(_VISUAL_ENTRY_FIELDS) + _box("avcC", b"\x01"))
    stsd = _full_box("stsd", struct.pack(">I", 1) + avc1)
    tree = stsd
    for kind in ("stbl", "minf", "mdia", "trak", "moov"):
        tree = _box(kind, tree)
    return _box("ftyp", b"isom\x00\x00\x02\x00") + tree
