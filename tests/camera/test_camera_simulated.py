"""The simulated camera produces real H.264 + AAC with the structure the recorder relies on."""

from __future__ import annotations

import numpy as np
import pytest

import av

from appliance.camera import CameraUnavailable, SimulatedCamera
from appliance.camera.test_pattern import TestPattern


def _collect(camera: SimulatedCamera, video_frames: int) -> list:
    camera.start()
    packets = []
    try:
        for packet in camera.packets():
            packets.append(packet)
            if sum(p.kind == "video" for p in packets) >= video_frames:
                break
    finally:
        camera.stop()
    return packets


def test_video_is_h264_with_a_keyframe_every_segment():
    camera = SimulatedCamera(320, 240, fps=30, realtime=False, keyframe_seconds=2.0)
    packets = [p for p in _collect(camera, 150) if p.kind == "video"]
    keyframes = [i for i, p in enumerate(packets) if p.keyframe]
    assert keyframes == [0, 60, 120]
    assert [p.pts for p in packets] == list(range(len(packets)))
    decoder = av.CodecContext.create("h264", "r")
    frames = []
    for p in packets:
        frames += decoder.decode(av.Packet(p.data))
    frames += decoder.decode(None)
    assert len(frames) == len(packets)
    assert (frames[0].width, frames[0].height) == (320, 240)
    # Keyframes carry their parameter sets in-band, as the Pi encoder's do.
    assert b"\x00\x00\x00\x01\x67" in packets[60].data[:64]


def test_audio_is_aac_carrying_the_tone():
    camera = SimulatedCamera(160, 96, fps=30, realtime=False, tone_hz=440.0)
    audio = [p for p in _collect(camera, 60) if p.kind == "audio"]
    assert camera.audio is not None and camera.audio.extradata
    assert [p.pts for p in audio] == [i * 1024 for i in range(len(audio))]
    decoder = av.CodecContext.create("aac", "r")
    decoder.extradata = camera.audio.extradata
    pcm = np.concatenate([f.to_ndarray()[0] for p in audio for f in decoder.decode(av.Packet(p.data))])
    # Half a second away from the beeps at whole seconds: the steady 440 Hz tone.
    window = pcm[int(0.3 * 48000):int(0.8 * 48000)]
    spectrum = np.abs(np.fft.rfft(window))
    peak_hz = np.argmax(spectrum) * 48000 / len(window)
    assert peak_hz == pytest.approx(440, abs=5)


def test_presets_and_bitrates():
    hd = SimulatedCamera.preset("1080p", realtime=False)
    assert (hd.video.width, hd.video.height, hd.video.fps) == (1920, 1080, 30)
    assert hd.video.bitrate == 10_000_000
    assert SimulatedCamera.preset("720p").video.height == 720
    first = _collect(hd, 1)[0]
    frame = av.CodecContext.create("h264", "r").decode(av.Packet(first.data))[0]
    assert (frame.width, frame.height) == (1920, 1080)


def test_fault_injection_ends_the_stream_with_camera_unavailable():
    camera = SimulatedCamera(160, 96, realtime=False, fail_after_s=1.0)
    camera.start()
    seen = 0
    with pytest.raises(CameraUnavailable, match="stopped delivering"):
        for packet in camera.packets():
            seen += packet.kind == "video"
    camera.stop()
    assert seen == 30


def test_pattern_moves_and_shows_the_clock():
    pattern = TestPattern(320, 180)
    a = pattern.frame(0, "10:00:00.00").copy()
    b = pattern.frame(15, "10:00:00.00").copy()
    c = pattern.frame(15, "10:00:01.00").copy()
    assert not np.array_equal(a[:180], b[:180])  # motion
    clock_rows = slice(0, 20)
    assert not np.array_equal(b[clock_rows], c[clock_rows])  # a different time is drawn
    assert np.array_equal(b[40:180], c[40:180])  # and only the clock area changes


def test_realtime_camera_records_through_the_recorder(tmp_path):
    """The paced mode `kit run --simulate` uses: a first segment arrives and stops cleanly."""
    import threading

    from appliance import age
    from appliance.footage.recorder import SegmentRecorder

    recorder = SegmentRecorder(SimulatedCamera(160, 96, fps=30, realtime=True))
    first = threading.Event()
    recorder.start(tmp_path / "r", [age.generate_identity().recipient],
                   on_segment=lambda s: s.index == 1 and first.set())
    assert first.wait(30)
    summary = recorder.stop()
    assert recorder.error is None
    assert summary.segments >= 1 and summary.duration_s >= 2.0 - 1 / 30
