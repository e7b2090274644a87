"""Analysis of a real sealed recording: a synthesised lesson recorded through
the simulated camera and the kit's recorder, its audio decrypted in memory."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

from appliance import age
from appliance.camera import SimulatedCamera
from appliance.footage.recorder import SegmentRecorder
from appliance.paths import KitPaths
from appliance.talk.measures import wait_times
from appliance.talk.recording import analyse_recording, read_timeline, seal_timeline
from tests.support import talk_synth



@pytest.fixture(scope="module")
def recorded():
    lesson = talk_synth.synthesize()
    teacher, coach = age.generate_identity(), age.generate_identity()
    data = Path(tempfile.mkdtemp(prefix="talk-rec-"))
    paths = KitPaths(data)
    directory = paths.recording("20261201-0900-tt")
    camera = SimulatedCamera(160, 120, 15, realtime=False, audio_samples=talk_synth.to_48k(lesson.pcm))
    recorder = SegmentRecorder(camera)
    done = threading.Event()
    end_index = int(lesson.duration_s // 2) + 1

    def on_segment(seg):
        if seg.index >= end_index:
            done.set()

    recorder.start(directory, [teacher.recipient, coach.recipient], on_segment=on_segment,
                   on_error=lambda e: done.set())
    assert done.wait(300)
    recorder.stop()
    yield lesson, paths, directory, teacher, coach
    shutil.rmtree(data, ignore_errors=True)


def test_a_sealed_recording_is_analysed_within_tolerance(recorded):
    lesson, paths, directory, teacher, coach = recorded
    before = sorted(p.name for p in directory.iterdir())
    timeline = analyse_recording(directory, [coach])
    assert sorted(p.name for p in directory.iterdir()) == before  # nothing written while decoding
    assert all(name.endswith(".age") for name in before)
    acc = talk_synth.accuracy(lesson, timeline)
    assert acc["talk_err"] <= 0.10 and acc["near_err"] <= 0.10 and acc["far_err"] <= 0.10, acc
    assert acc["labelled_ok"] >= 0.90, acc
    for w, q in zip(wait_times(timeline["segments"], lesson.questions), lesson.questions):
        assert w["wait_s"] is not None and abs(w["wait_s"] - q["true_wait_s"]) <= 0.3, (w, q)


def test_the_timeline_is_sealed_to_teacher_and_coach_only(recorded):
    lesson, paths, directory, teacher, coach = recorded
    timeline = analyse_recording(directory, [teacher])
    path = paths.talk("20261201-0900-tt")
    seal_timeline(path, timeline, [str(teacher.recipient), str(coach.recipient)])
    assert path.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert read_timeline(path, [coach]) == timeline
    assert read_timeline(path, [teacher]) == timeline
    with pytest.raises(age.NoIdentityMatch):
        read_timeline(path, [age.generate_identity()])
    # The real age CLI opens it with the teacher's key (RAM only).
    ram = Path(tempfile.mkdtemp(dir="/dev/shm"))
    try:
        key = ram / "key.txt"
        key.write_text(f"{teacher}\n")
        out = subprocess.run([shutil.which("age") or "age", "-d", "-i", str(key), str(path)],
                             capture_output=True, check=True).stdout
        assert b'"segments"' in out
    finally:
        shutil.rmtree(ram)
