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
        self._shift: int | None = None
        self.format = AudioFormat(sample_rate, channels, bitrate, bytes(ctx.extradata or b""))

    def encode(self, frame: av.AudioFrame | None) -> list[EncodedPacket]:
        """Encode one frame of any length (``None`` flushes the encoder)."""
        return [self._wrap(p) for p in self._ctx.encode(frame)]

    def _wrap(self, packet: av.Packet) -> EncodedPacket:
        # The encoder stamps its first packet at -1024 (its priming delay).
        # Starting the audio track at 0 keeps the fragmented MP4 free of
        # negative decode times; 21 ms is well inside lip-sync tolerance.
        if self._shift is None:
            self._shift = -int(packet.pts or 0)
        return EncodedPacket(
            kind="audio",
            data=bytes(packet),
            pts=int(packet.pts) + self._shift,
            duration=int(packet.duration or 1024),
            time_base=Fraction(1, self.format.sample_rate),
            keyframe=True,
        )
