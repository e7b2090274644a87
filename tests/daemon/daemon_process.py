"""Running `kit run --simulate` as a real subprocess in the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from appliance.daemon.control import call
from appliance.errors import KitError

KIT = [sys.executable, "-m", "kit"]

SMALL_KIT_TOML = """\
width = 160
height = 96
fps = 15
segment_seconds = 1.0
stop_hold_s = 0.6
shutdown_hold_s = 1.2
min_minutes_left = 0.0
reserve_bytes = 0
"""


def write_kit_toml(data_dir: Path, text: str = SMALL_KIT_TOML) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "kit.toml").write_text(text)


def kit(*args: str, env: dict | None = None, check: bool = False,
        timeout: float = 60) -> subprocess.CompletedProcess:
    result = subprocess.run([*KIT, *args], capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(f"kit {' '.join(args)} failed: {result.stderr}")
    return result


class Daemon:
    def __init__(self, data_dir: Path, *extra: str, env: dict | None = None) -> None:
        self.data_dir = data_dir
        self.log = open(data_dir.parent / f"kit-run-{time.monotonic_ns()}.log", "w+")
        self.proc = subprocess.Popen(
            [*KIT, "run", "--simulate", "--no-review", "--data", str(data_dir), *extra],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )

    def wait_ready(self, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"kit run exited early:\n{self.output()}")
            try:
                return call(self.data_dir, "status", timeout=5)
            except KitError:
                time.sleep(0.05)
        raise AssertionError(f"kit run did not come up:\n{self.output()}")

    def call(self, cmd: str, **args):
        return call(self.data_dir, cmd, **args)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def terminate(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGUSR1)  # stack dump into the log
            time.sleep(1)
            raise AssertionError(f"kit run did not stop on SIGTERM:\n{self.output()}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        self.log.close()
