"""An exact clip: the footage between a clip's in and out point, as one MP4
whose timestamps start at 0.

The recording is stored as 2-second fMP4 segments; a clip's in point is
usually in the middle of one. The caller decrypts init + the overlapping
segments into memory and hands the bytes here; this module decodes them
with PyAV, keeps the video frames whose time lies in ``[in, out)`` and the
audio samples in the same span (cut to the sample), and encodes them again
(H.264 + AAC) into an in-memory MP4. Re-encoding is what lets the first
frame be the in point itself rather than the keyframe before it, in every
player (edit lists are ignored by some).

Nothing here writes the disk: input and output are ``bytes``
(:func:`recording_clip` reads the sealed segments it needs and decrypts them
in memory).
"""

from __future__ import annotations

import io
import math
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Sequence

import av

from appliance.footage import spherical

#: x264 settings: close to the source's quality, quick enough on a Pi for a
#: clip of a minute or two.
VIDEO_OPTIONS = {"crf": "20", "preset": "veryfast"}
AUDIO_BITRATE = 128_000
#: The picture of a flat view cut from a 360° recording.
FLAT_VIEW_SIZE = (1280, 720)


class ClipError(ValueError):
    """The footage holds nothing between the in and out point."""


def clip_segments(segments: Sequence[Any], in_s: float, out_s: float) -> list[int]:
    """Init (0) plus the media segments overlapping ``[in_s, out_s)``.

    ``segments`` have ``idx``, ``start_s`` and ``duration_s`` (catalogue views).

    >>> from appliance.catalogue.views import Segment
    >>> segs = [Segment(i, (i - 1) * 2.0, 2.0, 1) for i in range(1, 6)]
    >>> clip_segments(segs, 3.0, 5.0)
    [0, 2, 3]
    """
    chosen = [s.idx for s in segments if s.idx > 0 and s.start_s < out_s and s.start_s + s.duration_s > in_s]
    return [0, *chosen]


def recording_clip(directory: Path, segments: Sequence[Any], identities: list[Any], in_s: float, out_s: float,
                   view: dict[str, float] | None = None) -> bytes:
    """The exact clip ``[in_s, out_s)`` of the recording sealed in ``directory``, as MP4 bytes.

    A 360° recording gives a 360° MP4; with ``view`` (yaw, pitch, fov in
    degrees) it gives the flat picture seen in that direction instead.

    Decrypts init and the overlapping segments into memory only; raises
    ``ClipError`` when nothing lies in the range, ``age.AgeError`` when the
    footage does not open with ``identities``.
    """
    from appliance.footage.store import open_segment, segment_name

    parts = clip_segments(segments, in_s, out_s)
    if len(parts) < 2:
        raise ClipError("no footage between the in and out point")

    def plain() -> Iterable[bytes]:
        for idx in parts:
            seg = open_segment(Path(directory) / segment_name(idx), identities)
            try:
                yield seg.read()
            finally:
                seg.close()

    return cut(plain(), in_s, out_s, view=view)


def cut(source: bytes | Iterable[bytes], in_s: float, out_s: float, offset_s: float = 0.0,
        view: dict[str, float] | None = None) -> bytes:
    """The MP4 of ``[in_s, out_s)`` of ``source`` (recording time), starting at 0.

    ``source`` is a playable MP4 (init + media segments concatenated);
    ``offset_s`` is the recording time at which its first segment starts,
    for decoders that restart timestamps per extract (fMP4 keeps the
    recording's own decode time, so it is normally 0).

    The whole clip is held in memory (a minute of 1080p is some tens of
    MB) and re-encoded on the calling thread. A 360° source stays 360°
    (the output carries the spherical boxes again); with ``view`` FFmpeg's
    ``v360`` filter turns it into the flat picture looking that way.

    >>> try:
    ...     cut(b"", 5.0, 5.0)
    ... except ClipError as exc:
    ...     print(exc)
    out point before in point
    """
    if out_s <= in_s:
        raise ClipError("out point before in point")
    data = source if isinstance(source, (bytes, bytearray)) else b"".join(source)
    is_360 = spherical.projection_of(data) == spherical.EQUIRECTANGULAR
    if view is not None and not is_360:
        raise ClipError("only a 360° recording has a view to choose")
    out = io.BytesIO()
    with av.open(io.BytesIO(data), mode="r") as src, av.open(out, mode="w", format="mp4") as dst:
        v_in = src.streams.video[0] if src.streams.video else None
        a_in = src.streams.audio[0] if src.streams.audio else None
        if v_in is None:
            raise ClipError("no video")
        rate = v_in.average_rate or v_in.guessed_rate or Fraction(30)
        v_out = dst.add_stream("libx264", rate=rate, options=dict(VIDEO_OPTIONS))
        if view is not None:
            v_out.width, v_out.height = FLAT_VIEW_SIZE
        else:
            v_out.width = v_in.codec_context.width
            v_out.height = v_in.codec_context.height
        v_out.pix_fmt = "yuv420p"
        v_out.time_base = Fraction(1, 90_000) if rate is None else 1 / Fraction(rate)
        a_out = None
        if a_in is not None:
            sample_rate = a_in.codec_context.sample_rate
            a_out = dst.add_stream("aac", rate=sample_rate)
            a_out.bit_rate = AUDIO_BITRATE
            a_out.layout = a_in.codec_context.layout.name
            a_out.time_base = Fraction(1, sample_rate)

        frames = _video(src, v_in, in_s - offset_s, out_s - offset_s, v_out.time_base)
        if view is not None:
            frames = _reframed(frames, v_in, view)
        written = 0
        for frame in frames:
            for packet in v_out.encode(frame):
                dst.mux(packet)
            written += 1
        if not written:
            raise ClipError("no frames between in and out")
        for packet in v_out.encode(None):
            dst.mux(packet)

        if a_in is not None and a_out is not None:
            src.seek(0)
            fifo = av.AudioFifo()
            for frame in _audio(src, a_in, in_s - offset_s, out_s - offset_s):
                fifo.write(frame)
            size = a_out.codec_context.frame_size or 1024
            pts = 0
            while fifo.samples:
                chunk = fifo.read(min(size, fifo.samples))
                chunk.pts = pts
                chunk.time_base = a_out.time_base
                pts += chunk.samples
                for packet in a_out.encode(chunk):
                    dst.mux(packet)
            for packet in a_out.encode(None):
                dst.mux(packet)
    result = out.getvalue()
    return spherical.add_equirectangular(result) if is_360 and view is None else result


def v360_options(view: dict[str, float]) -> str:
    """FFmpeg ``v360`` options for the flat picture looking along ``view``.

    >>> v360_options({"yaw": 90, "pitch": -10, "fov": 80})
    'input=equirect:output=flat:yaw=90:pitch=-10:roll=0:h_fov=80:v_fov=50.5:w=1280:h=720:interp=linear'
    """
    width, height = FLAT_VIEW_SIZE
    h_fov = float(view["fov"])
    v_fov = math.degrees(2 * math.atan(math.tan(math.radians(h_fov) / 2) * height / width))
    return (f"input=equirect:output=flat:yaw={view['yaw']:g}:pitch={view['pitch']:g}:roll=0:"
            f"h_fov={h_fov:g}:v_fov={v_fov:.1f}:w={width}:h={height}:interp=linear")


def _reframed(frames, stream, view: dict[str, float]):
    """The frames, each turned into the flat view by one ``v360`` filter graph."""
    graph = None
    for frame in frames:
        if graph is None:
            graph = av.filter.Graph()
            source = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format.name,
                                      time_base=frame.time_base)
            turn = graph.add("v360", v360_options(view))
            sink = graph.add("buffersink")
            source.link_to(turn)
            turn.link_to(sink)
            graph.configure()
        pts, time_base = frame.pts, frame.time_base
        graph.push(frame)
        flat = graph.pull()
        flat.pts, flat.time_base = pts, time_base
        yield flat


def _video(src, stream, in_s: float, out_s: float, time_base: Fraction):
    """Frames with ``in_s <= t < out_s``, re-timed from 0 at the clip's frame rate."""
    index = 0
    for frame in src.decode(stream):
        if frame.pts is None:
            continue
        t = float(frame.pts * stream.time_base)
        if t < in_s - 1e-6:
            continue
        if t >= out_s - 1e-6:
            break
        new = frame.reformat(format="yuv420p")
        new.pts = index
        new.time_base = time_base
        index += 1
        yield new


def _audio(src, stream, in_s: float, out_s: float):
    """Audio between ``in_s`` and ``out_s``, cut to the sample, as planar-float frames."""
    rate = stream.codec_context.sample_rate
    layout = stream.codec_context.layout.name
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    first, last = round(in_s * rate), round(out_s * rate)
    for frame in src.decode(stream):
        if frame.pts is None:
            continue
        start = round(float(frame.pts * stream.time_base) * rate)
        end = start + frame.samples
        if end <= first:
            continue
        if start >= last:
            break
        for planar in resampler.resample(frame):
            arr = planar.to_ndarray()
            lo, hi = max(0, first - start), min(planar.samples, last - start)
            if hi <= lo:
                continue
            piece = av.AudioFrame.from_ndarray(arr[:, lo:hi].copy(), format="fltp", layout=layout)
            piece.sample_rate = rate
            piece.pts = None
            yield piece
