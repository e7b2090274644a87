"""Any USB webcam (UVC) through V4L2, with a USB microphone.

Most UVC cameras offer MJPEG; some (Logitech C920-class, several 360°
webcams) also offer H.264 straight from the camera. H.264 is passed through
as the camera encodes it, as the Pi camera's is; MJPEG is decoded and
encoded to H.264 here, by the Pi's hardware encoder (``h264_v4l2m2m``)
where there is one and by libx264 elsewhere, with the kit's keyframe
interval so segments are as long as configured.

A UVC 360° camera (one that stitches in the camera and presents a 2:1
picture) is configured with ``projection = "equirectangular"``; the
recorder then marks the MP4 as 360°.

>>> from appliance.camera.uvc_camera import is_keyframe
>>> is_keyframe(b"\\x00\\x00\\x00\\x01\\x67..." + b"\\x00\\x00\\x01\\x65...")
True
>>> is_keyframe(b"\\x00\\x00\\x00\\x01\\x41...")
False
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
from fractions import Fraction
from typing import Any

import av

from appliance.camera.alsa_mic import MICROSECOND, AlsaMicrophone, BootClockPin, WithMicrophone
from appliance.camera.base import (
    CameraUnavailable,
    EncodedPacket,
    PacketQueue,
    ThreadedCamera,
    VideoFormat,
    default_bitrate,
)

log = logging.getLogger(__name__)

# VIDIOC_ENUM_FMT = _IOWR('V', 2, struct v4l2_fmtdesc), a 64-byte struct.
_VIDIOC_ENUM_FMT = 0xC0405602
_V4L2_BUF_TYPE_VIDEO_CAPTURE = 1
#: The H.264 encoders tried for MJPEG cameras, best first.
HARDWARE_ENCODERS = ("h264_v4l2m2m",)


def offered_formats(device: str) -> set[str]:
    """The pixel formats (FourCC: ``"H264"``, ``"MJPG"``, ``"YUYV"`` …) a V4L2 device captures in."""
    try:
        fd = os.open(device, os.O_RDWR | os.O_NONBLOCK)
    except OSError as exc:
        raise CameraUnavailable(f"no USB camera at {device}: {exc.strerror}") from exc
    found: set[str] = set()
    try:
        for index in range(64):
            desc = bytearray(struct.pack("<II", index, _V4L2_BUF_TYPE_VIDEO_CAPTURE) + bytes(56))
            try:
                fcntl.ioctl(fd, _VIDIOC_ENUM_FMT, desc)
            except OSError:
                break  # EINVAL: no more formats
            (fourcc,) = struct.unpack_from("<I", desc, 44)
            found.add(fourcc.to_bytes(4, "little").decode("latin-1").strip())
    finally:
        os.close(fd)
    if not found:
        raise CameraUnavailable(f"{device} is not a video capture device")
    return found


def is_keyframe(annex_b: bytes) -> bool:
    """Whether an H.264 access unit holds an IDR slice (NAL type 5)."""
    at = annex_b.find(b"\x00\x00\x01")
    while at != -1 and at + 3 < len(annex_b):
        if annex_b[at + 3] & 0x1F == 5:
            return True
        at = annex_b.find(b"\x00\x00\x01", at + 3)
    return False


class UvcCamera(WithMicrophone, ThreadedCamera):
    def __init__(
        self,
        device: str = "/dev/video0",
        *,
        width: int = 1920,
        height: int = 1080,
        fps: int = 30,
        bitrate: int | None = None,
        keyframe_seconds: float = 2.0,
        projection: str = "flat",
        microphone: AlsaMicrophone | None | str = "default",
        input_format: str = "video4linux2",
        offered: set[str] | None = None,
        stall_timeout_s: float = 5.0,
    ) -> None:
        """``input_format`` and ``offered`` are FFmpeg's demuxer and the
        device's formats; tests hand a recorded stream and its format in
        place of a device."""
        super().__init__()
        self.device = device
        self.video = VideoFormat(
            width=width, height=height, fps=fps,
            bitrate=bitrate or default_bitrate(width, height, fps),
            keyframe_interval=max(1, round(fps * keyframe_seconds)),
            projection=projection,
        )
        self._use_microphone(microphone)
        self._input_format = input_format
        self._offered = offered
        self._stall_timeout_s = stall_timeout_s
        self.passthrough: bool | None = None  # known after start()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("camera already started")
        offered = self._offered if self._offered is not None else offered_formats(self.device)
        if "H264" in offered:
            self.passthrough, pixel_format = True, "h264"
        elif "MJPG" in offered:
            self.passthrough, pixel_format = False, "mjpeg"
        else:
            raise CameraUnavailable(
                f"the camera at {self.device} offers neither H.264 nor MJPEG ({', '.join(sorted(offered))})")
        v = self.video
        options = {"video_size": f"{v.width}x{v.height}", "framerate": str(v.fps),
                   "input_format": pixel_format} if self._input_format == "video4linux2" else {}
        try:
            source = av.open(self.device, format=self._input_format, options=options)
        except (av.FFmpegError, OSError) as exc:
            raise CameraUnavailable(f"the camera at {self.device} cannot be opened: {exc}") from exc
        encoder = None if self.passthrough else _open_encoder(v)
        self._stop.clear()
        queue = PacketQueue(maxsize=2000, stall_timeout=self._stall_timeout_s)
        self._start_microphone(queue, source.close)
        self._launch(queue, self._run, (source, encoder), "uvc-camera")

    def stop(self) -> None:
        super().stop()
        self._stop_microphone()
        if self._queue is not None:
            self._queue.finish()

    def _run(self, queue: PacketQueue, source: Any, encoder: Any) -> None:
        try:
            self._capture(queue, source, encoder)
        except (av.FFmpegError, OSError) as exc:
            queue.finish(CameraUnavailable(f"the USB camera stopped: {exc}"))
            return
        finally:
            source.close()
        if self._stop.is_set():
            queue.finish()
        else:
            queue.finish(CameraUnavailable("the USB camera stopped delivering frames (unplugged?)"))

    def _capture(self, queue: PacketQueue, source: Any, encoder: Any) -> None:
        stream = source.streams.video[0]
        frame_us = round(1_000_000 / self.video.fps)
        to_boot_clock = BootClockPin(frame_us)
        count = 0
        for packet in source.demux(stream):
            if self._stop.is_set():
                break
            if packet.size == 0:
                continue
            # V4L2 stamps µs on the monotonic clock; a recorded stand-in may
            # have none: then frames are spaced at the nominal rate.
            camera_us = (round(float(packet.pts * packet.time_base) * 1_000_000)
                         if packet.pts is not None and packet.time_base else count * frame_us)
            count += 1
            pts = to_boot_clock(camera_us)
            if encoder is None:
                data = bytes(packet)
                queue.put(EncodedPacket("video", data, pts, frame_us, MICROSECOND, is_keyframe(data)))
                continue
            for frame in packet.decode():
                frame = frame.reformat(format="yuv420p", width=self.video.width, height=self.video.height)
                frame.pts, frame.time_base = pts, MICROSECOND
                for out in encoder.encode(frame):
                    queue.put(EncodedPacket("video", bytes(out), int(out.pts), frame_us, MICROSECOND,
                                            bool(out.is_keyframe)))


def _open_encoder(v: VideoFormat) -> Any:
    """An H.264 encoder for decoded MJPEG frames: the Pi's own if present."""
    for name in (*HARDWARE_ENCODERS, "libx264"):
        try:
            ctx = av.CodecContext.create(name, "w")
        except (av.FFmpegError, ValueError):
            continue
        ctx.width, ctx.height, ctx.pix_fmt = v.width, v.height, "yuv420p"
        ctx.time_base = MICROSECOND
        ctx.framerate = Fraction(v.fps)
        ctx.bit_rate = v.bitrate
        ctx.gop_size = v.keyframe_interval
        if name == "libx264":
            gop = v.keyframe_interval
            ctx.options = {"preset": "ultrafast", "tune": "zerolatency",
                           "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:repeat-headers=1"}
        try:
            ctx.open()
        except (av.FFmpegError, OSError) as exc:
            log.info("H.264 encoder %s not usable here: %s", name, exc)
            continue
        log.info("MJPEG camera: encoding with %s", name)
        return ctx
    raise CameraUnavailable("no H.264 encoder for the MJPEG camera")
