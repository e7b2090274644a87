"""Fixtures for the footage tests: keys, a quick recorder run, the real age CLI.

Decrypted media only ever goes to ``ram_dir`` (a directory on /dev/shm,
which is memory), never to the disk, even in tests.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Callable

import pytest

from appliance import age
from appliance.camera import SimulatedCamera
from appliance.footage import store
from appliance.footage.recorder import RecordingSummary, SealedSegment, SegmentRecorder

AGE = shutil.which("age") or "/usr/bin/age"


@pytest.fixture
def identity() -> age.X25519Identity:
    return age.generate_identity()


@pytest.fixture
def key_file(identity, ram_dir: Path) -> Path:
    path = ram_dir / "key.txt"
    path.write_text(f"# test identity\n{identity}\n")
    return path


@pytest.fixture
def ram_dir() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="footage-test-", dir="/dev/shm"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def age_decrypt(path: Path, key_file: Path) -> bytes:
    """Decrypt with the real ``age`` command; output stays in memory."""
    result = subprocess.run([AGE, "-d", "-i", str(key_file), str(path)], capture_output=True, check=False)
    assert result.returncode == 0, f"age -d failed for {path.name}: {result.stderr.decode()}"
    return result.stdout


class Recording:
    def __init__(self, directory: Path, segments: list[SealedSegment], summary: RecordingSummary,
                 errors: list, bytes_per_second: float) -> None:
        self.bytes_per_second = bytes_per_second
        self.directory = directory
        self.segments = segments
        self.summary = summary
        self.errors = errors


def record(
    directory: Path,
    recipients: list,
    media_segments: int = 3,
    camera: SimulatedCamera | None = None,
    segment_seconds: float = 2.0,
) -> Recording:
    """Record with a fast simulated camera until ``media_segments`` are sealed, then stop."""
    camera = camera or SimulatedCamera(320, 240, 30, realtime=False)
    recorder = SegmentRecorder(camera, segment_seconds=segment_seconds)
    sealed: list[SealedSegment] = []
    errors: list = []
    enough = threading.Event()

    def on_segment(segment: SealedSegment) -> None:
        sealed.append(segment)
        if segment.index >= media_segments:
            enough.set()

    def on_error(error) -> None:
        errors.append(error)
        enough.set()

    recorder.start(directory, recipients, on_segment=on_segment, on_error=on_error)
    assert enough.wait(120), "the recorder sealed too few segments"
    summary = recorder.stop()
    return Recording(directory, sealed, summary, errors, recorder.bytes_per_second)


@pytest.fixture
def record_fn() -> Callable[..., Recording]:
    return record


@pytest.fixture
def decrypt_fn() -> Callable[[Path, Path], bytes]:
    return age_decrypt


def decrypt_recording(directory: Path, key_file: Path) -> bytes:
    return b"".join(age_decrypt(p, key_file) for p in store.list_segments(directory))


@pytest.fixture
def decrypt_recording_fn() -> Callable[[Path, Path], bytes]:
    return decrypt_recording
