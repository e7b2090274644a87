"""Power cuts: SIGKILL the recorder at random moments, then recover as `kit run` does.

After every cut the recording is ``interrupted``, every sealed segment
decrypts with the real age CLI and plays, at most about the last
two seconds are lost, and SQLite's integrity check passes.
"""

from __future__ import annotations

from appliance.footage.store import list_segments

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.catalogue import Catalogue
from appliance.config import KitConfig
from kit.run import recover_interrupted

from .daemon_process import Daemon, kit, write_kit_toml
from .helpers import add_people, decoded_seconds, decrypt_recording, probe

WORKER = Path(__file__).with_name("power_loss_worker.py")
TRIALS = 20
MAX_LOSS_S = 2.0


def check_recovered(catalogue: Catalogue, config: KitConfig, recording_id: str,
                    key: Path, recorded_s: float | None) -> dict:
    row = catalogue.get_recording(recording_id)
    assert row["state"] == "interrupted"
    assert catalogue.integrity_check() == "ok"
    directory = config.recordings_dir / recording_id
    assert not list(directory.glob("*.partial"))
    files = sorted(directory.glob("seg-*.m4s.age"))
    assert row["segments"] == len(files)
    # The recording's bytes are its footage (init + segments); the thumbnail is beside it.
    assert row["bytes"] == sum(p.stat().st_size for p in list_segments(directory))
    if files:
        mp4 = decrypt_recording(directory, key)   # every sealed file decrypts (age CLI)
        seconds = decoded_seconds(mp4)
        assert {s["codec_type"] for s in probe(mp4)["streams"]} == {"video", "audio"}
        kept = seconds["video"]
    else:
        kept = 0.0
    if recorded_s is not None:
        assert recorded_s - kept <= MAX_LOSS_S, f"lost {recorded_s - kept:.2f} s"
    return {"kept_s": kept, "segments": len(files)}


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_at_most_the_last_seconds(tmp_path):
    data = tmp_path / "data"
    config = KitConfig(data_dir=data, segment_seconds=1.0)
    catalogue = Catalogue(config.catalogue_path)
    keys = add_people(catalogue, tmp_path)
    catalogue.close()
    rng = random.Random(20261122)
    results = []
    for trial in range(TRIALS):
        worker = subprocess.Popen([sys.executable, str(WORKER), str(data)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = worker.stdout.readline()
            started = time.monotonic()
            assert line, f"worker did not start: {worker.stderr.read()}"
            recording_id = json.loads(line)["recording_id"]
            time.sleep(rng.uniform(0.05, 3.5))
            worker.kill()                                   # the power cut
            recorded = time.monotonic() - started
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
            worker.stdout.close()
            worker.stderr.close()

        catalogue = Catalogue(config.catalogue_path)
        assert catalogue.get_recording(recording_id)["state"] == "recording"
        assert recover_interrupted(config, catalogue) == [recording_id]
        results.append(check_recovered(catalogue, config, recording_id,
                                       keys["coach" if trial % 2 else "teacher"], recorded))
        catalogue.close()
    assert len(results) == TRIALS
    assert sum(r["segments"] > 0 for r in results) >= TRIALS // 2  # cuts mid-recording happened


@pytest.mark.slow
def test_kit_run_recovers_after_being_killed(tmp_path):
    data = tmp_path / "data"
    write_kit_toml(data)
    catalogue = Catalogue(data / "catalogue.db")
    keys = add_people(catalogue, tmp_path)
    catalogue.close()
    rng = random.Random(7)
    for _ in range(2):
        daemon = Daemon(data)
        try:
            daemon.wait_ready()
            kit("button", "press", "--data", str(data), check=True)
            recording_id = daemon.call("status")["recording_id"]
            time.sleep(rng.uniform(1.0, 3.0))
            daemon.kill()                                   # SIGKILL
        finally:
            daemon.close()
        assert (data / "run" / "kit.sock").exists()         # left behind, as after a power cut

        restarted = Daemon(data)
        try:
            status = restarted.wait_ready()               # recovers before it answers
            assert status["state"] == "idle"
            assert "Recovered interrupted recording" in restarted.output()
            assert restarted.terminate() == 0
        finally:
            restarted.close()
        catalogue = Catalogue(data / "catalogue.db")
        check_recovered(catalogue, KitConfig(data_dir=data), recording_id, keys["teacher"], None)
        catalogue.close()


@pytest.mark.slow
def test_sigkill_while_the_recording_is_still_starting(tmp_path):
    """Cuts during start-up: the catalogue row may exist before the camera runs."""
    data = tmp_path / "data"
    config = KitConfig(data_dir=data, segment_seconds=1.0)
    catalogue = Catalogue(config.catalogue_path)
    keys = add_people(catalogue, tmp_path)
    catalogue.close()
    rng = random.Random(5)
    for _ in range(4):
        worker = subprocess.Popen([sys.executable, str(WORKER), str(data)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.0))                  # somewhere in imports or start
        worker.kill()
        worker.wait(10)
        catalogue = Catalogue(config.catalogue_path)
        for recording_id in recover_interrupted(config, catalogue):
            check_recovered(catalogue, config, recording_id, keys["teacher"], None)
        assert catalogue.list_recordings(state="recording") == []
        assert catalogue.integrity_check() == "ok"
        catalogue.close()
