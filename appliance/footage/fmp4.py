"""Encoded packets in, fragmented MP4 out: one init segment, one fragment per GOP.

The MP4 is written by FFmpeg's muxer (through PyAV) into an in-memory sink,
never a file: ``frag_keyframe`` cuts a ``moof``+``mdat`` fragment at every
video keyframe, ``empty_moov`` puts no samples in the init segment and
``default_base_moof`` plus the ``tfdt`` box give every fragment the absolute
decode time that HLS players (hls.js, Safari) need to play fragments as
separate segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import av

from appliance.camera.base import AudioFormat, EncodedPacket, VideoFormat
from appliance.footage import spherical
from appliance.footage.mp4boxes import BoxSplitter

MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof+skip_trailer"
VIDEO_TIMESCALE = Fraction(1, 90000)


@dataclass(frozen=True)
class Fragment:
    data: bytes  # moof + mdat
    start_s: float  # from the first keyframe of the recording
    duration_s: float


class FragmentedMp4Muxer:
    """Feed packets with :meth:`add`; :meth:`close` flushes the last fragment.

    Packets before the first video keyframe are dropped (nothing can be
    decoded before it) and all timestamps are rebased so the recording starts
    at zero, whatever clock the camera stamps them with.
    """

    def __init__(
        self,
        video: VideoFormat,
        audio: AudioFormat | None,
        on_init: Callable[[bytes], None],
        on_fragment: Callable[[Fragment], None],
    ) -> None:
        self._on_init = on_init
        self._spherical = video.projection == spherical.EQUIRECTANGULAR
        self._on_fragment = on_fragment
        self._ftyp: bytes | None = None
        self._moof: bytes | None = None
        self._sink = BoxSplitter(self._box)
        self._container = av.open(
            self._sink, "w", format="mp4",
            options={"movflags": MOVFLAGS, "flush_packets": "1"},
        )
        self._video = self._container.add_mux_stream(
            "h264", rate=video.fps, width=video.width, height=video.height
        )
        self._video.time_base = VIDEO_TIMESCALE
        self._audio = None
        if audio is not None:
            # A mux-only AAC stream cannot learn its AudioSpecificConfig from
            # the packets, so carry the camera's in an (unused) encoder context.
            stream = self._container.add_stream(
                "aac", rate=audio.sample_rate, layout="mono" if audio.channels == 1 else "stereo"
            )
            stream.codec_context.bit_rate = audio.bitrate
            stream.codec_context.open()
            stream.codec_context.extradata = audio.extradata
            stream.time_base = Fraction(1, audio.sample_rate)
            self._audio = stream
        self._origin: Fraction | None = None
        self._last_pts: dict[str, int] = {}
        self._keyframes: list[float] = []  # start of every GOP, seconds from origin
        self._video_end = 0.0
        self._fragments = 0
        self._closed = False

    @property
    def started(self) -> bool:
        return self._origin is not None

    def add(self, packet: EncodedPacket) -> None:
        if packet.kind == "video":
            stream = self._video
            if self._origin is None:
                if not packet.keyframe:
                    return
                self._origin = packet.pts * packet.time_base
        else:
            stream = self._audio
            if stream is None or self._origin is None:
                return
        ticks = packet.pts - round(self._origin / packet.time_base)
        if ticks < 0:
            return
        # Decode times must rise strictly per track; cameras can jitter.
        last = self._last_pts.get(packet.kind)
        if last is not None and ticks <= last:
            ticks = last + 1
        self._last_pts[packet.kind] = ticks
        if packet.kind == "video":
            start = float(ticks * packet.time_base)
            if packet.keyframe:
                self._keyframes.append(start)
            self._video_end = max(self._video_end, start + float(packet.duration * packet.time_base))
        av_packet = av.Packet(packet.data)
        av_packet.pts = av_packet.dts = ticks
        av_packet.duration = packet.duration
        av_packet.time_base = packet.time_base
        av_packet.is_keyframe = packet.keyframe
        av_packet.stream = stream
        self._container.mux(av_packet)

    def close(self) -> None:
        """Write the last fragment. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._origin is None:
            # Nothing was muxed: closing would write a header for no media.
            try:
                self._container.close()
            except Exception:
                pass
            return
        self._container.close()

    def _box(self, kind: str, data: bytes) -> None:
        if kind == "ftyp":
            self._ftyp = data
        elif kind == "moov":
            init = (self._ftyp or b"") + data
            self._on_init(spherical.add_equirectangular(init) if self._spherical else init)
        elif kind == "moof":
            self._moof = data
        elif kind == "mdat" and self._moof is not None:
            index = self._fragments
            self._fragments += 1
            start = self._keyframes[index] if index < len(self._keyframes) else self._video_end
            if index + 1 < len(self._keyframes):
                end = self._keyframes[index + 1]
            else:
                end = self._video_end
            self._on_fragment(Fragment(self._moof + data, start, max(0.0, end - start)))
            self._moof = None
        # Anything else (free, sidx, mfra) carries nothing a player needs.
