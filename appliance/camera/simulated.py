"""A camera that needs no hardware: test pattern, burnt-in clock, tone.

The video is encoded with libx264 and the audio with FFmpeg's AAC encoder, so
everything downstream handles exactly the kind of packets the Pi delivers:
H.264 Annex-B with in-band parameter sets and a keyframe at the start of
every segment, and AAC-LC.

``realtime=True`` paces frames like a camera; ``realtime=False`` produces as
fast as the recorder consumes (tests, benchmarks).
"""

from __future__ import annotations

import datetime
import math
import time
from fractions import Fraction

import av
import numpy as np

from appliance.camera.aac import AacEncoder
from appliance.camera.base import (
    SIZES,
    CameraUnavailable,
    call_tap,
    EncodedPacket,
    PacketQueue,
    ThreadedCamera,
    VideoFormat,
    default_bitrate,
)
from appliance.camera.room_scene import RoomScene
from appliance.camera.test_pattern import TestPattern

class SimulatedCamera(ThreadedCamera):
    def __init__(
        self,
        width: int = 1280,
        height: int = 720,
        fps: int = 30,
        realtime: bool = True,
        *,
        keyframe_seconds: float = 2.0,
        bitrate: int | None = None,
        audio: bool = True,
        tone_hz: float = 440.0,
        fail_after_s: float | None = None,
        grain: int = 0,
        clock_start: datetime.datetime | None = None,
        audio_samples: np.ndarray | None = None,
        projection: str = "flat",
    ) -> None:
        """``audio_samples``: mono float32 at 48 kHz to record instead of the
        tone (``kit run --simulate --sim-audio FILE``, talk-time tests);
        silence after it ends. ``projection="equirectangular"`` films the
        virtual classroom (:mod:`appliance.camera.room_scene`) as a 360°
        camera does, in a 2:1 picture (``kit run --simulate --camera 360``)."""
        if projection not in ("flat", "equirectangular"):
            raise ValueError("projection is flat or equirectangular")
        super().__init__()
        self.video = VideoFormat(
            width=width,
            height=height,
            fps=fps,
            bitrate=bitrate or default_bitrate(width, height, fps),
            keyframe_interval=max(1, round(fps * keyframe_seconds)),
            projection=projection,
        )
        self.realtime = realtime
        self._want_audio = audio
        self._tone_hz = tone_hz
        self._fail_after_s = fail_after_s
        self._grain = grain
        self._clock_start = clock_start
        self._audio_samples = None if audio_samples is None else np.asarray(audio_samples, dtype=np.float32).reshape(-1)
        self.audio = AacEncoder().format if audio else None

    @classmethod
    def preset(cls, name: str, **kwargs: object) -> "SimulatedCamera":
        """``SimulatedCamera.preset("1080p")`` or ``("720p")``."""
        width, height = SIZES[name]
        return cls(width, height, **kwargs)  # type: ignore[arg-type]

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("camera already started")
        self._stop.clear()
        # A real camera cannot wait for the disk; the simulation in fast
        # mode must, or it would race ahead and fill memory.
        queue = PacketQueue(maxsize=600, blocking=not self.realtime, give_up=self._stop.is_set)
        video = self._open_video_encoder()
        audio = AacEncoder() if self._want_audio else None
        self._launch(queue, self._run, (video, audio), "simulated-camera")

    def _open_video_encoder(self) -> av.VideoCodecContext:
        v = self.video
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height = v.width, v.height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, v.fps)
        ctx.framerate = Fraction(v.fps)
        ctx.bit_rate = v.bitrate
        # No B-frames and no lookahead, like the Pi's hardware encoder; a
        # fixed GOP so every segment starts with a keyframe.
        gop = v.keyframe_interval
        ctx.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0",
        }
        ctx.open()
        return ctx

    def _run(self, queue: PacketQueue, video: av.VideoCodecContext, audio: AacEncoder | None) -> None:
        try:
            self._produce(queue, video, audio)
        except CameraUnavailable as exc:
            queue.finish(exc)
            return
        except Exception as exc:  # an encoder failure is a camera failure to the recorder
            queue.finish(CameraUnavailable(f"simulated camera failed: {exc}"))
            return
        queue.finish()

    def _produce(self, queue: PacketQueue, video: av.VideoCodecContext, audio: AacEncoder | None) -> None:
        v = self.video
        pattern: TestPattern | RoomScene
        if v.projection == "equirectangular":
            pattern = RoomScene(v.width, v.height, v.fps, self._grain)
        else:
            pattern = TestPattern(v.width, v.height, self._grain)
        clock0 = self._clock_start or datetime.datetime.now()
        started = time.monotonic()
        tb = Fraction(1, v.fps)
        sample_rate = audio.format.sample_rate if audio else 48000
        samples_done = 0
        index = 0
        while not self._stop.is_set():
            media_s = index / v.fps
            if self._fail_after_s is not None and media_s >= self._fail_after_s:
                raise CameraUnavailable("camera stopped delivering frames (simulated fault)")
            if self.realtime:
                delay = started + media_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            stamp = clock0 + datetime.timedelta(seconds=media_s)
            text = stamp.strftime("%H:%M:%S") + f".{index % v.fps:02d}"
            frame = av.VideoFrame.from_ndarray(pattern.frame(index, text), format="yuv420p")
            frame.pts = index
            frame.time_base = tb
            for packet in video.encode(frame):
                queue.put(_video_packet(packet, tb))
            index += 1
            if audio is not None:
                # Audio up to the end of this video frame, in AAC-sized chunks.
                target = index * sample_rate // v.fps
                while samples_done + 1024 <= target:
                    block = self._tone(samples_done, 1024, sample_rate)
                    call_tap(self.audio_tap, block.to_ndarray()[0], sample_rate)
                    queue_frames = audio.encode(block)
                    for packet in queue_frames:
                        queue.put(packet)
                    samples_done += 1024
        for packet in video.encode(None):
            queue.put(_video_packet(packet, tb))
        if audio is not None:
            for packet in audio.encode(None):
                queue.put(packet)

    def _tone(self, first: int, count: int, rate: int) -> av.AudioFrame:
        if self._audio_samples is not None:
            samples = np.zeros(count, dtype=np.float32)
            part = self._audio_samples[first:first + count]
            samples[: len(part)] = part
            return self._frame(samples, first, rate)
        t = (np.arange(first, first + count) / rate).astype(np.float64)
        # A steady tone with a short higher beep at every whole second, so
        # a listener can check audio against the burnt-in clock.
        beep = (t % 1.0) < 0.1
        freq = np.where(beep, self._tone_hz * 2, self._tone_hz)
        samples = (0.2 * np.sin(2 * math.pi * freq * t)).astype(np.float32)
        return self._frame(samples, first, rate)

    @staticmethod
    def _frame(samples: np.ndarray, first: int, rate: int) -> av.AudioFrame:
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = first
        frame.time_base = Fraction(1, rate)
        return frame


def _video_packet(packet: av.Packet, tb: Fraction) -> EncodedPacket:
    return EncodedPacket(
        kind="video",
        data=bytes(packet),
        pts=int(packet.pts),
        duration=int(packet.duration or 1),
        time_base=tb,
        keyframe=bool(packet.is_keyframe),
    )
