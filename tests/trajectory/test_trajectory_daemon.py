"""`kit run --simulate` as a real process: with a trajectory past its intake,
the teacher only presses the (simulated) button; the recording is encrypted
to her and her coach and the trajectory moves to "baseline recorded"."""

from __future__ import annotations

import time

from appliance.catalogue import Catalogue
from kit.cli.main import main
from appliance.identities import create_person
from appliance.trajectory import Trajectories
from tests.daemon.daemon_process import Daemon, write_kit_toml
from trajectory_kit import PASSPHRASES, WORK_FACTOR


def test_button_press_records_the_next_step(tmp_path, capsys):
    data = tmp_path / "data"
    write_kit_toml(data)
    catalogue = Catalogue(data / "catalogue.db")
    people = {n: create_person(data, catalogue, n, r, PASSPHRASES[n], work_factor=WORK_FACTOR)
              for n, r in (("Anna", "teacher"), ("Bram", "coach"))}
    assert main(["trajectory", "new", "--teacher", "Anna", "--coach", "Bram", "--data", str(data)]) == 0
    tid = capsys.readouterr().out.split()[0]
    assert main(["trajectory", "intake", tid, "--data", str(data)]) == 0
    # Anna confirms coach Bram with her own key, and Bram accepts (what the review app asks of them).
    for name in PASSPHRASES:
        (tmp_path / f"{name}.pw").write_text(PASSPHRASES[name] + "\n")
    assert main(["assign", "--teacher", "Anna", "--coach", "Bram", "--data", str(data),
                 "--confirm-passphrase-file", str(tmp_path / "Anna.pw"),
                 "--coach-passphrase-file", str(tmp_path / "Bram.pw")]) == 0

    daemon = Daemon(data)
    try:
        status = daemon.wait_ready()
        assert (status["state"], status["teacher"], status["coach"]) == ("idle", "Anna", "Bram")
        assert daemon.call("button", seconds=0.1)["state"] == "recording"
        time.sleep(1.5)
        assert daemon.call("button", seconds=0.9)["state"] == "idle"
        store = Trajectories(catalogue, data)
        deadline = time.monotonic() + 60
        while store.require(tid)["state"] != "baseline_recorded" and time.monotonic() < deadline:
            time.sleep(0.5)  # the kit's housekeeping pass moves the step
        assert store.require(tid)["state"] == "baseline_recorded", daemon.output()
        (rec,) = store.recordings(tid)
        recording = catalogue.get_recording(rec["recording_id"])
        assert rec["step"] == 0 and recording["state"] == "complete" and recording["segments"] >= 1
        assert sorted(recording["recipients"]) == sorted(p["recipient"] for p in people.values())
    finally:
        assert daemon.terminate() == 0
        catalogue.close()
