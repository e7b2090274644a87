"""Power cut during first boot: kill it (SIGKILL, no clean-up) after every durable step.

For each step N: a fresh card, first boot killed right after step N, then
booted again without interruption. The result must always be one complete,
consistent kit; before the commit step a rerun starts afresh, after it the
identity committed before the cut is the one that survives.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from appliance.provisioning.firstboot import Layout, provision

from .test_firstboot import check_consistent
from .test_provisioning_file import GOOD


def run_firstboot(root: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kit", "firstboot", "--root", str(root), "--no-grow"],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=120,
    )


def test_kill_after_every_step(tmp_path: Path, kit_root: Path):
    (kit_root / "boot/firmware/lessonkit.toml").write_text(GOOD)
    pristine = tmp_path / "pristine"
    shutil.copytree(kit_root, pristine)

    trace = tmp_path / "trace"
    assert run_firstboot(kit_root, LESSONKIT_FIRSTBOOT_TRACE=str(trace)).returncode == 0
    steps = trace.read_text().splitlines()
    assert "commit" in steps and steps[-1] == "done"
    commit_at = steps.index("commit") + 1

    for n in range(1, len(steps) + 1):
        card = tmp_path / f"card-{n}"
        shutil.copytree(pristine, card)
        cut = run_firstboot(card, LESSONKIT_FIRSTBOOT_KILL_AFTER=str(n))
        assert cut.returncode == -signal.SIGKILL, (n, steps[n - 1], cut.stderr)
        ident = card / "var/lib/lessonkit/identity"
        assert not (card / "var/lib/lessonkit/provisioned").exists() or n == len(steps)
        if n < commit_at:
            assert not ident.exists(), f"identity visible before commit (step {steps[n - 1]})"
        else:
            committed = json.loads((ident / "hotspot.json").read_text())
        # The next boot, in this process (faster than another interpreter).
        provision(Layout.for_root(card), grow=False)
        state = check_consistent(card)
        if n >= commit_at:
            assert state["passphrase"] == committed["passphrase"], f"identity changed after commit (step {steps[n - 1]})"
        shutil.rmtree(card)


def test_kill_twice_in_a_row(tmp_path: Path, kit_root: Path):
    """Power flickers: cut during generation, then again during install, then a clean boot."""
    assert run_firstboot(kit_root, LESSONKIT_FIRSTBOOT_KILL_AFTER="3").returncode == -signal.SIGKILL
    assert (kit_root / "var/lib/lessonkit/identity.staging").exists()
    assert run_firstboot(kit_root, LESSONKIT_FIRSTBOOT_KILL_AFTER="16").returncode == -signal.SIGKILL
    assert run_firstboot(kit_root).returncode == 0
    check_consistent(kit_root)
