"""A hostile hotspot: ``kit run --simulate`` recording while phones flood POST /unlock.

The kit is the real process (``python -m kit run --simulate``: 1280x720
simulated camera, the HTTPS listener with its six threads, people wrapped
with scrypt work factor 18 as on a Pi, 256 MiB per unwrap). While it records,
twelve "phones" send wrong passphrases for the teacher over HTTPS, each
switching to a new loopback address (a new device to the kit) whenever it is
told to wait, and two more send cookieless page requests. Measured:

- the peak RSS of the kit process (``VmHWM``), against the same process after
  one unlock on a quiet kit (one unwrap, the least an unlock costs) and
  against its idle recording;
- whether the recording kept sealing segments (catalogue indices and start
  times, and the wall-clock time between seals as the bench saw them appear);
- how long the teacher waits to unlock afterwards from a device the kit has
  never seen, and during the flood from one she unlocked on before, against
  an unlock on the quiet kit;
- for scale, what six unwraps at once (one per server thread, what the gate
  prevents) cost in a separate process, only where the machine has the memory.

The client does not check the kit's certificate: this measures load, and
trust is tested in ``tests/ui/test_https.py``.
"""

from __future__ import annotations

import http.client
import itertools
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
MiB = 1 << 20
TARGET_MIB = 600
TEACHER, COACH = ("Anna Bench", "anna-bench-passphrase"), ("Bram Bench", "bram-bench-passphrase")


class _Phone:
    """A device on the hotspot: its own address and cookies, one kept-alive HTTPS connection."""

    _context = ssl._create_unverified_context()  # load, not trust: see the module docstring

    def __init__(self, port: int, address: str) -> None:
        self.port, self.address = port, address
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPSConnection | None = None

    def _connect(self) -> http.client.HTTPSConnection:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self._context, timeout=120,
                                           source_address=(self.address, 0))
        return conn

    def request(self, method: str, path: str, body: str | None = None, cookies: bool = True) -> tuple[int, dict, str]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
        if cookies and self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            self.conn = self.conn or self._connect()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
        if cookies:
            for value in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, dict(response.headers), data

    def token(self) -> str:
        _status, _headers, page = self.request("GET", "/unlock")
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def unlock(self, person_id: str, passphrase: str, token: str) -> tuple[int, dict]:
        status, headers, _ = self.request("POST", "/unlock", urlencode(
            {"csrf_token": token, "person": person_id, "passphrase": passphrase}))
        return status, headers

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _unlock_patiently(phone: _Phone, person_id: str, passphrase: str) -> tuple[float, int]:
    started, refusals = time.monotonic(), 0
    token = phone.token()
    while True:
        status, headers = phone.unlock(person_id, passphrase, token)
        if status == 302:
            return time.monotonic() - started, refusals
        if status != 429 or time.monotonic() - started > 300:
            raise RuntimeError(f"the teacher could not unlock: {status} after {refusals} refusals")
        refusals += 1
        time.sleep(min(5.0, float(headers.get("Retry-After", "1"))))


def _vm(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for process {pid}")


class _RssSampler:
    """The kit's resident memory, 20 times a second."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.samples.append((time.monotonic(), _vm(self.pid, "VmRSS")))
            except (OSError, RuntimeError):
                return

    def peak(self, since: float, until: float) -> int:
        return max((rss for t, rss in self.samples if since <= t <= until), default=0)

    def mean(self, since: float, until: float) -> float:
        values = [rss for t, rss in self.samples if since <= t <= until]
        return sum(values) / max(1, len(values))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def _segments(db: Path, recording_id: str) -> list[tuple[int, float, float]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute("SELECT idx, start_s, duration_s FROM segments WHERE recording_id = ? AND idx >= 1 "
                            "ORDER BY idx", (recording_id,)).fetchall()


def _six_unwraps_at_once() -> str:
    """Peak RSS of a fresh process unwrapping six work-factor-18 identities at once, or why not measured."""
    available = next((int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemAvailable:")), 0)
    if available < 4 << 30:
        return "not measured (less than 4 GiB available)"
    code = (
        "import threading, resource\n"
        "from appliance import age\n"
        "w = age.wrap_identity(age.generate_identity(), 'p')\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "ts = [threading.Thread(target=age.unwrap_identity, args=(w, 'p')) for _ in range(6)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    if done.returncode != 0:
        return f"not measured ({done.stderr.strip().splitlines()[-1:]})"
    return f"{int(done.stdout.split()[-1]) / MiB:.0f} MiB"


def _prepare(data: Path) -> tuple[str, str]:
    from appliance.catalogue import Catalogue
    from appliance.identities import create_person

    catalogue = Catalogue(data / "catalogue.db")
    teacher = create_person(data, catalogue, TEACHER[0], "teacher", TEACHER[1])  # work factor 18, as on a Pi
    create_person(data, catalogue, COACH[0], "coach", COACH[1])
    catalogue.assign(TEACHER[0], COACH[0])
    catalogue.close()
    return teacher["id"], TEACHER[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout_s} s")
        time.sleep(0.1)


def run(quick: bool) -> str:
    from appliance.daemon import control

    flood_s = 10.0 if quick else 30.0
    root = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    data = root / "data"
    data.mkdir()
    person_id, passphrase = _prepare(data)
    port, http_port = _free_port(), _free_port()
    log = (root / "kit.log").open("w")
    kit = subprocess.Popen([sys.executable, "-m", "kit", "run", "--simulate", "--data", str(data),
                            "--port", str(port), "--http-port", str(http_port)],
                           cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "KIT_LOG_LEVEL": "WARNING"},
                           stdout=log, stderr=subprocess.STDOUT)
    sampler = None
    try:
        _wait_for(lambda: (data / "run" / "kit.sock").exists() and _answers(port), 120, "kit run start-up")
        sampler = _RssSampler(kit.pid)
        recording = control.call(data, "start")["recording_id"]
        db = data / "catalogue.db"
        _wait_for(lambda: len(_segments(db, recording)) >= 2, 60, "two sealed segments")

        idle_from = time.monotonic()
        time.sleep(5.0)
        idle_rss = sampler.mean(idle_from, time.monotonic())
        hwm_idle = _vm(kit.pid, "VmHWM")

        quiet_phone = _Phone(port, "127.0.0.2")
        quiet_s, _ = _unlock_patiently(quiet_phone, person_id, passphrase)  # also makes it a known device
        quiet_phone.request("POST", "/lock", urlencode({"csrf_token": _csrf(quiet_phone)}))
        time.sleep(1.0)
        hwm_one = _vm(kit.pid, "VmHWM")

        seals: dict[int, float] = {}
        stop = threading.Event()
        statuses: Counter = Counter()
        lock = threading.Lock()
        fresh = (f"127.10.{x}.{y}" for x, y in itertools.product(range(256), range(1, 255)))

        def watch() -> None:
            while not stop.wait(0.1):
                for idx, _start, _dur in _segments(db, recording):
                    seals.setdefault(idx, time.monotonic())

        def guesser(n: int) -> None:
            while not stop.is_set():
                with lock:
                    phone = _Phone(port, next(fresh))
                token = phone.token()
                while not stop.is_set():
                    status, _ = phone.unlock(person_id, f"guess-{n}-{time.monotonic()}", token)
                    with lock:
                        statuses[status] += 1
                    if status == 429:
                        break
                phone.close()

        def stranger(n: int) -> None:
            phone = _Phone(port, f"127.0.5.{n + 1}")
            for i in itertools.count():
                if stop.is_set():
                    return
                status, _, _ = phone.request("GET", ("/unlock", "/api/session", "/library")[i % 3], cookies=False)
                with lock:
                    statuses[f"GET {status}"] += 1

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        threads = [threading.Thread(target=guesser, args=(n,)) for n in range(12)]
        threads += [threading.Thread(target=stranger, args=(n,)) for n in range(2)]
        flood_from = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(flood_s / 2)
        known_s, known_refusals = _unlock_patiently(quiet_phone, person_id, passphrase)
        time.sleep(max(0.0, flood_from + flood_s - time.monotonic()))
        stop.set()
        for t in threads:
            t.join(120)
        flood_until = time.monotonic()

        new_device_s, new_refusals = _unlock_patiently(_Phone(port, "127.0.0.3"), person_id, passphrase)
        hwm_flood = _vm(kit.pid, "VmHWM")
        peak_sampled = sampler.peak(flood_from, time.monotonic())
        last = max(seals) if seals else 0
        _wait_for(lambda: len(_segments(db, recording)) > last, 30, "a segment after the flood")
        watcher.join(5)
        control.call(data, "stop")
        segments = _segments(db, recording)
    finally:
        if sampler is not None:
            sampler.stop()
        kit.terminate()
        try:
            kit.wait(60)
        except subprocess.TimeoutExpired:
            kit.kill()
            kit.wait(10)
        log.close()
    six = _six_unwraps_at_once()
    shutil.rmtree(root, ignore_errors=True)

    during = [(idx, t) for idx, t in sorted(seals.items()) if flood_from <= t <= flood_until + 5]
    wall_gaps = [b - a for (_, a), (_, b) in zip(during, during[1:])]
    contiguous = [s[0] for s in segments] == list(range(1, len(segments) + 1)) and all(
        abs(a[1] + a[2] - b[1]) < 0.05 for a, b in zip(segments, segments[1:]))
    start_gap = max((b[1] - a[1] for a, b in zip(segments, segments[1:])), default=0.0)
    refused = statuses[429]
    guesses = statuses[401]
    lines = [
        "## Hostile hotspot: an unlock flood while recording",
        "",
        f"`kit run --simulate` (1280x720 simulated camera, scrypt work factor 18) records while 12 phones send "
        f"wrong passphrases for the teacher over HTTPS for {flood_s:.0f} s, each taking a new address whenever "
        "it is told to wait, and 2 more send cookieless page requests. References are measured in the same "
        "run, on the same process.",
        "",
        "| measure | under the flood | reference | ratio |",
        "|---|---|---|---|",
        f"| peak RSS of `kit run` (VmHWM) | {hwm_flood / MiB:.0f} MiB | after one quiet unlock: "
        f"{hwm_one / MiB:.0f} MiB | {hwm_flood / hwm_one:.2f} |",
        f"| peak RSS vs idle recording | {hwm_flood / MiB:.0f} MiB | idle recording: {idle_rss / MiB:.0f} MiB "
        f"(VmHWM {hwm_idle / MiB:.0f} MiB) | {hwm_flood / idle_rss:.2f} |",
        f"| teacher unlocks from a new device, after the flood | {new_device_s:.2f} s ({new_refusals} refusals, "
        f"each with its wait) | unlock on the quiet kit: {quiet_s:.2f} s | {new_device_s / quiet_s:.1f} |",
        f"| teacher unlocks from her known device, during the flood | {known_s:.2f} s ({known_refusals} "
        f"refusals) | unlock on the quiet kit: {quiet_s:.2f} s | {known_s / quiet_s:.1f} |",
        "",
        f"- Peak RSS target under {TARGET_MIB} MiB: **{'met' if hwm_flood < TARGET_MIB * MiB else 'NOT met'}** "
        f"({hwm_flood / MiB:.0f} MiB; highest 20 Hz sample during the flood {peak_sampled / MiB:.0f} MiB). "
        f"Six unwraps at once, as the server's six threads ran them before the gate, in a fresh process: {six}.",
        f"- Requests: {guesses} wrong passphrases tried (scrypt ran), {refused} refused before scrypt with a "
        f"wait (429), cookieless pages {sum(v for k, v in statuses.items() if isinstance(k, str))} "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(statuses.items(), key=str))}).",
        f"- Recording: {len(segments)} segments, indices and start times "
        f"{'contiguous' if contiguous else 'NOT contiguous'}, largest start gap {start_gap:.2f} s "
        f"(segment length 2 s; 1.5x = 3 s); largest wall-clock gap between seals during the flood "
        f"{max(wall_gaps, default=0.0):.2f} s.",
        f"- Machine: {os.cpu_count()} cores shared by the kit, the flooding clients and whatever else runs.",
    ]
    return "\n".join(lines) + "\n"


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _csrf(phone: _Phone) -> str:
    import json

    return json.loads(phone.request("GET", "/api/session")[2])["csrf_token"]
