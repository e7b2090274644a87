"""The Pi camera module through picamera2, with a USB microphone.

picamera2 is imported only when this camera starts: it exists only on a Pi
(``python3-picamera2`` from apt; the kit's venv sees system site packages).
The Pi's hardware H.264 encoder hands us Annex-B frames with the parameter
sets repeated at every keyframe; they go to the muxer as they are, with no
re-encoding.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Iterator

from appliance.camera.alsa_mic import MICROSECOND, AlsaMicrophone, BootClockPin, WithMicrophone
from appliance.camera.base import (
    SIZES,
    Camera,
    CameraUnavailable,
    EncodedPacket,
    PacketQueue,
    VideoFormat,
    default_bitrate,
)

def _import_picamera2() -> tuple[Any, Any, Any]:
    try:
        picamera2 = importlib.import_module("picamera2")
        encoders = importlib.import_module("picamera2.encoders")
        outputs = importlib.import_module("picamera2.outputs")
    except ImportError as exc:
        raise CameraUnavailable(
            "picamera2 is not installed: on a Raspberry Pi install python3-picamera2; "
            "elsewhere run the kit with --simulate"
        ) from exc
    return picamera2.Picamera2, encoders.H264Encoder, outputs.Output


class Picamera2Camera(WithMicrophone, Camera):
    def __init__(
        self,
        size: str | None = None,
        fps: int = 30,
        *,
        width: int | None = None,
        height: int | None = None,
        bitrate: int | None = None,
        keyframe_seconds: float = 2.0,
        microphone: AlsaMicrophone | None | str = "default",
        camera_index: int = 0,
        stall_timeout_s: float = 5.0,
    ) -> None:
        """``size`` is ``"1080p"`` (default) or ``"720p"``; or give ``width`` and ``height``."""
        if size is not None:
            if size not in SIZES:
                raise ValueError(f"size must be one of {', '.join(SIZES)}")
            width, height = SIZES[size]
        elif width is None or height is None:
            width, height = SIZES["1080p"]
        self.video = VideoFormat(
            width=width,
            height=height,
            fps=fps,
            bitrate=bitrate or default_bitrate(width, height, fps),
            keyframe_interval=max(1, round(fps * keyframe_seconds)),
        )
        self._use_microphone(microphone)
        self._camera_index = camera_index
        self._stall_timeout_s = stall_timeout_s
        self._picam2: Any = None
        self._queue: PacketQueue | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        Picamera2, H264Encoder, Output = _import_picamera2()
        if not Picamera2.global_camera_info():
            raise CameraUnavailable("no camera module found: check the ribbon cable")
        queue = PacketQueue(maxsize=2000, stall_timeout=self._stall_timeout_s)
        v = self.video
        try:
            picam2 = Picamera2(self._camera_index)
        except (RuntimeError, IndexError) as exc:
            raise CameraUnavailable(f"the camera cannot be opened: {exc}") from exc
        try:
            config = picam2.create_video_configuration(
                main={"size": (v.width, v.height)},
                controls={"FrameRate": v.fps},
            )
            picam2.configure(config)
            encoder = H264Encoder(bitrate=v.bitrate, repeat=True, iperiod=v.keyframe_interval)
            output = _queue_output(Output, queue, v.fps)
            if self._microphone is not None:
                self._microphone.start(queue.put, queue.finish)
            picam2.start_recording(encoder, output)
        except CameraUnavailable:
            picam2.close()
            raise
        except Exception as exc:
            if self._microphone is not None:
                self._microphone.stop()
            picam2.close()
            raise CameraUnavailable(f"the camera cannot start: {exc}") from exc
        with self._lock:
            self._picam2, self._queue = picam2, queue

    def packets(self) -> Iterator[EncodedPacket]:
        if self._queue is None:
            raise RuntimeError("camera not started")
        return iter(self._queue)

    def stop(self) -> None:
        with self._lock:
            picam2, self._picam2 = self._picam2, None
            queue = self._queue
        if picam2 is None:
            return
        try:
            picam2.stop_recording()
        finally:
            picam2.close()
            if self._microphone is not None:
                self._microphone.stop()
            if queue is not None:
                queue.finish()


def _queue_output(Output: type, queue: PacketQueue, fps: int) -> Any:
    """A picamera2 ``Output`` that hands encoded frames to ``queue``."""
    frame_us = round(1_000_000 / fps)

    # picamera2 versions differ in what their µs timestamps count from
    # (sensor time or the first frame); one frame of encoder latency.
    to_boot_clock = BootClockPin(frame_us)

    class QueueOutput(Output):  # type: ignore[misc, valid-type]

        def outputframe(self, frame: Any, keyframe: bool = True, timestamp: int | None = None,
                        packet: Any = None, audio: bool = False) -> None:
            if audio or timestamp is None:
                return  # picamera2's own audio path is not used; ALSA is
            queue.put(EncodedPacket(
                kind="video",
                data=bytes(frame),
                pts=to_boot_clock(timestamp),
                duration=frame_us,
                time_base=MICROSECOND,
                keyframe=bool(keyframe),
            ))

    return QueueOutput()

