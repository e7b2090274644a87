"""Footage encryption: appliance.age against the age CLI and against the cipher itself.

The same 1 GiB file encrypted and decrypted by ``kit age`` (the ``kit``
entry point in a fresh Python process, as a person runs it) and by Debian's
``age``, each writing to /dev/null and to a real file on a tmpfs, in
alternating order, several runs. The streaming ``Encryptor``/``Decryptor``
and ``encrypt_file``/``decrypt_file`` are timed inside a process on the same
files. Both are also set against the in-process limit: ChaCha20-Poly1305
sealing 64 KiB chunks from memory to memory, on one core and on every core
at once, measured in the same runs. Peak memory (VmHWM) of every process,
workers included. Then the latency of reading a random 1 MiB range from a
2 GiB age file with the random-access reader, against a plain ``pread`` of
the same amount of ciphertext. Inputs are page-cached files in /tmp; temp
files are deleted at the end.
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
# interpreter start and imports. The buffer is the caller's, as a program
# reading a file into the Encryptor would have it.
_LIBRARY = """
import os, sys, time
from appliance import age
op, path, key, out = sys.argv[1:5]
buf = bytearray(2 * 65536); view = memoryview(buf)
with open(path, "rb", buffering=0) as src, open(out, "wb", buffering=0) as dst:
    t = time.perf_counter()
    if op == "encrypt_file":
        age.encrypt_file(src.fileno(), dst.fileno(), age.read_recipients(key))
    elif op == "decrypt_file":
        age.decrypt_file(src.fileno(), dst.fileno(), age.read_identities(key))
    elif op == "Encryptor":
        with age.Encryptor(dst, age.read_recipients(key)) as w:
            while n := src.readinto(buf):
                w.write(view[:n])
    else:
        plain = age.Decryptor(src, age.read_identities(key))
        while n := plain.readinto(buf):
            dst.write(view[:n])
    print(time.perf_counter() - t)
"""

# The ceiling: ChaCha20-Poly1305 from memory to memory in 64 KiB chunks,
# with the AEAD object and nonces the age modules use, in N processes at once.
_LIMIT = """
import os, sys, time
from appliance.age.stream import CHUNK_SIZE, chunk_nonce, page_aligned_buffer, payload_aead
procs, size = int(sys.argv[1]), int(sys.argv[2])
def seal(chunks):
    aead = payload_aead(os.urandom(16), os.urandom(16))
    src, out = page_aligned_buffer(CHUNK_SIZE), page_aligned_buffer(CHUNK_SIZE + 16)
    for i in range(chunks):
        aead.encrypt_into(chunk_nonce(i, False), src, None, out)
chunks = size // CHUNK_SIZE // procs
t = time.perf_counter()
kids = []
for _ in range(procs - 1):
    pid = os.fork()
    if pid == 0:
        seal(chunks)
        os._exit(0)
    kids.append(pid)
seal(chunks)
for pid in kids:
    os.waitpid(pid, 0)
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


def _tree_peak(pid: int) -> int:
    """The highest VmHWM of ``pid`` and its descendants (the workers)."""
    peak, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            pass
    return peak


def _child(argv: list[str], stdout=subprocess.DEVNULL, remove: Path | None = None) -> tuple[float, float, int, bytes]:
    """Run argv; return (wall s, CPU s of it and its children, peak RSS bytes, stdout).

    ``remove`` (the output file) is deleted before and after, outside the
    timing: ``kit`` refuses to overwrite it, ``age`` would spend time
    truncating it. Peak RSS is polled from /proc: ``ru_maxrss`` of a child
    starts at the parent's RSS (it is inherited across fork and exec), which
    would hide the child's own figure.
    """
    if remove is not None:
        remove.unlink(missing_ok=True)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT)
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _tree_peak(proc.pid))
        time.sleep(0.005)
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read()
    if remove is not None:
        remove.unlink(missing_ok=True)
    if os.waitstatus_to_exitcode(status) != 0:
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


def _tmpfs_dir() -> Path:
    """A directory on a tmpfs for the file outputs (RAM: no disk in the figures)."""
    for candidate in ("/dev/shm", tempfile.gettempdir()):
        if _fs_type(candidate) == "tmpfs" and os.access(candidate, os.W_OK):
            return Path(tempfile.mkdtemp(prefix="bench-age-", dir=candidate))
    raise RuntimeError("no writable tmpfs for the file outputs (/dev/shm)")


def _fs_type(path: str) -> str:
    best, kind = "", ""
    with open("/proc/self/mounts") as f:
        for line in f:
            _, mount, fstype = line.split()[:3]
            if (path == mount or path.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
                best, kind = mount, fstype
    return kind


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
    cores = _workers()
    load_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-age-", dir="/tmp"))
    shm = _tmpfs_dir()
    try:
        identity = age.generate_identity()
        key = work / "key.txt"
        key.write_text(age.identity_file_text(identity))
        recipient = str(identity.recipient)
        rfile = work / "recipients.txt"
        rfile.write_text(recipient + "\n")
        plain = work / "plain.bin"
        _random_file(plain, size)
        ref = work / "ref.age"
        _child([age_cli, "-r", recipient, "-o", str(ref), str(plain)])
        outputs = {"/dev/null": Path(os.devnull), "file": shm / "out"}

        def cli(op: str, tool: str, out: Path) -> list[str]:
            if tool == "kit":
                args = ["encrypt", "-r", recipient] if op == "encrypt" else ["decrypt", "-i", str(key)]
                return [py, "-c", _KIT, "age", *args, "-o", str(out), str(plain if op == "encrypt" else ref)]
            args = ["-r", recipient] if op == "encrypt" else ["-d", "-i", str(key)]
            return [age_cli, *args, "-o", str(out), str(plain if op == "encrypt" else ref)]

        def library(name: str, out: Path) -> list[str]:
            encrypting = name in ("Encryptor", "encrypt_file")
            src, keyfile = (plain, rfile) if encrypting else (ref, key)
            return [py, "-c", _LIBRARY, name, str(src), str(keyfile), str(out)]

        runs: dict[tuple, list[tuple[float, float, int]]] = {}
        for rep in range(reps):
            for procs in sorted({1, min(2, cores), cores}):
                _, _, _, out = _child([py, "-c", _LIMIT, str(procs), str(size)], stdout=subprocess.PIPE)
                runs.setdefault(("limit", procs), []).append((float(out), 0.0, 0))
            for op in ("encrypt", "decrypt"):
                for where, out in outputs.items():
                    remove = out if where == "file" else None
                    order = ["kit", "age"] if rep % 2 == 0 else ["age", "kit"]
                    for tool in order:
                        runs.setdefault((op, where, tool), []).append(_child(cli(op, tool, out), remove=remove)[:3])
                    names = ("Encryptor", "encrypt_file") if op == "encrypt" else ("Decryptor", "decrypt_file")
                    for name in names:
                        _, _, rss, text = _child(library(name, out), stdout=subprocess.PIPE, remove=remove)
                        runs.setdefault((name, where), []).append((float(text), 0.0, rss))

        ra = work / "big.age"
        _encrypted_random_file(ra, ra_size, identity.recipient)
        _, _, ra_rss, out = _child([py, "-c", _RANGE_READER, str(ra), str(key), str(reads), str(MiB)], stdout=subprocess.PIPE)
        ranges = json.loads(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)

    gib = size / GiB

    def wall(*k) -> float:
        return statistics.median(w for w, _, _ in runs[k])

    def rate(seconds: float) -> str:
        return f"{gib / seconds * 1024:.0f} MiB/s"

    def paired(reference: tuple, measured: tuple) -> float:
        # Runs of a pair follow each other, so they see about the same load.
        return statistics.median(a[0] / b[0] for a, b in zip(runs[reference], runs[measured]))

    def cpu(*k) -> float:
        return statistics.median(c for _, c, _ in runs[k])

    def peak(*k) -> float:
        return max(r for _, _, r in runs[k]) / MiB

    limit = {procs: wall("limit", procs) for procs in sorted({1, min(2, cores), cores})}
    lines = [
        "## Footage encryption (`appliance.age` vs `age` CLI)",
        "",
        f"{size // MiB} MiB of random data, page-cached input; output to /dev/null and to a new file on a "
        f"tmpfs (deleted between runs); {reps} runs of each, `kit age` and `age` ({_age_version(age_cli)}) "
        "back to back in alternating order, as a person runs them (`kit age decrypt -i key -o out in.age`, "
        "interpreter start included). Throughput and CPU are medians; the ratio is the median over the "
        "back-to-back pairs of age time / kit time (> 1: `kit age` is faster). *Of the limit*: the "
        f"throughput as a fraction of ChaCha20-Poly1305 alone on {cores} cores (below).",
        "",
        "| | output | kit age | age CLI | ratio (kit/age) | of the limit | CPU s kit / age | peak RSS kit / age |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for op in ("encrypt", "decrypt"):
        for where in outputs:
            k, a = wall(op, where, "kit"), wall(op, where, "age")
            lines.append(
                f"| `kit age {op}` | {where} | {rate(k)} | {rate(a)} | **{paired((op, where, 'age'), (op, where, 'kit')):.2f}** | "
                f"{limit[cores] / k:.2f} | {cpu(op, where, 'kit'):.2f} / {cpu(op, where, 'age'):.2f} | "
                f"{peak(op, where, 'kit'):.1f} / {peak(op, where, 'age'):.1f} MiB |"
            )
    lines += [
        "",
        "The library timed inside one process (no interpreter start), each run right after the `age` CLI run "
        "it is compared with: the streaming classes fed from and feeding the caller's 128 KiB buffer (the "
        "exports and the shares use them), each with one helper thread after its first MiB (the `Encryptor` "
        "seals on it and on the calling thread, so its limit is that of 2 cores; the `Decryptor` opens the "
        "chunks on it while the calling thread copies them out and writes); `encrypt_file`/`decrypt_file` "
        f"(what `kit age` runs) in {cores} processes.",
        "",
        "| | output | throughput | ratio to the `age` CLI | of the limit | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for name, op, procs in (
        ("Encryptor", "encrypt", min(2, cores)),
        ("Decryptor", "decrypt", 1),
        ("encrypt_file", "encrypt", cores),
        ("decrypt_file", "decrypt", cores),
    ):
        for where in outputs:
            t = wall(name, where)
            lines.append(
                f"| `{name}` | {where} | {rate(t)} | **{paired((op, where, 'age'), (name, where)):.2f}** | "
                f"{limit[procs] / t:.2f} (of {procs} core{'s' if procs > 1 else ''}) | {peak(name, where):.1f} MiB |"
            )
    lines += [
        "",
        f"The limit, ChaCha20-Poly1305 sealing 64 KiB chunks from memory to memory (pyca `cryptography`, "
        f"the same AEAD object and nonces): {rate(limit[1])} on one core, {rate(limit[cores])} in {cores} processes "
        "at once. Reading the input from the page cache and writing the output (on a tmpfs, a copy into newly "
        "allocated pages, one writer at a time per file) come on top of it, for `kit` and `age` alike.",
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
        "(median). Targets: `kit age` ratio ≥ 1.0 in all four cases (goal 1.5), the streaming classes ≥ 1.0, "
        "peak RSS < 64 MiB, p99 < 20 ms.",
        "",
        f"Machine load average (1 min) at start / end: {load_start:.1f} / {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores. Wall-clock ratios depend on what else runs; CPU seconds less so. "
        f"`kit age encrypt` and `kit age decrypt` of a regular file split the chunks over {cores} processes "
        "(forks; each pread/pwrite its share at offsets the file size fixes); their CPU figure is the sum over "
        "them and their peak RSS the highest of any one of them. The `age` CLI works on one core."
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
    from appliance.age.workers import default_workers

    return default_workers()


def _age_version(age_cli: str) -> str:
    try:
        return subprocess.run([age_cli, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "?"
