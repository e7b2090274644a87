"""A USB microphone through ALSA (no PulseAudio on a Lite image), encoded to AAC.

PyAV opens the device with FFmpeg's ``alsa`` input; frames are stamped by
counting samples from the moment the first one arrived, on the same clock
the Pi camera stamps video with (``CLOCK_BOOTTIME``), so the muxer can line
both up.
"""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from typing import Callable

import av

from appliance.camera.aac import AacEncoder
from appliance.camera.base import CameraUnavailable, EncodedPacket, call_tap

MICROSECOND = Fraction(1, 1_000_000)


def boottime_us() -> int:
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1000


class BootClockPin:
    """Moves a camera's own microsecond timestamps onto the boot clock the
    microphone stamps audio with.

    Cameras differ in what their timestamps count from (sensor time, the
    first frame, the monotonic clock); the first frame is pinned to "now
    less ``latency_us``" (a frame of encoder latency) and later frames keep
    the camera's own spacing, so dropped frames stay visible as gaps.
    """

    def __init__(self, latency_us: int) -> None:
        self.latency_us = latency_us
        self.offset_us: int | None = None

    def __call__(self, camera_us: int) -> int:
        if self.offset_us is None:
            self.offset_us = boottime_us() - self.latency_us - int(camera_us)
        return int(camera_us) + self.offset_us


class AlsaMicrophone:
    #: raw audio before encoding, see ``Camera.audio_tap``
    audio_tap: Callable[..., None] | None = None

    def __init__(
        self,
        device: str = "default",
        *,
        sample_rate: int = 48000,
        channels: int = 1,
        bitrate: int = 64000,
        input_format: str = "alsa",
    ) -> None:
        self.device = device
        self.input_format = input_format
        self._options = {"sample_rate": str(sample_rate), "channels": str(channels)}
        self._encoder = AacEncoder(sample_rate, channels, bitrate)
        self.format = self._encoder.format
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._container: av.container.InputContainer | None = None

    def start(self, deliver: Callable[[EncodedPacket], None], fail: Callable[[BaseException], None]) -> None:
        """Open the device (raising :class:`CameraUnavailable` if absent) and capture on a thread."""
        try:
            options = self._options if self.input_format == "alsa" else {}
            self._container = av.open(self.device, format=self.input_format, options=options)
        except (av.FFmpegError, OSError) as exc:
            raise CameraUnavailable(
                f"no microphone: cannot open ALSA device {self.device!r} (is the USB microphone plugged in?)"
            ) from exc
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(deliver, fail), name="alsa-microphone", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self, deliver: Callable[[EncodedPacket], None], fail: Callable[[BaseException], None]) -> None:
        assert self._container is not None
        rate = self.format.sample_rate
        anchor_us: int | None = None
        samples = 0
        try:
            for frame in self._container.decode(audio=0):
                if self._stop.is_set():
                    break
                if anchor_us is None:
                    # The first frame's samples were captured just before now.
                    anchor_us = boottime_us() - frame.samples * 1_000_000 // frame.sample_rate
                frame.pts = samples
                frame.time_base = Fraction(1, frame.sample_rate)
                if self.audio_tap is not None:
                    raw = frame.to_ndarray()
                    mono = raw.reshape(len(frame.layout.channels), -1).mean(axis=0) if frame.format.is_planar \
                        else raw.reshape(-1, len(frame.layout.channels)).mean(axis=1)
                    if frame.format.name.startswith("s16"):
                        mono = mono / 32768.0
                    elif frame.format.name.startswith("s32"):
                        mono = mono / 2147483648.0
                    call_tap(self.audio_tap, mono.astype("float32"), frame.sample_rate)
                for packet in self._encoder.encode(frame):
                    deliver(_on_clock(packet, anchor_us, rate))
                samples += frame.samples
            else:
                if not self._stop.is_set():
                    raise CameraUnavailable("the microphone stopped delivering sound")
            for packet in self._encoder.encode(None):
                deliver(_on_clock(packet, anchor_us or 0, rate))
        except CameraUnavailable as exc:
            fail(exc)
        except Exception as exc:  # any failure ends the recording with a clear reason
            fail(CameraUnavailable(f"the microphone failed: {exc}"))
        finally:
            self._container.close()


def _on_clock(packet: EncodedPacket, anchor_us: int, rate: int) -> EncodedPacket:
    """Re-express an AAC packet (sample ticks from 0) in microseconds of the boot clock."""
    start = anchor_us + packet.pts * 1_000_000 // rate
    return EncodedPacket(
        kind="audio",
        data=packet.data,
        pts=start,
        duration=max(1, packet.duration * 1_000_000 // rate),
        time_base=MICROSECOND,
        keyframe=True,
    )


class WithMicrophone:
    """For cameras whose sound comes from a USB microphone: ``audio`` and
    the audio tap are the microphone's (none without one)."""

    _microphone: "AlsaMicrophone | None" = None

    def _use_microphone(self, microphone: "AlsaMicrophone | None | str") -> None:
        """An ALSA device name, a microphone, or None (picture only)."""
        if isinstance(microphone, str):
            microphone = AlsaMicrophone(microphone)
        self._microphone = microphone
        self.audio = microphone.format if microphone else None

    def _start_microphone(self, queue, release: Callable[[], None]) -> None:
        """Sound into the camera's queue; a microphone that does not start
        releases the camera (``release``) and ends the start."""
        if self._microphone is None:
            return
        try:
            self._microphone.start(queue.put, queue.finish)
        except CameraUnavailable:
            release()
            raise

    def _stop_microphone(self) -> None:
        if self._microphone is not None:
            self._microphone.stop()

    @property
    def audio_tap(self):
        return self._microphone.audio_tap if self._microphone is not None else None

    @audio_tap.setter
    def audio_tap(self, tap) -> None:
        if self._microphone is not None:
            self._microphone.audio_tap = tap
