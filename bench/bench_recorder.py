"""The kit as a teacher meets it: button to first sealed segment, and memory.

Runs a real ``kit run --simulate`` (720p30 simulated camera, 2 s segments,
review app included when it starts) as a subprocess and presses its button
over the control socket.

* Latency from the press to the first ``seg-000001.m4s.age`` on disk. The
  reference is the segment duration: no recorder can seal a 2 s segment
  before 2 s of picture exist, so ``latency / segment duration`` shows
  what the kit adds on top.
* Peak resident memory (RSS, the process and its children) while
  recording, against the RSS of a bare Python interpreter measured in the
  same run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from appliance import age
from appliance.catalogue import Catalogue
from appliance.consent import Consents, consent_key, public_key_hex
from appliance.daemon.control import call
from appliance.errors import KitError

TARGET_LATENCY_S = 3.0
TARGET_RSS_MIB = 150
SEGMENT_S = 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_tree(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _bare_interpreter_rss() -> int:
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; sys.stdout.write('x\\n'); "
                              "sys.stdout.flush(); time.sleep(5)"], stdout=subprocess.PIPE)
    child.stdout.readline()
    try:
        return psutil.Process(child.pid).memory_info().rss
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


_CAMERA_ONLY = """
import sys, time
from appliance.camera import SimulatedCamera
cam = SimulatedCamera(1280, 720, fps=30, realtime=True, keyframe_seconds=2.0)
print("imported", flush=True)
sys.stdin.readline()
cam.start()
end = time.monotonic() + {seconds}
for packet in cam.packets():
    if time.monotonic() > end:
        break
cam.stop()
"""


def _camera_working_set(seconds: float) -> int:
    """How much RSS the simulated camera (PyAV's software x264) adds once it runs.

    Measured in a process of its own: RSS after the imports, then the peak
    while encoding. On a Pi the encoder is the GPU's, so this is memory the
    kit there does not spend.
    """
    child = subprocess.Popen([sys.executable, "-c", _CAMERA_ONLY.format(seconds=seconds)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    child.stdout.readline()
    ps = psutil.Process(child.pid)
    before = ps.memory_info().rss
    child.stdin.write("go\n")
    child.stdin.flush()
    peak = before
    while child.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.1)
    child.wait()
    child.stdin.close()
    child.stdout.close()
    return peak - before


def _wait_ready(data: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("kit run exited during start-up")
        try:
            call(data, "status", timeout=5)
            return
        except KitError:
            time.sleep(0.05)
    raise RuntimeError("kit run did not come up")


def run(quick: bool) -> str:
    presses = 2 if quick else 5
    record_s = 6.0 if quick else 20.0
    with tempfile.TemporaryDirectory(prefix="bench-recorder-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        (data / "kit.toml").write_text(f"segment_seconds = {SEGMENT_S}\nwidth = 1280\nheight = 720\n" + os.environ.get("BENCH_KIT_TOML", ""))
        catalogue = Catalogue(data / "catalogue.db")
        rows, keys = [], []
        for name, role in (("Bench Teacher", "teacher"), ("Bench Coach", "coach")):
            identity = age.generate_identity()
            keys.append(identity)
            rows.append(catalogue.add_person(name, role, str(identity.recipient),
                                             signing_key=public_key_hex(consent_key(identity))))
        catalogue.assign("Bench Teacher", "Bench Coach")
        Consents(catalogue).confirm_pair(rows[0]["id"], rows[1]["id"], *keys)
        catalogue.close()

        log = open(Path(tmp) / "kit.log", "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "kit", "run", "--simulate", "--data", str(data),
             "--port", str(_free_port()), "--http-port", str(_free_port())],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "KIT_LOG_LEVEL": "WARNING"},
        )
        try:
            _wait_ready(data, proc)
            ps = psutil.Process(proc.pid)
            idle_rss = _rss_tree(ps)
            latencies = []
            to_recording: list[float] = []
            peak = 0
            for i in range(presses):
                pressed = time.monotonic()
                status = call(data, "button", seconds=0.05)
                # The answer comes once the press acted: camera running, red LED on.
                if status["state"] == "recording":
                    to_recording.append(time.monotonic() - pressed)
                first = data / "recordings" / status["recording_id"] / "seg-000001.m4s.age"
                while not first.exists():
                    time.sleep(0.005)
                latencies.append(time.monotonic() - pressed)
                # Record on (the longest take last) while sampling memory.
                until = time.monotonic() + (record_s if i == presses - 1 else 1.0)
                while time.monotonic() < until:
                    peak = max(peak, _rss_tree(ps))
                    time.sleep(0.1)
                call(data, "stop")
            bare = _bare_interpreter_rss()
            log.flush()
            review = "off (did not start)" if "Review page unavailable" in (
                Path(tmp) / "kit.log").read_text() else "on"
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()

    encoder = _camera_working_set(min(record_s, 12.0))
    own = peak - encoder
    mib = 1024 * 1024
    latencies.sort()
    median = latencies[len(latencies) // 2]
    worst = latencies[-1]
    return "\n".join([
        "## Recorder: button to first sealed segment, memory of `kit run`",
        "",
        f"`kit run --simulate` (720p30 simulated camera, {SEGMENT_S:g} s segments, review app {review}),"
        f" {presses} button presses over the control socket, {record_s:g} s recorded in the last.",
        "",
        "| measure | value | reference | ratio | target |",
        "|---|---|---|---|---|",
        f"| press → first sealed segment (median) | {median:.2f} s | segment duration {SEGMENT_S:g} s"
        f" | {median / SEGMENT_S:.2f}× | ≤ {TARGET_LATENCY_S:g} s: "
        f"{'met' if median <= TARGET_LATENCY_S else 'NOT met'} |",
        f"| press → first sealed segment (worst) | {worst:.2f} s | segment duration {SEGMENT_S:g} s"
        f" | {worst / SEGMENT_S:.2f}× | ≤ {TARGET_LATENCY_S:g} s: "
        f"{'met' if worst <= TARGET_LATENCY_S else 'NOT met'} |",
        f"| press → recording (red LED on), median | {sorted(to_recording)[len(to_recording) // 2]:.2f} s"
        f" | target 1 s | {sorted(to_recording)[len(to_recording) // 2] / 1.0:.2f}× | ≤ 1 s: "
        f"{'met' if sorted(to_recording)[len(to_recording) // 2] <= 1.0 else 'NOT met'} |",
        f"| peak RSS while recording, all of it | {peak / mib:.0f} MiB | bare Python {bare / mib:.0f} MiB"
        f" | {peak / bare:.1f}× | < {TARGET_RSS_MIB} MiB: "
        f"{'met' if peak / mib < TARGET_RSS_MIB else 'NOT met'} (includes the software encoder) |",
        f"| peak RSS while recording, without the simulated encoder | {own / mib:.0f} MiB"
        f" | simulated encoder's own {encoder / mib:.0f} MiB | {own / bare:.1f}× bare Python"
        f" | < {TARGET_RSS_MIB} MiB: {'met' if own / mib < TARGET_RSS_MIB else 'NOT met'} |",
        f"| RSS idle (before the first press) | {idle_rss / mib:.0f} MiB | bare Python {bare / mib:.0f} MiB"
        f" | {idle_rss / bare:.1f}× | |",
        "",
        "The latency includes starting the camera and encoder, muxing, encrypting and",
        "the fsync + rename of the first segment; the segment duration is the floor.",
        "The first RSS row counts the simulated camera's x264 encoder (software, 720p30),",
        "which a Pi replaces with its hardware encoder; the second subtracts the memory",
        "that encoder adds once running (measured in a process of its own in the same run).",
    ])
