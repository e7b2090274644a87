"""AAC encoding of PCM audio into :class:`EncodedPacket` objects.

Shared by the simulated camera (a generated tone) and the Pi backend (a USB
microphone through ALSA): both end as AAC-LC, which every browser plays.
"""

from __future__ import annotations

from fractions import Fraction

import av

from appliance.camera.base import AudioFormat, EncodedPacket


class AacEncoder:
    def __init__(self, sample_rate: int = 48000, channels: int = 1, bitrate: int = 64000) -> None:
        ctx = av.CodecContext.create("aac", "w")
        ctx.sample_rate = sample_rate
        ctx.layout = "mono" if channels == 1 else "stereo"
        ctx.format = "fltp"
        ctx.time_base = Fraction(1, sample_rate)
        ctx.bit_rate = bitrate
        ctx.open()
        self._ctx = ctx
        self._next_pts = 0
        self.format = AudioFormat(sample_rate, channels, bitrate, bytes(ctx.extradata or b""))

    def encode(self, frame: av.AudioFrame | None) -> list[EncodedPacket]:
        """Encode one frame of any length (``None`` flushes the encoder)."""
        return [self._wrap(p) for p in self._ctx.encode(frame)]

    def _wrap(self, packet: av.Packet) -> EncodedPacket:
        # Packets are stamped by counting samples from 0, whatever the input
        # frames carried. This also drops the encoder's priming offset (its
        # first packet would be at -1024), keeping the fragmented MP4 free of
        # negative decode times; 21 ms is well inside lip-sync tolerance.
        duration = int(packet.duration or 1024)
        pts, self._next_pts = self._next_pts, self._next_pts + duration
        return EncodedPacket(
            kind="audio",
            data=bytes(packet),
            pts=pts,
            duration=duration,
            time_base=Fraction(1, self.format.sample_rate),
            keyframe=True,
        )
