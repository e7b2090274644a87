"""What every camera backend delivers: encoded packets with timestamps.

A camera is a source of already-encoded H.264 video and AAC audio. The
recorder never decodes or re-encodes; it only muxes. Backends push packets
into a :class:`PacketQueue` from their own threads and the recorder iterates
over it, so a slow disk never blocks the camera's capture thread for long.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterator, Literal

from appliance.errors import KitError

log = logging.getLogger(__name__)


def call_tap(tap: Callable[[Any, int], None] | None, samples: Any, rate: int) -> None:
    """Hand raw audio to a tap; a failing tap never disturbs the capture."""
    if tap is None:
        return
    try:
        tap(samples, rate)
    except Exception as exc:  # noqa: BLE001 - the recording matters more
        log.warning("audio tap failed: %s", exc)


class CameraUnavailable(KitError):
    """No camera (or microphone) is there, or it stopped delivering."""


def default_bitrate(width: int, height: int, fps: int) -> int:
    """10 Mbit/s for 1080p30, scaled by pixel rate.

    >>> default_bitrate(1920, 1080, 30), default_bitrate(1280, 720, 30)
    (10000000, 4444444)
    """
    return max(200_000, int(10_000_000 * (width * height * fps) / (1920 * 1080 * 30)))


@dataclass(frozen=True)
class VideoFormat:
    width: int
    height: int
    fps: int
    bitrate: int  # bits per second the encoder aims at
    keyframe_interval: int  # frames between keyframes (one GOP)
    #: "flat", or "equirectangular" for a 360° camera's unrolled sphere
    #: (appliance.footage.spherical marks the MP4 so players know).
    projection: str = "flat"


@dataclass(frozen=True)
class AudioFormat:
    sample_rate: int
    channels: int
    bitrate: int
    extradata: bytes  # AAC AudioSpecificConfig, needed in the MP4 header


@dataclass(slots=True)
class EncodedPacket:
    """One encoded access unit. ``pts`` and ``duration`` count ``time_base`` ticks."""

    kind: Literal["video", "audio"]
    data: bytes
    pts: int
    duration: int
    time_base: Fraction
    keyframe: bool

    @property
    def start_s(self) -> float:
        return float(self.pts * self.time_base)

    @property
    def end_s(self) -> float:
        return float((self.pts + self.duration) * self.time_base)


class Camera:
    """The interface of a camera backend.

    ``start()`` raises :class:`CameraUnavailable` when there is no camera;
    iterating :meth:`packets` yields packets in capture order per stream and
    ends after ``stop()``, or raises :class:`CameraUnavailable` when the
    camera fails while running.
    """

    video: VideoFormat
    audio: AudioFormat | None
    #: Called with (mono float32 samples, sample rate) for each block of raw
    #: audio before it is encoded, from the capture thread; it must return at
    #: once (``appliance.talk.live.LiveTalk.feed``). Errors in it are ignored.
    audio_tap: Callable[[Any, int], None] | None = None

    def start(self) -> None:
        raise NotImplementedError

    def packets(self) -> Iterator[EncodedPacket]:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def nominal_bytes_per_second(self) -> float:
        """What the encoders aim at, before anything has been recorded."""
        bits = self.video.bitrate + (self.audio.bitrate if self.audio else 0)
        return bits / 8 * 1.02  # a couple of percent of MP4 framing


class ThreadedCamera(Camera):
    """A camera whose packets come from a producer thread of its own.

    Subclasses call :meth:`_launch` from ``start()`` with the queue and the
    thread's target; ``packets()`` and ``stop()`` are the same for all of them.
    """

    def __init__(self) -> None:
        self._queue: PacketQueue | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _launch(self, queue: "PacketQueue", target: Callable[..., None], args: tuple, name: str) -> None:
        self._queue = queue
        self._thread = threading.Thread(target=target, args=(queue, *args), name=name, daemon=True)
        self._thread.start()

    def packets(self) -> Iterator[EncodedPacket]:
        if self._queue is None:
            raise RuntimeError("camera not started")
        return iter(self._queue)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


#: Named picture sizes both camera backends accept.
SIZES = {"1080p": (1920, 1080), "720p": (1280, 720)}


_END = object()


class PacketQueue:
    """Hands packets from capture threads to the recorder thread.

    ``blocking=True`` applies back-pressure (a simulated source waits for the
    recorder); ``blocking=False`` never stalls a hardware callback: when the
    recorder falls more than ``maxsize`` packets behind, packets are dropped
    and counted rather than letting memory grow without bound.

    With ``stall_timeout`` set, a consumer that waits that long for the next
    packet gets :class:`CameraUnavailable`: hardware that silently stops
    (a pulled ribbon cable) must end the recording, not hang it.
    """

    def __init__(
        self,
        maxsize: int = 2000,
        blocking: bool = False,
        give_up: Callable[[], bool] = lambda: False,
        stall_timeout: float | None = None,
    ) -> None:
        self._stall_timeout = stall_timeout
        self._queue: queue.Queue[object] = queue.Queue(maxsize)
        self._blocking = blocking
        # A blocked producer checks this so stop() works even when the
        # consumer is the one stopping (and has stopped reading).
        self._give_up = give_up
        self._closed = threading.Event()
        self.dropped = 0

    def put(self, packet: EncodedPacket) -> None:
        if self._closed.is_set():
            return
        if self._blocking:
            while not self._closed.is_set() and not self._give_up():
                try:
                    self._queue.put(packet, timeout=0.2)
                    return
                except queue.Full:
                    continue
            return
        try:
            self._queue.put_nowait(packet)
        except queue.Full:
            if not self.dropped:
                log.warning("the recorder fell behind the camera; dropping packets")
            self.dropped += 1

    def finish(self, error: BaseException | None = None) -> None:
        """End the stream; with ``error`` the consumer raises it after the last packet."""
        if self._closed.is_set():
            return
        self._closed.set()
        # The end marker must get in even when the queue is full.
        marker = (_END, error)
        while True:
            try:
                self._queue.put_nowait(marker)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def __iter__(self) -> Iterator[EncodedPacket]:
        while True:
            try:
                item = self._queue.get(timeout=self._stall_timeout)
            except queue.Empty:
                raise CameraUnavailable(
                    f"the camera delivered nothing for {self._stall_timeout:g} s"
                ) from None
            if isinstance(item, tuple) and item and item[0] is _END:
                if item[1] is not None:
                    raise item[1]
                return
            yield item  # type: ignore[misc]
