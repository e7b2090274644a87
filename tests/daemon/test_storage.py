"""The storage guard on a real, small filesystem (a size-limited tmpfs)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from appliance.camera import SimulatedCamera
from appliance.catalogue import Catalogue
from appliance.controls import Controls, mock_factory
from appliance.daemon import CannotRecord, KitController
from kit.run import recover_interrupted

from .helpers import add_people, decoded_seconds, decrypt_recording, small_config, wait_for

MiB = 1024 * 1024


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs; skipped (with the reason) where mounting is not permitted."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs",
                             str(mountpoint)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {result.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def fill(disk, leave_free: int) -> None:
    """Leave exactly about ``leave_free`` bytes free with a filler file."""
    free = shutil.disk_usage(disk).free
    with open(disk / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave_free))
        f.flush()
        os.fsync(f.fileno())


class SmallDiskKit:
    def __init__(self, disk, tmp_path, **config_changes):
        self.config = small_config(disk / "data", segment_seconds=1.0, **config_changes)
        self.catalogue = Catalogue(self.config.catalogue_path)
        self.keys = add_people(self.catalogue, tmp_path)
        self.camera = SimulatedCamera(160, 96, fps=15, realtime=True, keyframe_seconds=1.0)
        self.controls = Controls(self.config, pin_factory=mock_factory())
        self.controller = KitController(self.config, self.catalogue, self.camera, self.controls)

    def close(self):
        self.controller.close()
        self.controls.close()
        self.catalogue.close()


def test_refuses_to_start_with_less_than_ten_minutes_left(small_disk, tmp_path):
    kit = SmallDiskKit(small_disk, tmp_path, min_minutes_left=10.0, reserve_bytes=1 * MiB)
    try:
        # 16 MiB at the camera's nominal rate is well under ten minutes.
        status = kit.controller.status()
        assert (status["state"], status["reason"]) == ("cannot_record", "disk_low")
        assert status["minutes_left"] < 10
        with pytest.raises(CannotRecord, match="disk low"):
            kit.controller.start_recording(source="button")
        wait_for(lambda: kit.controls.pattern == "disk_low", what="disk-low LED")
        assert kit.controls.red.value == 0
        assert kit.catalogue.list_recordings() == []
        # The estimate is real: ask for less than what fits and it starts.
        kit.controller.storage.min_minutes = status["minutes_left"] / 2
        kit.controller.start_recording()
        kit.controller.stop_recording()
    finally:
        kit.close()


def test_stops_cleanly_before_the_disk_is_full(small_disk, tmp_path):
    kit = SmallDiskKit(small_disk, tmp_path, reserve_bytes=1 * MiB, stop_margin_segments=3)
    try:
        reserve = kit.controller.storage.reserve_bytes + shutil.disk_usage(small_disk).total // 100
        fill(small_disk, reserve + 200_000)     # room for roughly ten seconds of footage
        recording_id = kit.controller.start_recording()
        wait_for(lambda: kit.controller.status()["state"] != "recording", timeout=90,
                 what="the guard to stop the recording")
        status = kit.controller.status()
        assert status["last_stop"] == "stopped: disk full" and status["error"] is None
        row = kit.catalogue.get_recording(recording_id)
        assert row["state"] == "complete" and row["segments"] >= 2
        assert shutil.disk_usage(small_disk).free >= kit.config.reserve_bytes  # never filled
        directory = kit.config.recordings_dir / recording_id
        assert not list(directory.glob("*.partial"))
        mp4 = decrypt_recording(directory, kit.keys["coach"])
        assert decoded_seconds(mp4)["video"] == pytest.approx(row["duration_s"], abs=0.2)
        assert kit.catalogue.integrity_check() == "ok"
    finally:
        kit.close()


def test_a_disk_that_fills_anyway_loses_nothing_already_sealed(small_disk, tmp_path):
    # Guard switched off (no reserve, no margin): the recorder meets ENOSPC itself.
    kit = SmallDiskKit(small_disk, tmp_path, reserve_bytes=0, stop_margin_segments=0)
    kit.controller.storage.usable_bytes = lambda: 10**12
    try:
        fill(small_disk, 150_000)
        recording_id = kit.controller.start_recording()
        wait_for(lambda: kit.controller.status()["state"] != "recording", timeout=90,
                 what="the recorder to hit the full disk")
        assert "disk is full" in (kit.controller.status()["error"] or "")
        assert kit.controls.red.value == 0
        kit.close()
        (small_disk / "filler").unlink()

        # What `kit run` does on its next start.
        catalogue = Catalogue(kit.config.catalogue_path)
        recover_interrupted(kit.config, catalogue)
        row = catalogue.get_recording(recording_id)
        assert row["state"] == "interrupted" and row["segments"] >= 1
        assert catalogue.integrity_check() == "ok"
        directory = kit.config.recordings_dir / recording_id
        assert not list(directory.glob("*.partial"))
        mp4 = decrypt_recording(directory, kit.keys["teacher"])
        assert decoded_seconds(mp4)["video"] >= row["segments"] * 0.9
        catalogue.close()
    finally:
        kit.close()
