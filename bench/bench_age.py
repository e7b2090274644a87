"""Footage encryption: appliance.age against the age CLI, and range-read latency.

Encryption and decryption of the same 1 GiB file by ``kit age`` (the ``kit``
entry point in a fresh Python process) and by Debian's ``age``, in
alternating order, several runs; peak memory (VmHWM) of every
child. Then the latency of reading a random 1 MiB range from a
2 GiB age file with the random-access reader, against a plain ``pread`` of the
same amount of ciphertext. Inputs are page-cached files in /tmp, outputs go
to /dev/null, so the figures are about CPU work, not the disk. Temp files are
deleted at the end.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MiB = 1 << 20
GiB = 1 << 30

# The installed ``kit`` command, as a person or script runs it.
_KIT = "import sys; from kit.cli.main import main; sys.exit(main())"

# The library alone, timed inside the process: the same work without the
# interpreter start and imports (about 0.15 s of CPU, more under load).
_LIBRARY = """
import os, sys, time
from appliance import age
op, path = sys.argv[1], sys.argv[2]
buf = bytearray(2 * 65536); view = memoryview(buf)
with open(path, "rb", buffering=0) as src, open(os.devnull, "wb") as dst:
    t = time.perf_counter()
    if op == "encrypt":
        age.encrypt_file(src.fileno(), dst.fileno(), age.read_recipients(sys.argv[3]))
    elif op == "encrypt-stream":
        with age.Encryptor(dst, age.read_recipients(sys.argv[3])) as w:
            while n := src.readinto(buf):
                w.write(view[:n])
    else:
        plain = age.Decryptor(src, age.read_identities(sys.argv[3]))
        while n := plain.readinto(buf):
            dst.write(view[:n])
    print(time.perf_counter() - t)
"""

_RANGE_READER = """
import json, os, random, sys, time
from appliance import age
path, key, count, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ids = age.read_identities(key)
rng = random.Random(7)
with open(path, "rb", buffering=0) as f:
    t = time.perf_counter()
    reader = age.open_random_access(f, ids)
    opened = time.perf_counter() - t
    buf = bytearray(size)
    lat, raw = [], []
    for _ in range(count):
        at = rng.randrange(0, reader.size - size)
        t = time.perf_counter()
        reader.seek(at)
        n = reader.readinto(buf)
        lat.append(time.perf_counter() - t)
        assert n == size
        t = time.perf_counter()
        os.pread(f.fileno(), size + 16 * 17, at)
        raw.append(time.perf_counter() - t)
print(json.dumps({"open": opened, "lat": lat, "raw": raw}))
"""


def _child(argv: list[str], stdout=subprocess.DEVNULL) -> tuple[float, float, int, bytes]:
    """Run argv; return (wall s, CPU s, peak RSS bytes, stdout).

    Peak RSS is the child's VmHWM, polled from /proc: ``ru_maxrss`` of a
    child starts at the parent's RSS (it is inherited across fork and exec),
    which would hide the child's own figure.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT)
    status_file = f"/proc/{proc.pid}/status"
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            with open(status_file) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {err.decode(errors='replace').strip()}")
    return wall, usage.ru_utime + usage.ru_stime, peak, out


def _random_file(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 16 * MiB)
            f.write(os.urandom(n))
            left -= n


def _encrypted_random_file(path: Path, size: int, recipient) -> None:
    from appliance import age

    block = os.urandom(4 * MiB)  # repeated: content does not matter for timing
    with open(path, "wb") as f, age.Encryptor(f, [recipient]) as w:
        left = size
        while left:
            n = min(left, len(block))
            w.write(memoryview(block)[:n])
            left -= n


def run(quick: bool) -> str:
    from appliance import age

    age_cli = shutil.which("age")
    if not age_cli:
        raise RuntimeError("the age CLI is not installed (make deps)")
    size = 64 * MiB if quick else GiB
    ra_size = 128 * MiB if quick else 2 * GiB
    reps = 2 if quick else 7
    reads = 100 if quick else 400
    py = sys.executable
    load_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-age-", dir="/tmp"))
    try:
        identity = age.generate_identity()
        key = work / "key.txt"
        key.write_text(age.identity_file_text(identity))
        recipient = str(identity.recipient)
        plain = work / "plain.bin"
        _random_file(plain, size)
        ref = work / "ref.age"
        _child([age_cli, "-r", recipient, "-o", str(ref), str(plain)])

        jobs = {
            "encrypt": {
                "kit": [py, "-c", _KIT, "age", "encrypt", "-r", recipient, "-o", "/dev/null", str(plain)],
                "age": [age_cli, "-r", recipient, "-o", "/dev/null", str(plain)],
            },
            "decrypt": {
                "kit": [py, "-c", _KIT, "age", "decrypt", "-i", str(key), "-o", "/dev/null", str(ref)],
                "age": [age_cli, "-d", "-i", str(key), "-o", "/dev/null", str(ref)],
            },
        }
        rfile = work / "recipients.txt"
        rfile.write_text(recipient + "\n")
        library = {
            "encrypt": [py, "-c", _LIBRARY, "encrypt", str(plain), str(rfile)],
            "encrypt-stream": [py, "-c", _LIBRARY, "encrypt-stream", str(plain), str(rfile)],
            "decrypt": [py, "-c", _LIBRARY, "decrypt", str(ref), str(key)],
        }
        results: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
        for rep in range(reps):
            for op, tools in jobs.items():
                order = ["kit", "age"] if rep % 2 == 0 else ["age", "kit"]
                for tool in order:
                    wall, cpu, rss, _ = _child(tools[tool])
                    results.setdefault((op, tool), []).append((wall, cpu, rss))
                    if tool == "age":
                        _, _, _, out = _child(library[op], stdout=subprocess.PIPE)
                        results.setdefault((op, "lib"), []).append((float(out), 0.0, 0))
                        if op == "encrypt":
                            _, _, _, out = _child(library["encrypt-stream"], stdout=subprocess.PIPE)
                            results.setdefault(("encrypt", "stream"), []).append((float(out), 0.0, 0))

        ra = work / "big.age"
        _encrypted_random_file(ra, ra_size, identity.recipient)
        _, _, ra_rss, out = _child([py, "-c", _RANGE_READER, str(ra), str(key), str(reads), str(MiB)], stdout=subprocess.PIPE)
        ranges = json.loads(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def median_wall(op: str, tool: str) -> float:
        return statistics.median(w for w, _, _ in results[(op, tool)])

    def paired_ratio(op: str) -> float:
        # Runs of a pair follow each other, so they see about the same load.
        pairs = zip(results[(op, "age")], results[(op, "kit")])
        return statistics.median(a[0] / k[0] for a, k in pairs)

    def cpu(op: str, tool: str) -> float:
        return statistics.median(c for _, c, _ in results[(op, tool)])

    def peak(op: str, tool: str) -> float:
        return max(r for _, _, r in results[(op, tool)]) / MiB

    gib = size / GiB
    lines = [
        "## Footage encryption (`appliance.age` vs `age` CLI)",
        "",
        f"{size // MiB} MiB of random data, page-cached input, output to /dev/null; {reps} runs of each, "
        f"kit and `age` ({_age_version(age_cli)}) back to back in alternating order. Throughput and CPU "
        "are medians; the ratio is the median over the back-to-back pairs of age time / kit time "
        "(> 1: `kit age` is faster).",
        "",
        "| | kit age | age CLI | ratio (kit/age) | CPU s kit / age | peak RSS kit / age |",
        "|---|---|---|---|---|---|",
    ]
    for op in jobs:
        k, a = gib / median_wall(op, "kit"), gib / median_wall(op, "age")
        lines.append(
            f"| {op} | {k * 1024:.0f} MiB/s | {a * 1024:.0f} MiB/s | **{paired_ratio(op):.2f}** | "
            f"{cpu(op, 'kit'):.2f} / {cpu(op, 'age'):.2f} | {peak(op, 'kit'):.1f} / {peak(op, 'age'):.1f} MiB |"
        )
    lines += [
        "",
        "The same work timed inside one process (library only, no interpreter start): "
        + ", ".join(
            f"{op} {gib / median_wall(op, 'lib') * 1024:.0f} MiB/s "
            f"(ratio to the `age` CLI {median_wall(op, 'age') / median_wall(op, 'lib'):.2f})"
            for op in jobs
        )
        + f"; the streaming `Encryptor` (pipes, small files, the recorder) "
        f"{gib / median_wall('encrypt', 'stream') * 1024:.0f} MiB/s "
        f"(ratio {median_wall('encrypt', 'age') / median_wall('encrypt', 'stream'):.2f}).",
    ]
    lat = sorted(ranges["lat"])
    raw = sorted(ranges["raw"])

    def pct(xs: list[float], p: float) -> float:
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000

    lines += [
        "",
        f"Random-access reader: {reads} reads of 1 MiB at random offsets in a {ra_size // MiB} MiB age file "
        f"(open, including final-chunk check: {ranges['open'] * 1000:.1f} ms; peak RSS {ra_rss / MiB:.1f} MiB).",
        "",
        "| | p50 | p99 | max |",
        "|---|---|---|---|",
        f"| range read (seek + readinto, decrypts 16–17 chunks) | {pct(lat, 50):.2f} ms | **{pct(lat, 99):.2f} ms** | {max(lat) * 1000:.2f} ms |",
        f"| reference: `pread` of the same ciphertext bytes | {pct(raw, 50):.2f} ms | {pct(raw, 99):.2f} ms | {max(raw) * 1000:.2f} ms |",
        "",
        f"Range read costs {statistics.median(lat) / statistics.median(raw):.1f}× a raw read of the same bytes "
        "(median). Targets: ratio ≥ 1.0 both ways, peak RSS < 64 MiB, p99 < 20 ms.",
        "",
        f"Machine load average (1 min) at start / end: {load_start:.1f} / {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores. Wall-clock ratios depend on what else runs; CPU seconds less so. "
        f"`kit age encrypt` of a regular file splits the chunks over {_workers()} processes (pyca `cryptography` "
        "holds the GIL while it encrypts, so threads would not help); its CPU figure is the sum over them and "
        "its peak RSS that of the main process (the workers are forks of it and add about 0.5 MiB each). "
        "The `age` CLI and `kit age decrypt` do the work on one core."
        + _autogroup_note(),
    ]
    return "\n".join(lines) + "\n"


def _autogroup_note() -> str:
    try:
        enabled = Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        enabled = False
    if not enabled:
        return ""
    return (
        " The kernel shares the CPU between process groups (autogroup scheduling), so while other work keeps the cores "
        "busy the workers get no more CPU than one process would, and the wall-clock ratio falls back to "
        "the CPU-time ratio."
    )


def _workers() -> int:
    from appliance.age.parallel_encrypt import default_workers

    return default_workers()


def _age_version(age_cli: str) -> str:
    try:
        return subprocess.run([age_cli, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "?"
