"""Talk time while recording: the controller feeds the camera's raw audio to
LiveTalk and seals the timeline next to the recording when it stops."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from appliance.camera import SimulatedCamera
from appliance.catalogue import Catalogue
from appliance.controls import Controls, mock_factory
from appliance.daemon import KitController
from appliance.talk.live import LiveTalk
from appliance.talk.measures import wait_times
from tests.support import talk_synth

from .helpers import AGE, add_people, small_config, wait_for



def test_a_recording_gets_its_talk_timeline_sealed_when_it_stops(tmp_path):
    lesson = talk_synth.synthesize()
    config = small_config(tmp_path / "data", segment_seconds=2.0)
    catalogue = Catalogue(config.catalogue_path)
    (tmp_path / "keys").mkdir()
    keys = add_people(catalogue, tmp_path / "keys")
    camera = SimulatedCamera(160, 96, fps=15, realtime=False, audio_samples=talk_synth.to_48k(lesson.pcm))
    controls = Controls(config, pin_factory=mock_factory())
    controller = KitController(config, catalogue, camera, controls,
                               talk_factory=lambda: LiveTalk(max_queued_blocks=1_000_000))
    try:
        recording_id = controller.start_recording()
        wait_for(lambda: catalogue.get_recording(recording_id)["duration_s"] >= lesson.duration_s,
                 timeout=300, what="the whole lesson recorded")
        controller.stop_recording()
        assert camera.audio_tap is None
        talk = config.paths.talk(recording_id)
        wait_for(talk.exists, timeout=300, what="talk.json.age sealed")
        for key in keys.values():  # the real age CLI, teacher's and coach's key
            out = subprocess.run([AGE, "-d", "-i", str(key), str(talk)], capture_output=True, check=True).stdout
        timeline = json.loads(out)
    finally:
        controller.close()
        controls.close()
        catalogue.close()
    assert timeline["recording_id"] == recording_id
    acc = talk_synth.accuracy(lesson, timeline)
    assert acc["talk_err"] <= 0.10 and acc["near_err"] <= 0.10 and acc["far_err"] <= 0.10, acc
    assert acc["labelled_ok"] >= 0.90, acc
    for w, q in zip(wait_times(timeline["segments"], lesson.questions), lesson.questions):
        assert w["wait_s"] is not None and abs(w["wait_s"] - q["true_wait_s"]) <= 0.3, (w, q)


def test_the_microphone_tap_sees_raw_audio_before_encoding():
    from appliance.camera.alsa_mic import AlsaMicrophone

    seen = []
    mic = AlsaMicrophone("sine=frequency=440:sample_rate=48000:duration=2", input_format="lavfi")
    mic.audio_tap = lambda samples, rate: seen.append((len(samples), rate, float(np.abs(samples).max())))
    packets, failed = [], []
    import threading

    done = threading.Event()
    mic.start(packets.append, lambda e: (failed.append(e), done.set()))
    done.wait(10)
    mic.stop()
    assert seen and all(rate == 48000 for _, rate, _ in seen)
    assert sum(n for n, _, _ in seen) >= 48000 * 1.9
    assert 0.05 < max(peak for _, _, peak in seen) <= 1.0
    assert packets  # still encoded as before


def test_a_failing_tap_does_not_disturb_recording(tmp_path):
    camera = SimulatedCamera(160, 96, fps=15, realtime=False)

    def broken(samples, rate):
        raise RuntimeError("tap broke")

    camera.audio_tap = broken
    camera.start()
    n = 0
    for packet in camera.packets():
        n += packet.kind == "audio"
        if n > 50:
            break
    camera.stop()
    assert n > 50


def test_sim_audio_file_becomes_the_simulated_cameras_sound(tmp_path):
    from appliance.config import KitConfig
    from appliance.daemon.hardware import make_camera

    wav = tmp_path / "les.wav"
    subprocess.run(["espeak-ng", "-v", "nl", "-w", str(wav), "Wie weet nog wat een noemer is?"], check=True)
    seconds = float(subprocess.run(["soxi", "-D", str(wav)], capture_output=True, text=True, check=True).stdout)
    camera = make_camera(KitConfig(data_dir=tmp_path / "data", simulate=True, width=160, height=96,
                                   realtime=False, sim_audio=str(wav)))
    heard = []
    camera.audio_tap = lambda samples, rate: heard.append(samples.copy())
    camera.start()
    n = 0
    for packet in camera.packets():
        n += packet.kind == "audio"
        if n * 1024 / 48000 > seconds + 0.5:
            break
    camera.stop()
    sound = np.concatenate(heard)[: int(seconds * 48000)]
    assert np.sqrt(np.mean(sound ** 2)) > 0.01  # the spoken file, not silence
    assert not np.allclose(sound[:48000], 0.2 * np.sin(2 * np.pi * 440 * np.arange(48000) / 48000), atol=0.05)
