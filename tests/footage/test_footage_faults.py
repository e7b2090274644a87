"""Faults while recording stop it cleanly and keep every sealed segment."""

from __future__ import annotations

import errno
import os
import subprocess
import threading
from pathlib import Path

import pytest

from appliance.camera import CameraUnavailable, SimulatedCamera
from appliance import durable
from appliance.footage import store
from appliance.footage import thumbnail
from appliance.footage.recorder import RecordingFailed, SegmentRecorder

from footage_probe import decode_all


def _run_until_error(recorder: SegmentRecorder, directory: Path, recipients: list):
    errors: list = []
    segments: list = []
    failed = threading.Event()

    def on_error(error):
        errors.append(error)
        failed.set()

    recorder.start(directory, recipients, on_segment=segments.append, on_error=on_error)
    assert failed.wait(120), "the fault was never reported"
    summary = recorder.stop()
    return errors, segments, summary


def _assert_sealed_segments_play(directory: Path, key_file: Path, decrypt_recording_fn, segments) -> float:
    assert not list(directory.glob("*.partial"))
    on_disk = store.list_segments(directory)
    assert [s.path for s in segments] == on_disk
    probe = decode_all(decrypt_recording_fn(directory, key_file))
    assert set(probe.codecs) == {"video", "audio"}
    return probe.end_s["video"]


@pytest.fixture
def small_tmpfs(tmp_path):
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k,mode=0700", "tmpfs", str(mount_point)], check=True)
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_disk_full_stops_cleanly_and_keeps_sealed_segments(small_tmpfs, identity, key_file, decrypt_recording_fn):
    recorder = SegmentRecorder(SimulatedCamera(320, 240, realtime=False, bitrate=500_000))
    directory = small_tmpfs / "recordings" / "r"
    errors, segments, summary = _run_until_error(recorder, directory, [identity.recipient])

    assert len(errors) == 1 and isinstance(errors[0], RecordingFailed)
    assert "disk is full" in str(errors[0]) and "\n" not in str(errors[0])
    assert not recorder.recording
    assert summary.segments >= 2, "the test filesystem should hold a few segments before it fills"
    assert summary.segments == len(segments) - 1
    end = _assert_sealed_segments_play(directory, key_file, decrypt_recording_fn, segments)
    assert end == pytest.approx(summary.duration_s, abs=0.05)
    # The half-written segment was removed, so the space is free again.
    assert os.statvfs(small_tmpfs).f_bfree > 0


def test_io_error_is_reported_and_earlier_segments_survive(tmp_path, identity, key_file,
                                                           decrypt_recording_fn, monkeypatch):
    real_fsync = os.fsync
    calls = {"n": 0}

    def failing_fsync(fd):
        calls["n"] += 1
        if calls["n"] > 6:  # init + two segments (file and directory each), then the card fails
            raise OSError(errno.EIO, "Input/output error")
        return real_fsync(fd)

    monkeypatch.setattr(durable.os, "fsync", failing_fsync)
    # The count is of the footage's own writes: no thumbnail (sealed on its
    # own thread, a few seconds in) may take one of them.
    monkeypatch.setattr(thumbnail, "AFTER_S", 1e9)
    recorder = SegmentRecorder(SimulatedCamera(320, 240, realtime=False))
    directory = tmp_path / "r"
    errors, segments, summary = _run_until_error(recorder, directory, [identity.recipient])
    monkeypatch.undo()

    assert isinstance(errors[0], RecordingFailed)
    assert "cannot write footage" in str(errors[0]) and "2 segments kept" in str(errors[0])
    assert summary.segments == 2
    _assert_sealed_segments_play(directory, key_file, decrypt_recording_fn, segments)


def test_camera_failure_seals_what_it_delivered(tmp_path, identity, key_file, decrypt_recording_fn):
    camera = SimulatedCamera(320, 240, realtime=False, fail_after_s=5.0)
    recorder = SegmentRecorder(camera)
    directory = tmp_path / "r"
    errors, segments, summary = _run_until_error(recorder, directory, [identity.recipient])

    assert isinstance(errors[0], CameraUnavailable)
    assert "camera" in str(errors[0])
    # Two full segments and the second that was in flight when the camera went.
    assert [round(s.duration_s, 3) for s in segments[1:]] == [2.0, 2.0, 1.0]
    assert summary.duration_s == pytest.approx(5.0)
    end = _assert_sealed_segments_play(directory, key_file, decrypt_recording_fn, segments)
    assert end == pytest.approx(5.0, abs=0.05)


def test_a_failing_listener_does_not_stop_the_recording(tmp_path, identity):
    recorder = SegmentRecorder(SimulatedCamera(160, 96, realtime=False))
    seen = []
    enough = threading.Event()

    def on_segment(segment):
        seen.append(segment.index)
        if segment.index >= 2:
            enough.set()
        raise RuntimeError("catalogue is busy")

    recorder.start(tmp_path / "r", [identity.recipient], on_segment=on_segment)
    assert enough.wait(60)
    summary = recorder.stop()
    assert recorder.error is None
    assert summary.segments >= 2 and seen[:3] == [0, 1, 2]


def test_recover_drops_partial_files_after_a_power_cut(tmp_path, identity, record_fn):
    rec = record_fn(tmp_path / "r", [identity.recipient], media_segments=2)
    cut = rec.directory / "seg-000003.m4s.age.partial"
    cut.write_bytes(b"age-encryption.org/v1\n-> X25519 half a header")
    assert store.list_segments(rec.directory)[-1].name != cut.name
    sealed = store.recover(rec.directory)
    assert not cut.exists()
    assert sealed == [s.path for s in rec.segments]


def test_stop_is_idempotent_and_start_twice_is_refused(tmp_path, identity):
    from appliance.errors import KitError

    recorder = SegmentRecorder(SimulatedCamera(160, 96, realtime=False))
    recorder.start(tmp_path / "r", [identity.recipient])
    with pytest.raises(KitError, match="already recording"):
        recorder.start(tmp_path / "r2", [identity.recipient])
    first = recorder.stop()
    assert recorder.stop() == first
    assert first.segments >= 1


def test_failure_before_start_returns_is_raised_not_called_back(tmp_path, identity, monkeypatch):
    def broken_fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(durable.os, "fsync", broken_fsync)
    called = []
    recorder = SegmentRecorder(SimulatedCamera(160, 96, realtime=False))
    with pytest.raises(RecordingFailed, match="cannot write footage"):
        recorder.start(tmp_path / "r", [identity.recipient], on_error=called.append)
    assert called == [] and not recorder.recording
    assert store.list_segments(tmp_path / "r") == []
    assert not list((tmp_path / "r").glob("*.partial"))


def test_stop_from_inside_the_callbacks_does_not_hang(tmp_path, identity):
    recorder = SegmentRecorder(SimulatedCamera(160, 96, realtime=False))
    stopped = threading.Event()

    def on_segment(segment):
        if segment.index == 2:
            recorder.stop()
            stopped.set()

    recorder.start(tmp_path / "r", [identity.recipient], on_segment=on_segment)
    assert stopped.wait(60)
    summary = recorder.stop()
    assert summary.segments >= 2 and recorder.error is None and not recorder.recording


def test_video_only_camera_records(tmp_path, identity, key_file, decrypt_recording_fn, record_fn):
    rec = record_fn(tmp_path / "r", [identity.recipient], media_segments=1,
                    camera=SimulatedCamera(160, 96, realtime=False, audio=False))
    probe = decode_all(decrypt_recording_fn(rec.directory, key_file))
    assert set(probe.codecs) == {"video"}
    assert probe.end_s["video"] == pytest.approx(rec.summary.duration_s, abs=0.05)
