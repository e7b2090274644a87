"""Each recording gets a thumbnail for Opnames, made from a keyframe while
recording and sealed to the recipients like the footage; nothing of it is
ever on the disk unencrypted."""

from __future__ import annotations

import io
import json
import os
import subprocess

from appliance import age
from appliance.camera import SimulatedCamera
from appliance.footage import thumbnail
from appliance.footage.plaintext_scan import scan_for_plaintext_media


def jpeg_size(jpeg: bytes) -> tuple[int, int]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", "-"],
                         input=jpeg, capture_output=True, check=True).stdout
    stream = json.loads(out)["streams"][0]
    assert stream["codec_name"] == "mjpeg"
    return stream["width"], stream["height"]


def test_a_recording_seals_a_thumbnail_that_only_its_recipients_open(
        tmp_path, ram_dir, identity, key_file, record_fn, decrypt_fn):
    rec = record_fn(tmp_path / "r", [identity.recipient], media_segments=3,
                    camera=SimulatedCamera(640, 360, 30, realtime=False))
    sealed = rec.directory / thumbnail.NAME
    assert sealed.read_bytes().startswith(b"age-encryption.org/v1")
    jpeg = decrypt_fn(sealed, key_file)  # the real age CLI, into memory
    assert jpeg_size(jpeg) == (320, 180)
    assert scan_for_plaintext_media([rec.directory]) == []
    # Positive control: the same picture unencrypted is found (in memory, /dev/shm).
    leak = ram_dir / "cache" / "thumb.jpg"
    leak.parent.mkdir()
    leak.write_bytes(os.urandom(3000) + jpeg + os.urandom(3000))
    assert [h.kind for h in scan_for_plaintext_media([leak])] == ["jpeg"]
    other = age.generate_identity()
    key = ram_dir / "other.txt"
    key.write_text(f"{other}\n")
    refused = subprocess.run(["age", "-d", "-i", str(key), str(sealed)], capture_output=True)
    assert refused.returncode != 0 and b"no identity matched" in refused.stderr


def test_a_lesson_shorter_than_the_wait_gets_the_first_keyframe(tmp_path, identity, key_file, record_fn, decrypt_fn):
    rec = record_fn(tmp_path / "r", [identity.recipient], media_segments=1)
    assert jpeg_size(decrypt_fn(rec.directory / thumbnail.NAME, key_file)) == (320, 240)


def test_a_360_thumbnail_is_the_front_half_of_the_sphere(tmp_path, identity, key_file, record_fn, decrypt_fn):
    camera = SimulatedCamera(768, 384, 30, realtime=False, projection="equirectangular")
    rec = record_fn(tmp_path / "r", [identity.recipient], media_segments=2, camera=camera)
    assert jpeg_size(decrypt_fn(rec.directory / thumbnail.NAME, key_file)) == (320, 320)


def test_a_thumbnail_that_fails_costs_the_lesson_nothing(tmp_path, identity, record_fn, monkeypatch, caplog):
    def broken(keyframe, projection="flat"):
        raise ValueError("the keyframe holds no picture")

    monkeypatch.setattr(thumbnail, "thumbnail_jpeg", broken)
    rec = record_fn(tmp_path / "r", [identity.recipient], media_segments=3)
    assert rec.errors == [] and rec.summary.segments >= 3
    assert not (rec.directory / thumbnail.NAME).exists()
    assert not list(rec.directory.glob("*.partial"))
    assert "no thumbnail for this recording" in caplog.text


def test_the_scanner_is_quiet_on_a_sealed_thumbnail_and_random_bytes(tmp_path, identity):
    camera = SimulatedCamera(320, 180, realtime=False)
    camera.start()
    key = next(p for p in camera.packets() if p.kind == "video" and p.keyframe)
    camera.stop()
    out = io.BytesIO()
    with age.Encryptor(out, [identity.recipient]) as w:
        w.write(thumbnail.thumbnail_jpeg(key.data))
    sealed = tmp_path / "thumb.jpg.age"
    sealed.write_bytes(out.getvalue())
    noise = tmp_path / "noise.bin"
    noise.write_bytes(os.urandom(32 << 20))
    assert scan_for_plaintext_media([sealed, noise]) == []
