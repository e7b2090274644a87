"""Live analysis: the same lesson fed in 1024-sample blocks at 48 kHz, as the
camera's audio thread does, gives a timeline within the issue's tolerances."""

from __future__ import annotations


import pytest

from appliance.talk.live import LiveTalk
from appliance.talk.measures import wait_times
from tests.support import talk_synth



def test_live_analysis_matches_the_truth():
    lesson = talk_synth.synthesize()
    audio = talk_synth.to_48k(lesson.pcm)
    live = LiveTalk(max_queued_blocks=100_000)
    for i in range(0, len(audio), 1024):
        live.feed(audio[i:i + 1024], 48_000)
    tl = live.finish(600)
    assert live.dropped_samples == 0
    assert tl["duration_s"] == pytest.approx(lesson.duration_s, abs=0.1)
    acc = talk_synth.accuracy(lesson, tl)
    assert acc["talk_err"] <= 0.10 and acc["near_err"] <= 0.10 and acc["far_err"] <= 0.10, acc
    assert acc["labelled_ok"] >= 0.90, acc
    for w, q in zip(wait_times(tl["segments"], lesson.questions), lesson.questions):
        assert w["wait_s"] is not None and abs(w["wait_s"] - q["true_wait_s"]) <= 0.3, (w, q)


def test_a_full_queue_drops_without_waiting_and_keeps_time():
    import numpy as np

    live = LiveTalk(max_queued_blocks=1)
    block = np.zeros(1024, np.float32)
    for _ in range(2000):  # far faster than the worker: most are dropped, none waits
        live.feed(block, 48_000)
    tl = live.finish(60)
    assert tl["duration_s"] == pytest.approx(2000 * 1024 / 48_000, abs=0.1)
