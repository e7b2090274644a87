"""Picamera2Camera against a stand-in picamera2: the calls we make, and a recording from it."""

from __future__ import annotations

import io
import subprocess
import sys
import threading

import av
import pytest

from appliance import age
from appliance.camera import CameraUnavailable, Picamera2Camera
from appliance.camera.alsa_mic import AlsaMicrophone
from appliance.errors import KitError
from appliance.footage import store
from appliance.footage.recorder import SegmentRecorder

from stand_in_picamera2 import StandIn

# A "microphone" made by FFmpeg's lavfi: a tone paced in real time, opened
# through the same code path as the ALSA device.
TONE = "sine=frequency=440:sample_rate=48000,arealtime"


def _record_until(camera, directory, recipients, media_segments):
    recorder = SegmentRecorder(camera)
    done = threading.Event()
    errors = []
    recorder.start(directory, recipients,
                   on_segment=lambda s: s.index >= media_segments and done.set(),
                   on_error=lambda e: (errors.append(e), done.set()))
    assert done.wait(60)
    summary = recorder.stop()
    assert errors == []
    return summary


def _decrypt_all(directory, identity, tmp_path) -> bytes:
    key = tmp_path / "key.txt"
    key.write_text(f"{identity}\n")
    try:
        return b"".join(
            subprocess.run(["age", "-d", "-i", str(key), str(p)], capture_output=True, check=True).stdout
            for p in store.list_segments(directory)
        )
    finally:
        key.unlink()


def test_1080p30_default_makes_the_expected_picamera2_calls(monkeypatch):
    stand_in = StandIn().install(monkeypatch)
    camera = Picamera2Camera(microphone=None)
    assert (camera.video.width, camera.video.height, camera.video.fps) == (1920, 1080, 30)
    camera.start()
    camera.stop()
    names = [c[0] for c in stand_in.calls]
    assert names == ["global_camera_info", "Picamera2", "create_video_configuration", "configure",
                     "H264Encoder", "start_recording", "stop_recording", "close"]
    config = dict((c[0], c[1:]) for c in stand_in.calls)
    assert config["create_video_configuration"] == ({"size": (1920, 1080)}, {"FrameRate": 30})
    # Parameter sets at every keyframe and a keyframe every 2 s: each segment stands alone.
    assert config["H264Encoder"] == ({"bitrate": 10_000_000, "repeat": True, "iperiod": 60},)
    assert config["start_recording"] == ("H264Encoder", True)


def test_720p_option(monkeypatch):
    stand_in = StandIn().install(monkeypatch)
    camera = Picamera2Camera("720p", microphone=None)
    camera.start()
    camera.stop()
    config = dict((c[0], c[1:]) for c in stand_in.calls)
    assert config["create_video_configuration"][0] == {"size": (1280, 720)}
    assert config["H264Encoder"][0]["bitrate"] == 4_444_444  # 10 Mbit/s at 1080p30, by pixel rate
    with pytest.raises(ValueError):
        Picamera2Camera("4k")
    # The same by width and height, as the daemon's configuration gives them.
    by_size = Picamera2Camera(width=1280, height=720, fps=25, microphone=None)
    assert (by_size.video.width, by_size.video.height, by_size.video.keyframe_interval) == (1280, 720, 50)


def test_no_camera_module_is_a_clear_error(monkeypatch):
    StandIn(cameras=0).install(monkeypatch)
    with pytest.raises(CameraUnavailable, match="no camera module found") as caught:
        Picamera2Camera(microphone=None).start()
    assert isinstance(caught.value, KitError) and "\n" not in str(caught.value)


def test_without_picamera2_installed_the_error_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import fails as on a laptop
    with pytest.raises(CameraUnavailable, match="python3-picamera2.*--simulate"):
        Picamera2Camera(microphone=None).start()


def test_missing_microphone_is_a_clear_error_and_releases_the_camera(monkeypatch):
    stand_in = StandIn().install(monkeypatch)
    camera = Picamera2Camera(microphone=AlsaMicrophone("hw:CARD=NoSuchMic"))
    with pytest.raises(CameraUnavailable, match="no microphone"):
        camera.start()
    assert stand_in.calls[-1] == ("close",)


def test_recording_from_the_pi_path_is_playable_with_sound(monkeypatch, tmp_path):
    """Hardware H.264 (stand-in) + microphone → muxer → segments, with no re-encoding."""
    stand_in = StandIn().install(monkeypatch)
    identity = age.generate_identity()
    camera = Picamera2Camera("720p", microphone=AlsaMicrophone(TONE, input_format="lavfi"))
    directory = tmp_path / "r"
    summary = _record_until(camera, directory, [identity.recipient], media_segments=1)
    assert summary.segments >= 1 and summary.duration_s >= 2.0 - 1 / 30
    data = _decrypt_all(directory, identity, tmp_path)
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 1280, 720)
        assert container.streams.audio[0].codec_context.name == "aac"
        frames = sum(1 for _ in container.decode(video=0))
    with av.open(io.BytesIO(data)) as container:
        audio = [f for f in container.decode(audio=0)]
    # The microphone's clock lines up with the camera's: sound from the start
    # of the picture to its end (loose bounds: a busy machine paces unevenly;
    # a clock mismatch would be off by seconds to hours).
    first_s = float(audio[0].pts * audio[0].time_base)
    heard_s = sum(f.samples for f in audio) / 48000
    assert first_s < 0.3
    assert heard_s == pytest.approx(summary.duration_s, abs=0.5)
    # Every frame the "encoder" produced up to the last sealed one is in the file.
    assert frames == round(summary.duration_s * 30)
    assert frames <= stand_in.frames_sent


def _record_until_error(camera, directory, recipients, **recorder_kwargs):
    recorder = SegmentRecorder(camera, **recorder_kwargs)
    failed = threading.Event()
    errors, sealed = [], []
    recorder.start(directory, recipients, on_segment=sealed.append,
                   on_error=lambda e: (errors.append(e), failed.set()))
    assert failed.wait(60), "a camera that went quiet was never reported"
    summary = recorder.stop()
    return errors, sealed, summary


def test_camera_going_quiet_while_the_microphone_runs_ends_the_recording(monkeypatch, tmp_path):
    StandIn(cable_pulled_after=45).install(monkeypatch)
    identity = age.generate_identity()
    camera = Picamera2Camera("720p", microphone=AlsaMicrophone(TONE, input_format="lavfi"))
    errors, sealed, summary = _record_until_error(camera, tmp_path / "r", [identity.recipient],
                                                  picture_timeout_s=1.0)
    assert isinstance(errors[0], CameraUnavailable) and "no picture" in str(errors[0])
    # The 1.5 s of picture before the cable came loose are sealed and play.
    assert summary.segments == 1 and summary.duration_s == pytest.approx(1.5, abs=0.05)
    data = _decrypt_all(tmp_path / "r", identity, tmp_path)
    with av.open(io.BytesIO(data)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 45


def test_camera_going_quiet_without_microphone_ends_the_recording(monkeypatch, tmp_path):
    StandIn(cable_pulled_after=45).install(monkeypatch)
    identity = age.generate_identity()
    camera = Picamera2Camera("720p", microphone=None, stall_timeout_s=1.0)
    errors, sealed, summary = _record_until_error(camera, tmp_path / "r", [identity.recipient])
    assert isinstance(errors[0], CameraUnavailable) and "delivered nothing for 1 s" in str(errors[0])
    assert summary.segments == 1 and [s.index for s in sealed] == [0, 1]
