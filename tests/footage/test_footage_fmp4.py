"""The muxer and segmenter on replayed packets: rebasing, keyframe cuts, short GOPs."""

from __future__ import annotations

import threading
from dataclasses import replace
from fractions import Fraction

import pytest

from appliance.camera import SimulatedCamera
from appliance.camera.base import EncodedPacket
from appliance.camera.replay import ReplayCamera
from appliance.footage.fmp4 import FragmentedMp4Muxer
from appliance.footage.mp4boxes import iter_boxes
from appliance.footage.recorder import SegmentRecorder

from footage_probe import decode_all

MICRO = Fraction(1, 1_000_000)


def _packets(keyframe_seconds: float = 2.0, video_frames: int = 130) -> tuple[SimulatedCamera, list[EncodedPacket]]:
    camera = SimulatedCamera(160, 96, fps=30, realtime=False, keyframe_seconds=keyframe_seconds)
    camera.start()
    packets = []
    for packet in camera.packets():
        packets.append(packet)
        if sum(p.kind == "video" for p in packets) >= video_frames:
            break
    camera.stop()
    return camera, packets


def _on_boot_clock(packet: EncodedPacket, epoch_us: int) -> EncodedPacket:
    """The same packet as a Pi would stamp it: microseconds since boot."""
    us = epoch_us + packet.pts * packet.time_base / MICRO
    return replace(packet, pts=int(us), duration=int(packet.duration * packet.time_base / MICRO), time_base=MICRO)


def test_timestamps_are_rebased_and_leading_non_keyframes_dropped():
    camera, packets = _packets()
    video = [p for p in packets if p.kind == "video"]
    # Start mid-GOP on an arbitrary clock: the first 10 frames cannot be decoded.
    fed = [_on_boot_clock(p, 987_654_321) for p in packets if not (p.kind == "video" and p.pts < 10)]
    init, fragments = [], []
    muxer = FragmentedMp4Muxer(camera.video, camera.audio, init.append, fragments.append)
    for p in fed:
        muxer.add(p)
    muxer.close()
    assert [k for k, _, _ in iter_boxes(init[0])] == ["ftyp", "moov"]
    # First keyframe at frame 60 becomes t=0; the one at 120 starts the second fragment.
    assert [(f.start_s, round(f.duration_s, 4)) for f in fragments] == [(0.0, 2.0), (2.0, round(10 / 30, 4))]
    probe = decode_all(init[0] + b"".join(f.data for f in fragments))
    assert probe.frames["video"] == len(video) - 60
    assert probe.end_s["video"] == pytest.approx((len(video) - 60) / 30, abs=0.002)


def test_short_gops_are_grouped_into_two_second_segments(tmp_path):
    from appliance import age

    source, packets = _packets(keyframe_seconds=0.5, video_frames=150)
    recorder = SegmentRecorder(ReplayCamera(source.video, source.audio, packets), segment_seconds=2.0)
    sealed = []
    done = threading.Event()
    recorder.start(tmp_path / "r", [age.generate_identity().recipient], on_segment=sealed.append,
                   on_error=lambda e: done.set())
    # The replay ends by itself, which to the recorder is a camera that went away.
    assert done.wait(60)
    summary = recorder.stop()
    durations = [round(s.duration_s, 3) for s in sealed[1:]]
    assert durations == [2.0, 2.0, 1.0]
    assert summary.duration_s == pytest.approx(5.0)
