"""Shared helpers for the kit tests: people with real keys, decrypting with the age CLI."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Callable

from appliance import age
from appliance.catalogue import Catalogue
from appliance.config import KitConfig
from appliance.consent import Consents, consent_key, public_key_hex

AGE = "/usr/bin/age"
FFPROBE = "/usr/bin/ffprobe"
# A low scrypt work factor keeps the tests quick; the kit uses age's default.
TEST_WORK_FACTOR = 10


def small_config(data_dir: Path, **changes) -> KitConfig:
    """A simulated kit with a tiny camera and short button holds."""
    values = dict(
        data_dir=data_dir, simulate=True, width=160, height=96, fps=15, realtime=True,
        stop_hold_s=0.4, shutdown_hold_s=1.0, min_minutes_left=0.0, reserve_bytes=0,
        serve_review=False,
    )
    values.update(changes)
    return KitConfig(**values)


def add_people(catalogue: Catalogue, key_dir: Path, assign: bool = True) -> dict[str, Path]:
    """A teacher and a coach enrolled on the kit; their plain identity files (for the age CLI) in key_dir.

    With ``assign`` they are the kit's pair, confirmed by Anna and accepted
    by Bram with their own keys, so the kit records for them.
    """
    keys, identities, rows = {}, {}, {}
    for name, role in (("Anna", "teacher"), ("Bram", "coach")):
        identity = age.generate_identity()
        rows[role] = catalogue.add_person(name, role, str(identity.recipient),
                                          signing_key=public_key_hex(consent_key(identity)))
        identities[role] = identity
        key_file = key_dir / f"{name}.key"
        key_file.write_text(str(identity) + "\n")
        keys[role] = key_file
    if assign:
        catalogue.assign("Anna", "Bram")
        Consents(catalogue).confirm_pair(rows["teacher"]["id"], rows["coach"]["id"],
                                         identities["teacher"], identities["coach"])
    return keys


def confirm_pair(catalogue: Catalogue, keys: dict[str, Path]) -> None:
    """Anna confirms Bram and Bram accepts, each with the identity in their key file."""
    teacher, coach = catalogue.find_person("Anna"), catalogue.find_person("Bram")
    Consents(catalogue).confirm_pair(teacher["id"], coach["id"], age.read_identities(keys["teacher"])[0],
                                     age.read_identities(keys["coach"])[0])


def decrypt_recording(directory: Path, key_file: Path) -> bytes:
    """init + segments decrypted with the real age CLI, concatenated (a playable MP4)."""
    files = sorted(directory.glob("seg-*.m4s.age"))
    parts = []
    for path in [directory / "init.mp4.age", *files]:
        result = subprocess.run([AGE, "-d", "-i", str(key_file), str(path)],
                                capture_output=True, check=True)
        parts.append(result.stdout)
    return b"".join(parts)


def probe(mp4: bytes) -> dict:
    """ffprobe over a pipe (the plaintext never touches the disk)."""
    result = subprocess.run(
        [FFPROBE, "-v", "error", "-show_streams", "-show_format", "-of", "json", "-"],
        input=mp4, capture_output=True, check=True,
    )
    return json.loads(result.stdout)


def decoded_seconds(mp4: bytes) -> dict[str, float]:
    """Seconds of decodable video and audio (PyAV decodes every frame)."""
    import io

    import av

    seconds = {"video": 0.0, "audio": 0.0}
    with av.open(io.BytesIO(mp4)) as container:
        for frame in container.decode(*container.streams):
            kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
            end = float(frame.pts * frame.time_base)
            if kind == "audio":
                end += frame.samples / frame.sample_rate
            seconds[kind] = max(seconds[kind], end)
    return seconds


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def pin_history(pin) -> list[bool]:
    """The distinct successive states a mock output pin went through."""
    states = [bool(s.state) for s in pin.states]
    return [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]


