"""CPU cost of the recording pipeline per recorded minute at 1080p30, 10 Mbit/s.

The simulated camera encodes the stream once; the benchmark then replays
those packets through the kit's pipeline (mux to fragmented MP4, cut into
segments, encrypt with age, write + fsync + rename), so the encoder, which
is the Pi's hardware on the kit, is not counted. References in the same run:
``ffmpeg -c copy`` remuxing the same stream to fragmented MP4, and a plain
write + fsync of the same bytes in the same 2 s pieces.
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from appliance import age
from appliance.camera import SimulatedCamera
from appliance.camera.base import EncodedPacket
from appliance.camera.replay import ReplayCamera
from appliance.footage.fmp4 import FragmentedMp4Muxer
from appliance.footage.recorder import SegmentRecorder

FPS = 30


def _encode_once(seconds: int) -> tuple[SimulatedCamera, list[EncodedPacket]]:
    return encode_once(SimulatedCamera.preset("1080p", fps=FPS, realtime=False, bitrate=10_000_000, grain=8), seconds)


def encode_once(camera: SimulatedCamera, seconds: float) -> tuple[SimulatedCamera, list[EncodedPacket]]:
    """``seconds`` of the camera's packets, encoded once, to replay through the pipeline."""
    camera.start()
    packets: list[EncodedPacket] = []
    frames = 0
    for packet in camera.packets():
        packets.append(packet)
        frames += packet.kind == "video"
        if frames >= seconds * camera.video.fps:
            break
    camera.stop()
    # Audio runs up to the end of the last video frame.
    end = frames / camera.video.fps
    return camera, [p for p in packets if p.start_s < end]


def _cpu() -> float:
    return time.process_time()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pipeline(camera: SimulatedCamera, packets: list, directory: Path, recipients: list) -> tuple[float, int]:
    recorder = SegmentRecorder(ReplayCamera(camera.video, camera.audio, packets))
    ended = threading.Event()
    before = _cpu()
    recorder.start(directory, recipients, on_error=lambda e: ended.set())
    ended.wait()  # the replay ran out
    summary = recorder.stop()
    return _cpu() - before, summary.segments


def _mux_only(camera: SimulatedCamera, packets: list) -> tuple[float, bytes]:
    out: list[bytes] = []
    before = _cpu()
    muxer = FragmentedMp4Muxer(camera.video, camera.audio, out.append, lambda f: out.append(f.data))
    for p in packets:
        muxer.add(p)
    muxer.close()
    return _cpu() - before, b"".join(out)


def _encrypt_only(data: bytes, recipients: list) -> float:
    sink = _NullSink()
    before = _cpu()
    step = 2_500_000
    for i in range(0, len(data), step):
        with age.Encryptor(sink, recipients) as w:
            w.write(data[i:i + step])
    return _cpu() - before


class _NullSink:
    def write(self, data) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def _plain_write(data: bytes, directory: Path, piece: int) -> float:
    before = _cpu()
    for n, i in enumerate(range(0, len(data), piece)):
        path = directory / f"{n}.bin"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data[i:i + piece])
            os.fsync(fd)
        finally:
            os.close(fd)
    return _cpu() - before


def _ffmpeg_copy(mp4: Path, out: Path) -> float:
    before = _children_cpu()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(mp4), "-c", "copy", "-f", "mp4",
         "-movflags", "frag_keyframe+empty_moov+default_base_moof", str(out)],
        check=True,
    )
    return _children_cpu() - before


def run(quick: bool) -> str:
    # Each replay ends by running out of packets, which the recorder reports
    # as a camera that stopped; expected here.
    logging.getLogger("appliance.footage.recorder").setLevel(logging.ERROR)
    seconds = 6 if quick else 30
    rounds = 1 if quick else 3
    started = time.monotonic()
    camera, packets = _encode_once(seconds)
    encode_wall = time.monotonic() - started
    payload = sum(len(p.data) for p in packets)
    mbit = payload * 8 / seconds / 1e6
    recipients = [age.generate_identity().recipient, age.generate_identity().recipient]
    per_minute = 60 / seconds

    disk = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    # The reference remux needs its input as a file; the test pattern goes to
    # RAM (/dev/shm), never to the disk.
    ram = Path(tempfile.mkdtemp(prefix="bench-pipeline-", dir="/dev/shm"))
    try:
        full, mux, enc, plain, copy = [], [], [], [], []
        segments = 0
        for r in range(rounds):
            cpu, segments = _pipeline(camera, packets, disk / f"rec{r}", recipients)
            full.append(cpu)
            cpu, mp4 = _mux_only(camera, packets)
            mux.append(cpu)
            enc.append(_encrypt_only(mp4, recipients))
            plain_dir = disk / f"plain{r}"
            plain_dir.mkdir()
            plain.append(_plain_write(mp4, plain_dir, len(mp4) * 2 // seconds))
            source = ram / "source.mp4"
            source.write_bytes(mp4)
            copy.append(_ffmpeg_copy(source, disk / f"copy{r}.mp4"))
            source.unlink()
    finally:
        shutil.rmtree(disk, ignore_errors=True)
        shutil.rmtree(ram, ignore_errors=True)

    def row(name: str, samples: list[float]) -> str:
        cpu = statistics.median(samples) * per_minute
        return f"| {name} | {cpu:.3f} | {cpu / 60 * 100:.2f} % |"

    ours = statistics.median(full) * per_minute
    ffmpeg = statistics.median(copy) * per_minute
    plain_cpu = statistics.median(plain) * per_minute
    lines = [
        "## Recording pipeline (mux + segment + encrypt + write)",
        "",
        f"{seconds} s of simulated 1080p{FPS} H.264 at {mbit:.1f} Mbit/s + AAC, encoded once "
        f"({encode_wall:.0f} s), then replayed {rounds}× through each path; median CPU time "
        f"(user + system) scaled to one recorded minute. Two recipients per segment, "
        f"{segments} segments of 2 s per run.",
        "",
        "| path | CPU s per recorded minute | share of one core |",
        "|---|---:|---:|",
        row("**kit pipeline** (SegmentRecorder: mux, segment, age-encrypt, fsync, rename)", full),
        row("of which: mux to fragmented MP4 in memory (PyAV)", mux),
        row("of which: age encryption in memory", enc),
        row("reference: `ffmpeg -c copy` remux to fragmented MP4 (process incl. start-up)", copy),
        row("reference: plain write + fsync of the same bytes in 2 s files", plain),
        "",
        f"Kit pipeline: **{ours / 60 * 100:.2f} % of one core** (target < 2 %); "
        f"{ours / ffmpeg:.2f}× the CPU of an `ffmpeg -c copy` remux, "
        f"{ours / max(plain_cpu, 1e-9):.1f}× a plain write of the same bytes.",
    ]
    return "\n".join(lines) + "\n"
