"""A recording's thumbnail: one picture from a keyframe, sealed like the footage.

Opnames shows each lesson with a small picture so a teacher finds "the one
with the group work" at a glance. It is made while recording, from the
first keyframe a few seconds in (the very first frames are often the
teacher walking away from the kit): the keyframe's H.264 access unit, which
carries its parameter sets, is decoded on its own, scaled to
:data:`WIDTH` pixels wide and encoded as JPEG, all in memory, then sealed
with age to the recording's recipients (``thumb.jpg.age`` beside the
segments). It is personal like the footage: nothing else ever holds it
unencrypted, and retention shreds it with the recording's directory.

A 360° picture is the whole sphere; its thumbnail is the front half (the
camera's forward direction ±90°), which reads as a wide picture.

>>> from appliance.camera import SimulatedCamera
>>> camera = SimulatedCamera(320, 180, realtime=False)
>>> camera.start(); key = next(p for p in camera.packets() if p.kind == "video" and p.keyframe); camera.stop()
>>> jpeg = thumbnail_jpeg(key.data)
>>> jpeg[:3] == b"\\xff\\xd8\\xff", len(jpeg) < 20_000
(True, True)
"""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av

from appliance.sealed import write_sealed

NAME = "thumb.jpg.age"
WIDTH = 320
#: Media time after which the first keyframe becomes the thumbnail.
AFTER_S = 3.0


def thumbnail_jpeg(keyframe: bytes, projection: str = "flat") -> bytes:
    """JPEG bytes of a keyframe access unit (H.264 Annex-B with its parameter sets).

    Raises ``ValueError`` when the bytes hold no picture.
    """
    decoder = av.CodecContext.create("h264", "r")
    frames = []
    try:
        frames = list(decoder.decode(av.Packet(keyframe)))
        frames += list(decoder.decode(None))
    except av.FFmpegError as exc:
        raise ValueError(f"the keyframe does not decode: {exc}") from None
    if not frames:
        raise ValueError("the keyframe holds no picture")
    frame = frames[0]
    if projection == "equirectangular":
        rgb = frame.to_ndarray(format="rgb24")
        quarter = rgb.shape[1] // 4
        frame = av.VideoFrame.from_ndarray(rgb[:, quarter:quarter * 3].copy(), format="rgb24")
    height = max(2, round(frame.height * WIDTH / frame.width / 2) * 2)
    small = frame.reformat(width=WIDTH, height=height, format="yuvj420p")
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, height, "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    encoder.options = {"qscale": "5"}
    encoder.open()
    out = io.BytesIO()
    for packet in encoder.encode(small):
        out.write(bytes(packet))
    for packet in encoder.encode(None):
        out.write(bytes(packet))
    return out.getvalue()


def seal_thumbnail(directory: Path, keyframe: bytes, recipients: list, projection: str = "flat") -> int:
    """Make and seal the thumbnail; its sealed size. Nothing unencrypted reaches the disk."""
    return write_sealed(Path(directory), NAME, [thumbnail_jpeg(keyframe, projection)], recipients)
