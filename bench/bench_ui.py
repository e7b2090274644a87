"""Review app: play-press to first decrypted segment, seek latency on a
2-hour recording, decrypt-and-serve throughput against Flask ``send_file``
of the same bytes unencrypted, and the library page with 1,000 recordings.

A real recording is made with the simulated camera and the segment recorder
(720p, or 320x180 with ``--quick``). The 2-hour recording is synthesised:
its segments are those real segments re-encrypted to the same recipients,
hard-linked under 3,600 names, with catalogue rows to match. Everything is
served by the kit's listener on loopback and fetched with ``http.client``, as a
browser would. The unencrypted reference file lives in /dev/shm (memory),
never on persistent storage. Temp files are deleted at the end.
"""

from __future__ import annotations

import http.client
import io
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

MiB = 1 << 20


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


class _Browser:
    """A keep-alive HTTP client with the review session's cookie."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None) -> bytes:
        h = dict(headers or {})
        if self.cookies:
            # kit_pre before an unlock (the form token is signed over it), kit_session after.
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=h)
        response = self.conn.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
        return data

    def get(self, path: str) -> bytes:
        return self.request("GET", path)


def _serve(app):
    """The app behind the kit's own listener (``kit.web_server``), plain HTTP: ``bench tls`` adds TLS."""
    from kit.web_server import http_listener

    listener = http_listener(app, "127.0.0.1", 0).start()
    return listener, listener.port


def _build_kit(root: Path, quick: bool):
    from appliance import age
    from appliance.catalogue import Catalogue
    from appliance.footage.simulated_lesson import record_simulated_lesson
    from appliance.identities import create_person

    data = root / "data"
    cat = Catalogue(data / "catalogue.db")
    anna = create_person(data, cat, "Anna", "teacher", "anna-bench-passphrase", work_factor=10)
    bram = create_person(data, cat, "Bram", "coach", "bram-bench-passphrase", work_factor=10)
    recipients = [anna["recipient"], bram["recipient"]]
    parsed = [age.parse_recipient(r) for r in recipients]
    width, height, seconds = (320, 180, 8.0) if quick else (1280, 720, 10.0)

    real = {"id": record_simulated_lesson(cat, data, anna, bram, seconds, width=width, height=height)}

    # The 2-hour recording: real segments, re-encrypted, hard-linked 3,600 times.
    identity = age.unwrap_identity((data / "identities" / f"{anna['id']}.age").read_bytes(), "anna-bench-passphrase")
    real_dir = data / "recordings" / real["id"]
    sources = sorted(real_dir.glob("seg-*.m4s.age"))[:-1]  # full-length segments only
    long = cat.create_recording(anna["id"], bram["id"], recipients)
    long_dir = data / "recordings" / long["id"]
    long_dir.mkdir(parents=True)
    pool = root / "pool"
    pool.mkdir()

    def reencrypt(src: Path, dst: Path) -> int:
        with src.open("rb") as f:
            plain = age.Decryptor(f, [identity]).read()
        out = io.BytesIO()
        with age.Encryptor(out, parsed) as w:
            w.write(plain)
        dst.write_bytes(out.getvalue())
        return len(out.getvalue())

    reencrypt(real_dir / "init.mp4.age", long_dir / "init.mp4.age")
    pooled = []
    for i, src in enumerate(sources * 2):
        dst = pool / f"{i}.age"
        pooled.append((dst, reencrypt(src, dst)))
    segments = 3600
    with cat.transaction() as db:
        rows = [{"recording_id": long["id"], "idx": 0, "start_s": 0.0, "duration_s": 0.0,
                 "bytes": (long_dir / "init.mp4.age").stat().st_size}]
        for idx in range(1, segments + 1):
            src, size = pooled[idx % len(pooled)]
            os.link(src, long_dir / f"seg-{idx:06d}.m4s.age")
            rows.append({"recording_id": long["id"], "idx": idx, "start_s": (idx - 1) * 2.0,
                         "duration_s": 2.0, "bytes": size})
        db["segments"].insert_all(rows)
        db.execute("UPDATE recordings SET state = 'complete', duration_s = ?, segments = ? WHERE id = ?",
                   (segments * 2.0, segments, long["id"]))

    # 1,000 recordings in the library (catalogue rows; the page never opens their files).
    with cat.transaction() as db:
        db["recordings"].insert_all({
            "id": f"r-lib-{i:04d}", "teacher_id": anna["id"], "coach_id": bram["id"],
            "recipients": f'["{recipients[0]}", "{recipients[1]}"]', "boot_id": "bench",
            "started_mono": float(i), "started_at": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T09:{i % 60:02d}:00Z",
            "clock_trusted": 1, "duration_s": 2700.0, "segments": 1350, "bytes": 10**9, "state": "complete",
            "retention_until": "2027-07-01T00:00:00Z" if i % 3 else None,
        } for i in range(998))
    cat.close()
    return data, anna, real["id"], long["id"], identity, width, height


def run(quick: bool) -> str:
    from flask import Flask, send_file

    from ui import create_app
    from appliance.footage.store import segment_name as segment_filename

    root = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    shm = Path(tempfile.mkdtemp(prefix="bench-ui-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    servers = []
    try:
        data, anna, real_id, long_id, identity, width, height = _build_kit(root, quick)
        app = create_app(data_dir=data)
        server, port = _serve(app)
        servers.append(server)

        def unlocked() -> _Browser:
            b = _Browser(port)
            import json

            token = json.loads(b.get("/api/session"))["csrf_token"]
            body = json.dumps({"person": anna["id"], "passphrase": "anna-bench-passphrase"})
            b.request("POST", "/api/unlock", body, {"Content-Type": "application/json", "X-CSRF-Token": token})
            return b

        browser = unlocked()

        # 1. Play pressed: playlist, init segment, first media segment.
        play = []
        for _ in range(10 if quick else 30):
            started = time.perf_counter()
            browser.get(f"/media/{real_id}/playlist.m3u8")
            browser.get(f"/media/{real_id}/init.mp4")
            browser.get(f"/media/{real_id}/seg-000001.m4s")
            play.append(time.perf_counter() - started)
        plain_first = []
        for _ in range(10 if quick else 30):
            started = time.perf_counter()
            browser.get("/api/session")  # a trivial request: the HTTP round trip alone
            plain_first.append(time.perf_counter() - started)

        # 2. Seeks on the 2-hour recording: the segment holding a random instant.
        started = time.perf_counter()
        playlist = browser.get(f"/media/{long_id}/playlist.m3u8")
        playlist_s = time.perf_counter() - started
        assert playlist.count(b"#EXTINF") == 3600
        rng = random.Random(7)
        seeks = []
        for _ in range(100 if quick else 400):
            idx = int(rng.uniform(0, 7200) // 2) + 1
            started = time.perf_counter()
            browser.get(f"/media/{long_id}/seg-{idx:06d}.m4s")
            seeks.append(time.perf_counter() - started)

        # 3. Throughput: decrypt-and-serve vs send_file of the same plaintext bytes.
        #    (a) segment by segment, as the player fetches them;
        #    (b) one long range of the whole-recording view (download / export).
        from appliance import age

        def plain_of(idx: int) -> bytes:
            with (data / "recordings" / long_id / segment_filename(idx)).open("rb") as f:
                return age.Decryptor(f, [identity]).read()

        seg_ref = shm / "segment.m4s"
        seg_ref.write_bytes(plain_of(1))
        segment_plain = seg_ref.stat().st_size
        span = 16 * MiB if quick else 96 * MiB
        long_ref = shm / "long.mp4"
        with long_ref.open("wb") as out:
            idx, written = 0, 0
            while written < span:
                written += out.write(plain_of(idx))
                idx += 1
        plain_app = Flask("reference")

        @plain_app.get("/plain/<name>")
        def plain(name: str):
            return send_file(seg_ref if name == "segment" else long_ref, mimetype="video/mp4", conditional=True)

        ref_server, ref_port = _serve(plain_app)
        servers.append(ref_server)
        ref = _Browser(ref_port)
        count = 60 if quick else 150
        rng_header = {"Range": f"bytes=0-{span - 1}"}
        browser.request("GET", f"/media/{long_id}/full.mp4", headers={"Range": "bytes=0-0"})  # learn part sizes
        seg_rates, seg_refs, long_rates, long_refs = [], [], [], []
        for _round in range(3):
            started = time.perf_counter()
            total = sum(len(browser.get(f"/media/{long_id}/seg-{(i % 2) + 1:06d}.m4s")) for i in range(count))
            seg_rates.append(total / (time.perf_counter() - started))
            started = time.perf_counter()
            total = sum(len(ref.get("/plain/segment")) for _ in range(count))
            seg_refs.append(total / (time.perf_counter() - started))
            started = time.perf_counter()
            total = len(browser.request("GET", f"/media/{long_id}/full.mp4", headers=rng_header))
            long_rates.append(total / (time.perf_counter() - started))
            started = time.perf_counter()
            total = len(ref.request("GET", "/plain/long", headers=rng_header))
            long_refs.append(total / (time.perf_counter() - started))
        seg_rate, seg_ref_rate = max(seg_rates), max(seg_refs)
        long_rate, long_ref_rate = max(long_rates), max(long_refs)

        # 4. Library with 1,000 recordings (server-side render through the test client).
        client = app.test_client()
        import json

        token = json.loads(client.get("/api/session").data)["csrf_token"]
        client.post("/api/unlock", json={"person": anna["id"], "passphrase": "anna-bench-passphrase"},
                    headers={"X-CSRF-Token": token})
        html = client.get("/library").get_data(as_text=True)
        shown = html.count('class="rec ')
        renders, trivial, cpu = [], [], []
        for _ in range(60 if quick else 200):
            started, cpu_started = time.perf_counter(), time.process_time()
            client.get("/library")
            renders.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            started = time.perf_counter()
            client.get("/api/session")
            trivial.append(time.perf_counter() - started)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)

    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    p95 = _percentile(renders, 95)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return "\n".join([
        "## Review app (`bench/bench_ui.py`)",
        "",
        f"Real recording {width}x{height} from the simulated camera; 2-hour recording = 3,600 re-encrypted "
        f"segments ({segment_plain / MiB:.2f} MiB plaintext each: the test pattern compresses far better than a "
        f"classroom); the kit's listener (cheroot) on loopback, plain HTTP, keep-alive client. Load average during the run: {load:.1f} "
        f"on {os.cpu_count()} cores (wall-clock figures include other processes' share).",
        "",
        "| measure | result | reference (same run) | ratio / target |",
        "|---|---|---|---|",
        f"| play pressed → first decrypted segment delivered (playlist + init + segment 1), median | "
        f"{ms(statistics.median(play))} | trivial request {ms(statistics.median(plain_first))} | "
        f"{statistics.median(play) / statistics.median(plain_first):.1f}× a round trip |",
        f"| seek on a 2-hour recording: segment delivered, p50 | {ms(_percentile(seeks, 50))} | | |",
        f"| seek on a 2-hour recording: segment delivered, p99 | {ms(_percentile(seeks, 99))} | | |",
        f"| playlist of the 2-hour recording (3,600 segments) | {ms(playlist_s)} | | |",
        f"| decrypt-and-serve, {span // MiB} MiB range of the whole-recording view | {long_rate / MiB:.0f} MiB/s | "
        f"`send_file` of the same bytes unencrypted {long_ref_rate / MiB:.0f} MiB/s | "
        f"**{long_rate / long_ref_rate:.2f}** (target ≥ 0.5) |",
        f"| decrypt-and-serve, segment by segment ({segment_plain / MiB:.2f} MiB each) | {seg_rate / MiB:.0f} MiB/s | "
        f"`send_file` of the same segment {seg_ref_rate / MiB:.0f} MiB/s | {seg_rate / seg_ref_rate:.2f} "
        "(per-request work dominates at this size) |",
        f"| library page with {shown} recordings, p95 | {ms(p95)} (CPU median {ms(statistics.median(cpu))}) | "
        f"trivial request p95 {ms(_percentile(trivial, 95))} | "
        f"{'under' if p95 < 0.05 else '**over**'} the 50 ms target |",
        "",
    ])
