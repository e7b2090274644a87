"""Ricoh Theta V / Z1 / X live streaming: the whole room, stitched in the camera.

Over USB a Theta in live-streaming mode delivers equirectangular H.264
(1920×960 or 3840×1920, stitched in the camera) through libuvc-theta;
GStreamer's ``thetauvcsrc`` (gstthetauvc) exposes it. The stream is parsed
into access units and passed through as the camera encoded it, so its
keyframe interval is the camera's own: segments follow the camera's GOP
(``SegmentRecorder`` groups whole GOPs until the configured length is
reached). Audio comes from the USB microphone, as with the other cameras.

GStreamer (``python3-gi``, ``gir1.2-gstreamer-1.0``) and the plugin exist
only on a kit built with them (image-build/README.md); they are imported
when the camera starts.
"""

from __future__ import annotations

import importlib
from typing import Any

from appliance.camera.alsa_mic import MICROSECOND, AlsaMicrophone, BootClockPin, WithMicrophone
from appliance.camera.base import (
    CameraUnavailable,
    EncodedPacket,
    PacketQueue,
    ThreadedCamera,
    VideoFormat,
)

#: mode -> (width, height, bit rate the camera streams at)
MODES = {"2K": (1920, 960, 20_000_000), "4K": (3840, 1920, 50_000_000)}
FPS = 30
PULL_TIMEOUT_NS = 200_000_000


def pipeline_description(mode: str) -> str:
    """The GStreamer pipeline: the camera's H.264, one access unit per buffer.

    >>> pipeline_description("2K")
    'thetauvcsrc mode=2K ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false max-buffers=600 drop=false'
    """
    return (f"thetauvcsrc mode={mode} ! h264parse config-interval=-1 ! "
            "video/x-h264,stream-format=byte-stream,alignment=au ! "
            "appsink name=sink sync=false max-buffers=600 drop=false")


def _import_gst() -> Any:
    try:
        gi = importlib.import_module("gi")
        gi.require_version("Gst", "1.0")
        Gst = importlib.import_module("gi.repository.Gst")
    except (ImportError, ValueError) as exc:
        raise CameraUnavailable(
            "GStreamer is not installed: the Theta needs python3-gi, gir1.2-gstreamer-1.0 and gstthetauvc"
        ) from exc
    Gst.init(None)
    if Gst.ElementFactory.find("thetauvcsrc") is None:
        raise CameraUnavailable("the gstthetauvc plugin (thetauvcsrc) is not installed")
    return Gst


class ThetaCamera(WithMicrophone, ThreadedCamera):
    def __init__(
        self,
        mode: str = "2K",
        *,
        microphone: AlsaMicrophone | None | str = "default",
        stall_timeout_s: float = 5.0,
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        width, height, bitrate = MODES[mode]
        self.mode = mode
        # The camera keyframes at its own interval; one second is what the
        # storage estimate and the live view assume until segments arrive.
        self.video = VideoFormat(width=width, height=height, fps=FPS, bitrate=bitrate,
                                 keyframe_interval=FPS, projection="equirectangular")
        self._use_microphone(microphone)
        self._stall_timeout_s = stall_timeout_s
        self._pipeline: Any = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("camera already started")
        Gst = _import_gst()
        try:
            pipeline = Gst.parse_launch(pipeline_description(self.mode))
        except Exception as exc:  # GLib.Error: a plugin or caps problem
            raise CameraUnavailable(f"the Theta pipeline cannot be built: {exc}") from exc
        sink = pipeline.get_by_name("sink")
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            pipeline.set_state(Gst.State.NULL)
            raise CameraUnavailable("the Theta does not stream: is it on, in live mode, and on a powered USB port?")
        self._pipeline = pipeline
        self._stop.clear()
        queue = PacketQueue(maxsize=2000, stall_timeout=self._stall_timeout_s)
        self._start_microphone(queue, lambda: pipeline.set_state(Gst.State.NULL))
        self._launch(queue, self._run, (Gst, sink), "theta-camera")

    def stop(self) -> None:
        super().stop()
        self._stop_microphone()
        if self._pipeline is not None:
            Gst = _import_gst()
            self._pipeline.set_state(Gst.State.NULL)
            self._pipeline = None
        if self._queue is not None:
            self._queue.finish()

    def _run(self, queue: PacketQueue, Gst: Any, sink: Any) -> None:
        frame_us = round(1_000_000 / FPS)
        to_boot_clock = BootClockPin(frame_us)
        while not self._stop.is_set():
            sample = sink.emit("try-pull-sample", PULL_TIMEOUT_NS)
            if sample is None:
                if sink.get_property("eos"):
                    queue.finish(CameraUnavailable("the Theta stopped streaming (unplugged, or its battery ran out?)"))
                    return
                continue  # a slow frame; the queue's stall timeout catches a silent camera
            buffer = sample.get_buffer()
            ok, info = buffer.map(Gst.MapFlags.READ)
            if not ok:
                continue
            try:
                data = bytes(info.data)
            finally:
                buffer.unmap(info)
            duration = buffer.duration if buffer.duration != Gst.CLOCK_TIME_NONE else frame_us * 1000
            queue.put(EncodedPacket(
                kind="video", data=data, pts=to_boot_clock(buffer.pts // 1000),
                duration=max(1, duration // 1000), time_base=MICROSECOND,
                keyframe=not buffer.has_flags(Gst.BufferFlags.DELTA_UNIT),
            ))
        queue.finish()
