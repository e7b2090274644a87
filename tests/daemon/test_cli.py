"""The `kit` commands as a user runs them: one-line errors, the daemon over its socket."""

from __future__ import annotations

import socket
import stat
import time

import pytest

from appliance import age
from appliance.catalogue import Catalogue

from .daemon_process import Daemon, kit, write_kit_toml
from .helpers import add_people, confirm_pair, decrypt_recording, probe


def one_line_error(result, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kit: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_people_add_wraps_the_key_and_warns_about_the_passphrase(tmp_path):
    data = tmp_path / "data"
    secret = tmp_path / "pass.txt"
    secret.write_text("correct horse battery\n")
    result = kit("people", "add", "Anna de Vries", "--role", "teacher",
                 "--passphrase-file", str(secret), "--data", str(data), check=True)
    recipient = next(w for w in result.stdout.split() if w.startswith("age1"))
    assert "lost, the footage is lost" in result.stdout
    catalogue = Catalogue(data / "catalogue.db")
    person = catalogue.find_person("anna de vries")
    catalogue.close()
    assert person["recipient"] == recipient and person["role"] == "teacher"

    key_file = data / "identities" / f"{person['id']}.age"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    wrapped = key_file.read_bytes()
    assert wrapped.startswith(b"age-encryption.org/v1\n-> scrypt ")  # what `age -p` writes
    assert b"AGE-SECRET-KEY" not in wrapped
    identity = age.unwrap_identity(wrapped, "correct horse battery")
    assert str(identity.recipient) == recipient
    with pytest.raises(age.IncorrectPassphrase):
        age.unwrap_identity(wrapped, "wrong horse battery")
    assert list((data / "identities").iterdir()) == [key_file]  # no stray plaintext copy

    listing = kit("people", "list", "--data", str(data), check=True).stdout
    assert "Anna de Vries" in listing and recipient in listing

    # Mistakes: one line, nothing created.
    one_line_error(kit("people", "add", "anna DE vries", "--role", "coach",
                       "--passphrase-file", str(secret), "--data", str(data)), "already exists")
    short = tmp_path / "short.txt"
    short.write_text("abc\n")
    one_line_error(kit("people", "add", "Bram", "--role", "coach", "--passphrase-file",
                       str(short), "--data", str(data)), "too short")
    one_line_error(kit("people", "add", "Bram", "--role", "coach", "--passphrase-file",
                       str(tmp_path / "missing.txt"), "--data", str(data)), "passphrase file")
    assert len(list((data / "identities").iterdir())) == 1


def test_assign_errors_name_the_problem(tmp_path):
    data = tmp_path / "data"
    catalogue = Catalogue(data / "catalogue.db")
    add_people(catalogue, tmp_path, assign=False)
    catalogue.close()
    one_line_error(kit("assign", "--teacher", "Nobody", "--coach", "Bram", "--data", str(data)),
                   "unknown person", "Nobody")
    one_line_error(kit("assign", "--teacher", "Bram", "--coach", "Anna", "--data", str(data)),
                   "not a teacher")
    one_line_error(kit("assign", "--teacher", "Anna", "--data", str(data)), "both")
    result = kit("assign", "--teacher", "anna", "--coach", "BRAM", "--data", str(data), check=True)
    assert "teacher: Anna" in result.stdout and "coach: Bram" in result.stdout


def test_commands_without_a_running_kit_say_so(tmp_path):
    for args in (["record", "status"], ["record", "start"], ["button", "press"]):
        one_line_error(kit(*args, "--data", str(tmp_path)), "not running", "kit run")


@pytest.mark.slow
def test_daemon_round_trip_over_the_control_socket(tmp_path):
    data = tmp_path / "data"
    write_kit_toml(data)
    catalogue = Catalogue(data / "catalogue.db")
    keys = add_people(catalogue, tmp_path, assign=False)
    catalogue.close()

    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_path = tmp_path / "notify.sock"
    notify.bind(str(notify_path))
    notify.settimeout(30)
    daemon = Daemon(data, env={"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "300000"})
    try:
        status = daemon.wait_ready()
        assert (status["state"], status["reason"]) == ("cannot_record", "no_assignment")
        messages = set()
        while not {"READY=1", "WATCHDOG=1"} <= messages:
            messages.add(notify.recv(256).decode())

        one_line_error(kit("record", "start", "--data", str(data)), "no teacher and coach")
        one_line_error(kit("record", "stop", "--data", str(data)), "not recording")
        assigned = kit("assign", "--teacher", "Anna", "--coach", "Bram", "--data", str(data), check=True)
        assert "cannot record yet: Anna has not confirmed coach Bram" in assigned.stdout
        assert (daemon.call("status")["reason"]) == "no_consent"  # the daemon sees the new assignment ...
        catalogue = Catalogue(data / "catalogue.db")
        confirm_pair(catalogue, keys)
        catalogue.close()
        assert daemon.call("status")["state"] == "idle"  # ... and the pair once both confirmed

        pressed = kit("button", "press", "--data", str(data), check=True)
        assert "recording r-" in pressed.stdout
        recording_id = daemon.call("status")["recording_id"]
        time.sleep(2.5)  # let a few one-second segments be sealed
        assert "bookmark at" in kit("record", "bookmark", "--data", str(data), check=True).stdout
        one_line_error(kit("record", "start", "--data", str(data)), "already recording")
        held = kit("button", "hold", "1", "--data", str(data), check=True)
        assert "idle" in held.stdout

        # Trusted time arrives (as the browser or sync hands it over).
        assert "corrected" in daemon.call("trust_time", epoch=1_800_000_000.0, source="test")
        assert daemon.call("status")["clock_trusted"] is True

        # A second `kit run` on the same data refuses instead of fighting over the camera.
        second = kit("run", "--simulate", "--no-review", "--data", str(data))
        one_line_error(second, "already running")

        assert daemon.terminate() == 0
        assert not (data / "run" / "kit.sock").exists()
        catalogue = Catalogue(data / "catalogue.db")
        row = catalogue.get_recording(recording_id)
        assert row["state"] == "complete" and row["segments"] >= 2
        assert row["clock_trusted"] == 1
        assert len(catalogue.list_bookmarks(recording_id)) == 1
        catalogue.close()
        mp4 = decrypt_recording(data / "recordings" / recording_id, keys["teacher"])
        assert {s["codec_type"] for s in probe(mp4)["streams"]} == {"video", "audio"}
    finally:
        daemon.close()
        notify.close()


@pytest.mark.slow
def test_demo_and_button_shutdown_in_simulation(tmp_path):
    data = tmp_path / "data"
    write_kit_toml(data)
    daemon = Daemon(data, "--demo")
    try:
        status = daemon.wait_ready()
        assert status["state"] == "idle" and status["teacher"] == "Anna Demo"
        kit("button", "hold", "1.5", "--data", str(data), check=True)
        assert daemon.proc.wait(30) == 0
        output = daemon.output()
        assert "anna-demo-passphrase" in output and "kit button press" in output
        assert "not powering off" in output
    finally:
        daemon.close()


def test_an_unusable_data_directory_is_one_line(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    one_line_error(kit("people", "list", "--data", str(not_a_dir / "d")), "Not a directory")
    one_line_error(kit("run", "--simulate", "--no-review", "--data", str(not_a_dir / "d")),
                   "cannot start")


@pytest.mark.slow
def test_kit_run_simulate_camera_360_records_a_360_degree_lesson(tmp_path):
    """`kit run --simulate --camera 360`: the virtual classroom, 2:1, marked as 360° in the file and the catalogue."""
    data = tmp_path / "data"
    write_kit_toml(data, "fps = 15\nsegment_seconds = 1.0\nwidth = 320\nheight = 160\n"
                         "min_minutes_left = 0.0\nreserve_bytes = 0\n")
    catalogue = Catalogue(data / "catalogue.db")
    keys = add_people(catalogue, tmp_path)
    catalogue.close()
    daemon = Daemon(data, "--camera", "360")
    try:
        daemon.wait_ready()
        kit("record", "start", "--data", str(data), check=True)
        recording_id = daemon.call("status")["recording_id"]
        time.sleep(2.5)
        kit("record", "stop", "--data", str(data), check=True)
    finally:
        daemon.close()
    catalogue = Catalogue(data / "catalogue.db")
    assert catalogue.get_recording(recording_id)["projection"] == "equirectangular"
    catalogue.close()
    mp4 = decrypt_recording(data / "recordings" / recording_id, keys["teacher"])
    video = next(s for s in probe(mp4)["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (320, 160)
    assert [d["projection"] for d in video.get("side_data_list", []) if d.get("side_data_type") == "Spherical Mapping"] \
        == ["equirectangular"]


def test_a_camera_kit_toml_does_not_know_is_one_line_naming_the_choices(tmp_path):
    data = tmp_path / "data"
    write_kit_toml(data, 'camera = "gopro"\n')
    one_line_error(kit("run", "--simulate", "--no-review", "--data", str(data)),
                   "camera = 'gopro'", "picamera, uvc, theta")
    one_line_error(kit("run", "--camera", "360", "--no-review", "--data", str(tmp_path / "d2")), "needs --simulate")
