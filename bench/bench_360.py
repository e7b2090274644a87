"""360° lessons: what the whole room costs the kit, against flat 1080p in the same run.

Three streams are encoded once with the simulated cameras (with sensor
noise, so they reach a camera's bit rate): flat 1080p30 at 10 Mbit/s (the
Pi camera), and the classroom in equirectangular projection at 1920×960
(a Theta's 2K live stream, 20 Mbit/s) and 3840×1920 (4K, 50 Mbit/s). Each
is then replayed through the kit's recording pipeline (mux, segment, mark
360°, encrypt, write, fsync; the encoder is the camera's own, so it is not
counted) and served back by the review app on loopback, segment by segment
as the player fetches them, decrypting as it goes.

* Recording pipeline: CPU seconds per recorded second (the share of one
  core it keeps busy), and its ratio to flat 1080p.
* Decrypt-and-serve: MiB/s and how many times real time, and the ratio of
  MiB/s to flat 1080p.
* Flat clip export: rendering a 10 s clip of a 360° recording as the flat
  view in one direction (decode, FFmpeg ``v360``, encode at 1280×720), on
  the kit, against the same clip's 360° export (decode and encode, no
  reframing) and against the clip's own length.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

MiB = 1 << 20
FPS = 30
FORMATS = [
    ("flat 1080p30, 10 Mbit/s", 1920, 1080, 10_000_000, "flat"),
    ("360° 1920×960, 20 Mbit/s", 1920, 960, 20_000_000, "equirectangular"),
    ("360° 3840×1920, 50 Mbit/s", 3840, 1920, 50_000_000, "equirectangular"),
]


def _encode(width: int, height: int, bitrate: int, projection: str, seconds: float):
    from appliance.camera import SimulatedCamera
    from bench.bench_pipeline import encode_once

    return encode_once(SimulatedCamera(width, height, FPS, realtime=False, bitrate=bitrate, grain=12,
                                       projection=projection), seconds)


def _record(cat, data: Path, anna: dict, bram: dict, camera, packets) -> tuple[str, float, float, int]:
    """Replay through the recorder into the catalogue: (id, CPU s, media s, bytes)."""
    from appliance import age
    from appliance.camera.replay import ReplayCamera
    from appliance.footage.recorder import SegmentRecorder
    from appliance.paths import KitPaths

    recipients = [anna["recipient"], bram["recipient"]]
    row = cat.create_recording(anna["id"], bram["id"], recipients, projection=camera.video.projection)
    segments = []
    recorder = SegmentRecorder(ReplayCamera(camera.video, camera.audio, packets), segment_seconds=2.0)
    ended = threading.Event()
    cpu = time.process_time()
    recorder.start(KitPaths(data).recording(row["id"]), [age.parse_recipient(r) for r in recipients],
                   on_segment=segments.append, on_error=lambda e: ended.set())
    ended.wait()
    summary = recorder.stop()
    cpu = time.process_time() - cpu
    for seg in segments:
        cat.add_segment(row["id"], seg.index, seg.start_s, seg.duration_s, seg.bytes)
    cat.finish_recording(row["id"])
    return row["id"], cpu, summary.duration_s, sum(s.bytes for s in segments)


def run(quick: bool) -> str:
    from appliance import age
    from appliance.catalogue import Catalogue
    from appliance.footage import spherical
    from appliance.footage.clip import cut
    from appliance.footage.store import list_segments, open_segment
    from appliance.identities import create_person
    from bench.bench_ui import _Browser, _serve
    from ui import create_app

    seconds = 4.0 if quick else 12.0
    formats = FORMATS[:2] if quick else FORMATS
    root = Path(tempfile.mkdtemp(prefix="bench-360-"))
    server = None
    rows = []
    try:
        data = root / "data"
        cat = Catalogue(data / "catalogue.db")
        anna = create_person(data, cat, "Anna", "teacher", "anna-bench-passphrase", work_factor=10)
        bram = create_person(data, cat, "Bram", "coach", "bram-bench-passphrase", work_factor=10)
        recorded = []
        for label, width, height, bitrate, projection in formats:
            camera, packets = _encode(width, height, bitrate, projection, seconds)
            rec_id, cpu, media_s, size = _record(cat, data, anna, bram, camera, packets)
            recorded.append((label, rec_id, cpu / media_s, media_s, size * 8 / media_s))
        cat.close()

        app = create_app(data_dir=data)
        server, port = _serve(app)
        browser = _Browser(port)
        token = json.loads(browser.get("/api/session"))["csrf_token"]
        browser.request("POST", "/api/unlock", json.dumps({"person": anna["id"], "passphrase": "anna-bench-passphrase"}),
                        {"Content-Type": "application/json", "X-CSRF-Token": token})
        for label, rec_id, share, media_s, rate in recorded:
            playlist = browser.get(f"/media/{rec_id}/playlist.m3u8").decode()
            names = [line for line in playlist.splitlines() if line and not line.startswith("#")]
            best = 0.0
            for _round in range(3):
                started = time.perf_counter()
                total = len(browser.get(f"/media/{rec_id}/init.mp4"))
                total += sum(len(browser.get(f"/media/{rec_id}/{name}")) for name in names)
                best = max(best, total / (time.perf_counter() - started))
            rows.append((label, share, rate, best, best * 8 / rate))

        # Flat clip export of 10 s (4 s with --quick) from the 360° recordings.
        identity = age.unwrap_identity((data / "identities" / f"{anna['id']}.age").read_bytes(), "anna-bench-passphrase")
        clip_s = min(10.0, seconds - 1.0)
        exports = []
        for label, rec_id, *_ in recorded[1:]:
            plain = b"".join(open_segment(p, [identity]).read() for p in list_segments(data / "recordings" / rec_id))
            assert spherical.projection_of(plain) == "equirectangular"
            started = time.perf_counter()
            cut(plain, 0.5, 0.5 + clip_s)
            whole_s = time.perf_counter() - started
            started = time.perf_counter()
            cut(plain, 0.5, 0.5 + clip_s, view={"yaw": 90.0, "pitch": 0.0, "fov": 90.0})
            flat_s = time.perf_counter() - started
            exports.append((label, flat_s, whole_s))
            del plain
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)

    flat_share, flat_serve = rows[0][1], rows[0][3]
    out = ["## 360° lessons: recording, serving and flat export against flat 1080p", "",
           __doc__.split("\n\n", 1)[1].strip(), "",
           f"{seconds:g} s of each stream; serving is the best of 3 rounds over HTTP on loopback (the kit's "
           "listener, plain HTTP: `bench tls` measures what TLS adds).", "",
           "| stream | measured bit rate | pipeline CPU (share of one core) | ratio to flat | "
           "decrypt-and-serve | × real time | ratio to flat |",
           "|---|---|---|---|---|---|---|"]
    for label, share, rate, served, realtime in rows:
        out.append(f"| {label} | {rate / 1e6:.1f} Mbit/s | {share:.3f} | **{share / flat_share:.2f}** | "
                   f"{served / MiB:.0f} MiB/s | {realtime:.0f}× | **{served / flat_serve:.2f}** |")
    out += ["", f"| flat clip export ({clip_s:g} s clip) | flat view (v360, 1280×720) | the same clip as 360° | "
            "ratio flat / 360° | ratio to the clip's length |", "|---|---|---|---|---|"]
    for label, flat_s, whole_s in exports:
        out.append(f"| from {label} | {flat_s:.1f} s | {whole_s:.1f} s | **{flat_s / whole_s:.2f}** | "
                   f"**{flat_s / clip_s:.2f}** |")
    out += ["", f"Machine load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. "
            "Part of the pipeline's cost is per segment (muxing, fsync, rename) and does not grow with the bit "
            "rate; encryption and writing do. The flat export decodes the whole sphere to draw a part of it, "
            "and runs on the kit for the clip only, when it is downloaded."]
    return "\n".join(out) + "\n"
