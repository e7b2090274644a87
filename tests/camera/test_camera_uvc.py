"""UvcCamera: H.264 from the camera passes through untouched; MJPEG is encoded here.

No webcam is attached to a test machine, so the "device" is a recorded
stream of the simulated classroom in the format a UVC camera sends (raw
MJPEG frames or an H.264 elementary stream), read through the same FFmpeg
demux path as ``/dev/videoN``; ``offered`` is what VIDIOC_ENUM_FMT would
have said.
"""

from __future__ import annotations

import io
import threading
from fractions import Fraction

import av
import pytest

from appliance import age
from appliance.camera import CameraUnavailable
from appliance.camera.room_scene import RoomScene
from appliance.camera.uvc_camera import UvcCamera, offered_formats
from appliance.footage import spherical
from appliance.footage.recorder import SegmentRecorder

from test_camera_picamera2 import _decrypt_all

SIZE = (384, 192)


def _camera_stream(path, codec: str, seconds: float = 5.0, gop: int = 30) -> bytes:
    """What the camera sends, as FFmpeg's raw demuxer reads it back."""
    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height = SIZE
    ctx.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
    ctx.time_base, ctx.framerate = Fraction(1, 30), Fraction(30)
    if codec == "libx264":
        ctx.options = {"preset": "ultrafast", "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0"}
    ctx.open()
    scene = RoomScene(*SIZE)
    out = bytearray()
    for i in range(round(seconds * 30)):
        frame = av.VideoFrame.from_ndarray(scene.frame(i, "11:00"), format="yuv420p")
        frame = frame.reformat(format=ctx.pix_fmt)
        frame.pts = i
        for packet in ctx.encode(frame):
            out += bytes(packet)
    for packet in ctx.encode(None):
        out += bytes(packet)
    path.write_bytes(bytes(out))
    return bytes(out)


def _record(camera, directory, recipients):
    recorder = SegmentRecorder(camera, segment_seconds=2.0)
    sealed, errors, ended = [], [], threading.Event()
    recorder.start(directory, recipients, on_segment=sealed.append,
                   on_error=lambda e: (errors.append(e), ended.set()))
    # The recorded stream ends as an unplugged camera does.
    assert ended.wait(60)
    recorder.stop()
    return sealed, errors


@pytest.fixture
def shm(tmp_path_factory):
    import shutil, tempfile
    from pathlib import Path
    d = Path(tempfile.mkdtemp(prefix="uvc-", dir="/dev/shm"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_h264_from_the_camera_is_recorded_without_re_encoding(shm, tmp_path):
    source = shm / "camera.h264"
    sent = _camera_stream(source, "libx264")
    identity = age.generate_identity()
    camera = UvcCamera(str(source), width=SIZE[0], height=SIZE[1], input_format="h264",
                       offered={"MJPG", "H264", "YUYV"}, microphone=None, projection="equirectangular")
    sealed, errors = _record(camera, tmp_path / "r", [identity.recipient])
    assert camera.passthrough is True
    assert isinstance(errors[0], CameraUnavailable) and "unplugged" in str(errors[0])
    data = _decrypt_all(tmp_path / "r", identity, tmp_path)
    assert spherical.projection_of(data) == "equirectangular"
    with av.open(io.BytesIO(data)) as container:
        kept = b"".join(bytes(p) for p in container.demux(video=0) if p.size)
        frames = sum(1 for _ in av.open(io.BytesIO(data)).decode(video=0))
    assert frames == 150
    # The camera's slices are in the file byte for byte (the MP4 holds them length-prefixed).
    first_slice = sent[sent.index(b"\x00\x00\x01\x65") + 3:][:200]
    assert first_slice in kept


def test_an_mjpeg_camera_is_encoded_to_h264_with_the_kit_keyframe_interval(shm, tmp_path):
    source = shm / "camera.mjpeg"
    _camera_stream(source, "mjpeg")
    identity = age.generate_identity()
    camera = UvcCamera(str(source), width=SIZE[0], height=SIZE[1], input_format="mjpeg",
                       offered={"MJPG", "YUYV"}, microphone=None)
    sealed, errors = _record(camera, tmp_path / "r", [identity.recipient])
    assert camera.passthrough is False
    media = [s for s in sealed if s.index > 0]
    assert [round(s.duration_s, 2) for s in media[:2]] == [2.0, 2.0]
    data = _decrypt_all(tmp_path / "r", identity, tmp_path)
    assert spherical.projection_of(data) == "flat"
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in container.decode(video=0)) == 150


def test_a_camera_with_neither_h264_nor_mjpeg_is_refused_with_its_formats_named():
    camera = UvcCamera("/dev/video9", offered={"YUYV", "NV12"}, microphone=None)
    with pytest.raises(CameraUnavailable, match="neither H.264 nor MJPEG.*NV12, YUYV"):
        camera.start()


def test_no_device_is_a_clear_error(tmp_path):
    with pytest.raises(CameraUnavailable, match="no USB camera at .*video7"):
        offered_formats(str(tmp_path / "video7"))


def test_a_file_that_is_no_video_device_is_not_taken_for_a_camera(tmp_path):
    not_a_camera = tmp_path / "video0"
    not_a_camera.write_bytes(b"")
    with pytest.raises(CameraUnavailable, match="not a video capture device"):
        offered_formats(str(not_a_camera))
