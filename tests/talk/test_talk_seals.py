"""The live talk analysis never delays a segment seal.

A real-time simulated camera records a few seconds while its audio tap is
off, or is ``LiveTalk.feed`` with a real VAD, or with a VAD that is stuck
until the test lets it go. For every sealed segment we take how long after
its media end (in the camera's own real time) the seal arrived. Runs with
the tap are compared with the run without it, with a generous bound, so a
busy machine does not make the test flaky; a feed that waited for a stuck
VAD would fall behind by seconds and without limit, which the last test
shows the measurement catches.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from appliance import age
from appliance.camera import SimulatedCamera
from appliance.footage.recorder import SegmentRecorder
from appliance.talk.live import LiveTalk
from appliance.talk.vad import WebrtcVad, load_vad

MEDIA_S = 5.0
SEGMENT_S = 1.0
# Far more than encoding and sealing a 1-s segment of 160×96 ever costs, far
# less than the seconds a blocked camera thread loses.
SLACK_S = 1.0
# Eight blocks of 1024 samples at 48 kHz: a stuck worker fills it in 0.17 s.
SMALL_QUEUE = 8


class StuckVad:
    """A detector that hangs until ``release`` is set, then finds silence."""

    name = "stuck"
    frame_samples = 480
    threshold = 0.5

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()

    def probabilities(self, pcm: np.ndarray, reset: bool = True) -> np.ndarray:
        self.entered.set()
        self.release.wait(120)
        return np.zeros(len(pcm) // self.frame_samples, np.float32)


class BlockingLiveTalk(LiveTalk):
    """What the kit must not do: wait for room in the queue."""

    def feed(self, samples: np.ndarray, rate: int) -> None:
        self._queue.put((np.array(samples, dtype=np.float32, copy=True).reshape(-1), int(rate)))


def record(tmp_path, tap=None, media_s: float = MEDIA_S, wait_s: float = 60.0):
    """(lags, recorder, t0): the seal lag (s) of each media segment, i.e.
    the wall time of its seal minus the wall time at which its last media
    moment happened; the recorder still runs."""
    camera = SimulatedCamera(160, 96, fps=10, realtime=True, keyframe_seconds=SEGMENT_S)
    camera.audio_tap = tap  # as KitController does when live talk is on
    recorder = SegmentRecorder(camera, segment_seconds=SEGMENT_S)
    lags: list[float] = []
    done = threading.Event()
    t0 = time.monotonic()

    def on_segment(seg) -> None:
        if seg.index == 0:
            return
        end = seg.start_s + seg.duration_s
        lags.append(time.monotonic() - t0 - end)
        if end >= media_s:
            done.set()

    recorder.start(tmp_path / f"rec-{time.monotonic_ns()}", [age.generate_identity().recipient],
                   on_segment=on_segment)
    done.wait(wait_s)
    return lags, recorder, t0


def stop(recorder) -> None:
    recorder.stop()
    recorder.camera.audio_tap = None


@pytest.fixture(scope="module")
def control(tmp_path_factory) -> list[float]:
    lags, recorder, _t0 = record(tmp_path_factory.mktemp("control"))
    stop(recorder)
    assert len(lags) >= MEDIA_S / SEGMENT_S - 1, lags
    return lags


@pytest.mark.parametrize("vad", ["silero", "webrtc"])
def test_live_talk_with_a_real_vad_seals_like_no_live_talk(tmp_path, control, vad):
    live = LiveTalk(vad_factory=(lambda: load_vad("silero")) if vad == "silero" else WebrtcVad)
    lags, recorder, _t0 = record(tmp_path, live.feed)
    stop(recorder)
    timeline = live.finish(60)
    assert len(lags) >= len(control) - 1, (lags, control)
    assert max(lags) <= max(control) + SLACK_S, (lags, control)
    assert timeline["duration_s"] >= MEDIA_S - SEGMENT_S  # the tap really saw the audio


def test_a_stuck_vad_drops_audio_and_never_holds_a_seal(tmp_path, control):
    vad = StuckVad()
    live = LiveTalk(vad_factory=lambda: vad, max_queued_blocks=SMALL_QUEUE)
    recorder = None
    try:
        lags, recorder, _t0 = record(tmp_path, live.feed, wait_s=MEDIA_S + 5 * SLACK_S)
        entered, dropped = vad.entered.is_set(), live.dropped_samples
    finally:
        # Released before stopping, so a feed that did wait cannot hang the test.
        vad.release.set()
        if recorder is not None:
            stop(recorder)
    assert len(lags) >= len(control) - 1, (lags, control)
    assert max(lags) <= max(control) + SLACK_S, (lags, control)
    assert entered  # the worker was inside the detector all along
    assert dropped > 0  # the queue was full: the feed had to choose, and dropped
    # Dropped audio became silence of the same length: times stay right.
    assert live.finish(60)["duration_s"] >= MEDIA_S - SEGMENT_S


def test_the_measurement_catches_a_feed_that_waits(tmp_path, control):
    """The bound above is not vacuous: the same stuck VAD behind a feed that
    waits for room stops the camera thread, and the seals stop with it."""
    vad = StuckVad()
    live = BlockingLiveTalk(vad_factory=lambda: vad, max_queued_blocks=SMALL_QUEUE)
    recorder = None
    try:
        lags, recorder, t0 = record(tmp_path, live.feed, wait_s=MEDIA_S + 3 * SLACK_S)
        # The first segment not sealed: its media ended long ago and it is
        # still waiting, later already than the others allow.
        missing_end = (len(lags) + 1) * SEGMENT_S
        late = time.monotonic() - t0 - missing_end
        assert len(lags) < len(control) - 1, (lags, control)
        assert late > max(control) + SLACK_S, (late, control)
    finally:
        vad.release.set()
        if recorder is not None:
            stop(recorder)
    live.finish(60)
