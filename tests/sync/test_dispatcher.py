"""The NetworkManager dispatcher script: which events start a sync, and how."""

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "firmware-config/NetworkManager/dispatcher.d/90-lessonkit-sync"


@pytest.fixture
def fakes(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "calls"
    for name in ("systemd-run", "kit"):
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> {record}\n')
        tool.chmod(0o755)
    return bin_dir, record


def run(fakes, *args, env=None):
    bin_dir, record = fakes
    full_env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "LESSONKIT_KIT": str(bin_dir / "kit"),
                "LESSONKIT_DATA": "/data", **(env or {})}
    subprocess.run(["/bin/sh", str(SCRIPT), *args], env=full_env, check=True, timeout=10)
    return record.read_text().splitlines() if record.exists() else []


def test_a_wired_link_coming_up_starts_one_sync_as_the_kit_user(fakes):
    calls = run(fakes, "eth0", "up", env={"CONNECTION_ID": "Wired connection 1"})
    assert len(calls) == 1
    assert calls[0].startswith("systemd-run --quiet --no-block --collect --unit=lessonkit-sync-now --uid=lessonkit")
    assert calls[0].endswith("kit sync --once --data /data")


@pytest.mark.parametrize("args, env", [
    (("eth0", "down"), {}),
    (("eth0", "pre-up"), {}),
    (("wlan0", "up"), {"CONNECTION_ID": "lessonkit-hotspot"}),
    (("lo", "up"), {}),
])
def test_other_events_and_the_hotspot_start_nothing(fakes, args, env):
    assert run(fakes, *args, env=env) == []


def test_without_systemd_it_detaches_and_drops_privileges(fakes, tmp_path):
    bin_dir, record = fakes
    (bin_dir / "systemd-run").unlink()
    only = tmp_path / "only"
    only.mkdir()
    for tool in ("setsid", "runuser"):
        os.symlink(subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True, text=True).stdout.strip(),
                   only / tool)
    env = {"PATH": f"{bin_dir}:{only}", "LESSONKIT_USER": "root"}
    subprocess.run(["/bin/sh", str(SCRIPT), "eth0", "up"], env={**env, "LESSONKIT_KIT": str(bin_dir / "kit"),
                                                                 "LESSONKIT_DATA": "/data"}, check=True, timeout=10)
    for _ in range(50):
        if record.exists():
            break
        import time
        time.sleep(0.1)
    assert record.read_text().splitlines() == ["kit sync --once --data /data"]
