"""ThetaCamera against a stand-in GStreamer: the pipeline we build, and 360° recordings from it."""

from __future__ import annotations

import io
import threading

import av
import pytest

from appliance import age
from appliance.camera import CameraUnavailable
from appliance.camera.theta_camera import ThetaCamera
from appliance.footage import spherical
from appliance.footage.recorder import SegmentRecorder

from stand_in_gst import StandIn
from test_camera_picamera2 import _decrypt_all


def _record(camera, directory, recipients, media_segments):
    recorder = SegmentRecorder(camera, segment_seconds=2.0)
    sealed, errors, done = [], [], threading.Event()
    recorder.start(directory, recipients,
                   on_segment=lambda s: (sealed.append(s), s.index >= media_segments and done.set()),
                   on_error=lambda e: (errors.append(e), done.set()))
    assert done.wait(120)
    recorder.stop()
    return sealed, errors


@pytest.mark.parametrize("gop_frames, segment_s", [(30, 2.0), (120, 4.0)])
def test_the_theta_records_360_degree_segments_that_follow_the_camera_gop(monkeypatch, tmp_path, gop_frames, segment_s):
    stand_in = StandIn(gop_frames=gop_frames).install(monkeypatch)
    identity = age.generate_identity()
    camera = ThetaCamera("2K", microphone=None)
    sealed, errors = _record(camera, tmp_path / "r", [identity.recipient], media_segments=2)
    assert errors == []
    assert stand_in.pipelines == [
        "thetauvcsrc mode=2K ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,"
        "alignment=au ! appsink name=sink sync=false max-buffers=600 drop=false"]
    assert stand_in.states[0] == "PLAYING" and stand_in.states[-1] == "NULL"
    media = [s for s in sealed if s.index > 0][:2]
    assert [round(s.duration_s, 2) for s in media] == [segment_s, segment_s]
    data = _decrypt_all(tmp_path / "r", identity, tmp_path)
    assert spherical.projection_of(data) == "equirectangular"
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (1920, 960)
        assert sum(1 for _ in container.decode(video=0)) >= round(2 * segment_s * 30)


def test_without_gstreamer_the_error_says_what_to_install(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "gi", None)
    with pytest.raises(CameraUnavailable, match="python3-gi.*gstthetauvc"):
        ThetaCamera(microphone=None).start()


def test_without_the_theta_plugin_the_error_names_it(monkeypatch):
    StandIn(plugin=False).install(monkeypatch)
    with pytest.raises(CameraUnavailable, match="gstthetauvc plugin"):
        ThetaCamera(microphone=None).start()


def test_an_unplugged_theta_ends_the_recording_and_keeps_what_was_sealed(monkeypatch, tmp_path):
    StandIn(gop_frames=30, unplug_after=75).install(monkeypatch)
    identity = age.generate_identity()
    recorder = SegmentRecorder(ThetaCamera("2K", microphone=None), segment_seconds=2.0)
    failed, errors, sealed = threading.Event(), [], []
    recorder.start(tmp_path / "r", [identity.recipient], on_segment=sealed.append,
                   on_error=lambda e: (errors.append(e), failed.set()))
    assert failed.wait(60)
    summary = recorder.stop()
    assert isinstance(errors[0], CameraUnavailable) and "stopped streaming" in str(errors[0])
    assert summary.duration_s == pytest.approx(2.5, abs=0.05)


def test_a_theta_mode_is_2k_or_4k():
    assert (ThetaCamera("4K", microphone=None).video.width, ThetaCamera("4K", microphone=None).video.height) == (3840, 1920)
    with pytest.raises(ValueError, match="2K, 4K"):
        ThetaCamera("8K", microphone=None)
