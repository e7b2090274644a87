"""Sync: bytes and time for a sync with nothing new, 10,000 events, 20 kits at once.

A real sshd runs in one network namespace and the kits in another, joined by
a veth pair, so the bytes counted on the kit's interface are everything on
the wire (SSH, rsync, TCP/IP headers). Each kit sync is the command the
dispatcher script runs (``python -m sync.agent once``), including Python's
start-up. The reference, measured in the same run over the same link, is a
bare ssh round trip with the kit's key (connect, authenticate, one session,
exit) and the start-up of the agent's Python process alone.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _median_runs(fn, runs: int) -> tuple[float, ...]:
    results = [fn() for _ in range(runs)]
    return tuple(statistics.median(column) for column in zip(*results))


def _inner(done: subprocess.CompletedProcess) -> float:
    """The agent's own account of the sync, without Python's start-up."""
    match = re.search(r"done in ([0-9.]+) s", done.stdout)
    assert match, done.stdout + done.stderr
    return float(match.group(1))


def run(quick: bool) -> str:
    from tests.support import testbed

    why = testbed.can_run()
    if why:
        return f"## Sync\n\nNot measured: {why}.\n"
    from appliance.catalogue import Catalogue
    from sync.agent import config
    from sync.agent.config import SyncPaths
    from sync.agent.transport import ssh_command
    from sync.server import db, ingest

    runs = 3 if quick else 7
    n_events = 2000 if quick else 10_000
    n_kits = 5 if quick else 20
    link = testbed.NetnsLink().create()
    link.plug()
    layout, base = testbed.make_server("lkit-bench-")
    server = testbed.SshServer(base, layout, address=link.SERVER_IP, port=2222, netns=link.server_ns).start()
    work = Path(tempfile.mkdtemp(prefix="lkit-bench-kits-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def wire(cmd: list[str]) -> tuple[float, int, subprocess.CompletedProcess]:
        tx0, rx0 = link.counters()
        t = time.perf_counter()
        done = subprocess.run(link.in_kit(cmd), capture_output=True, text=True, env=env, cwd=ROOT)
        took = time.perf_counter() - t
        tx1, rx1 = link.counters()
        return took, (tx1 - tx0) + (rx1 - rx0), done

    def agent(data: Path) -> list[str]:
        return [sys.executable, "-m", "sync.agent", "once", "--data-dir", str(data)]

    def new_kit(name: str, events: int) -> tuple[Path, Catalogue]:
        data = work / name
        testbed.provision_kit(data, layout, name, server)
        cat = Catalogue(data / "catalogue.db")
        with cat.transaction():
            for i in range(events):
                cat.emit("recording.finished", {"recording_id": f"r-{i:08d}", "teacher_id": "p-anna",
                                                "coach_id": "p-bert", "duration_s": 2700.0 + i, "segments": 1350,
                                                "bytes": 1_500_000_000 + i, "state": "complete",
                                                "started_at": "2026-03-02T08:30:11Z"})
        return data, cat

    try:
        # Reference: a bare ssh round trip with the kit's key (the gate refuses `true`,
        # after the full handshake, authentication and session set-up).
        data, cat = new_kit("kit-noop", 10)
        paths = SyncPaths(data)
        ssh = ssh_command(paths, config.load(paths)) + [link.SERVER_IP, "true"]
        ssh_s, ssh_b = _median_runs(lambda: wire(ssh)[:2], runs)
        py_s, _ = _median_runs(lambda: wire([sys.executable, "-c", "import sync.agent.service, "
                                             "appliance.catalogue"])[:2], runs)

        def timed_sync(data: Path) -> tuple[float, int, float]:
            took, size, done = wire(agent(data))
            assert done.returncode == 0, done.stderr
            return took, size, _inner(done)

        # No-op: everything already synced and acknowledged.
        for _ in range(2):
            assert wire(agent(data))[2].returncode == 0
            ingest.ingest(layout, ["kit-noop"])
        assert wire(agent(data))[2].returncode == 0
        noop_s, noop_b, noop_in = _median_runs(lambda: timed_sync(data), runs)

        # Many events from one kit.
        data, cat = new_kit("kit-bulk", n_events)
        bulk_s, bulk_b, bulk_in = timed_sync(data)
        t = time.perf_counter()
        report = ingest.ingest(layout, ["kit-bulk"])["kit-bulk"]
        ingest_s = time.perf_counter() - t
        assert report.events >= n_events, report

        # Many kits at once.
        fleet = [new_kit(f"kit-f{i:02d}", 500) for i in range(n_kits)]
        tx0, rx0 = link.counters()
        t = time.perf_counter()
        procs = [subprocess.Popen(link.in_kit(agent(d)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=env, cwd=ROOT) for d, _ in fleet]
        codes = [p.wait(600) for p in procs]
        fleet_s = time.perf_counter() - t
        ingest.ingest(layout)
        conn = db.connect(layout.db)
        complete = 0
        for d, c in fleet:
            last = c.outbox(limit=10**9)[-1]["seq"]
            applied = conn.execute("SELECT applied_through FROM kits WHERE id = ?", (d.name,)).fetchone()[0]
            complete += applied == last
        conn.close()
        failures = sum(1 for code in codes if code != 0)
        quarantined = len(list(layout.quarantine.rglob("*.reason")))
    finally:
        server.stop()
        link.destroy()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    kb = lambda b: f"{b / 1024:.1f} KB"
    return "\n".join([
        "## Sync",
        "",
        "Real sshd and rsync between two network namespaces (veth, no rate limit). Bytes are",
        "everything on the kit's interface in both directions, TCP/IP headers included; times",
        "are wall-clock for the whole `python -m sync.agent once` process (and, in brackets, the",
        f"sync as timed inside that process, without Python's start-up), median of {runs} runs.",
        f"Machine load average at the end: {os.getloadavg()[0]:.1f}.",
        "",
        "| measurement | time | bytes on the wire | vs bare ssh round trip (time / bytes) |",
        "|---|---|---|---|",
        f"| reference: bare `ssh` round trip with the kit key | {ssh_s * 1000:.0f} ms | {kb(ssh_b)} | 1.0× / 1.0× |",
        f"| reference: agent's Python start-up alone | {py_s * 1000:.0f} ms | — | {py_s / ssh_s:.1f}× |",
        f"| sync with nothing new (target < 10 KB) | {noop_s * 1000:.0f} ms ({noop_in * 1000:.0f} ms) | "
        f"**{kb(noop_b)}** | {noop_in / ssh_s:.1f}× / {noop_b / ssh_b:.1f}× |",
        f"| sync of {n_events:,} new events (export + push + pull) | {bulk_s:.2f} s ({bulk_in:.2f} s) | "
        f"{kb(bulk_b)} | {bulk_in / ssh_s:.1f}× |",
        f"| server ingest of those {n_events:,} events | {ingest_s:.2f} s | — | {ingest_s / ssh_s:.1f}× |",
        f"| {n_kits} kits syncing 500 events each at once | {fleet_s:.2f} s | — | {fleet_s / ssh_s:.1f}× |",
        "",
        f"{n_kits} kits at once: {complete}/{n_kits} complete on the server, {failures} sync errors, "
        f"{quarantined} files quarantined.",
        f"Throughput of one kit: {n_events / bulk_in:,.0f} events/s sent, {n_events / ingest_s:,.0f} events/s "
        "ingested.",
    ]) + "\n"
