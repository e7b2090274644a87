"""No plaintext audio or video reaches the disk while recording."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

from appliance import age
from appliance.footage.plaintext_scan import scan_for_plaintext_media

RECORD_SCRIPT = textwrap.dedent("""
    import sys, threading
    from appliance import age
    from appliance.camera import SimulatedCamera
    from appliance.footage.recorder import SegmentRecorder

    recipient = age.parse_recipient(sys.argv[2])
    done = threading.Event()
    recorder = SegmentRecorder(SimulatedCamera(640, 360, 30, realtime=False))
    recorder.start(sys.argv[1], [recipient],
                   on_segment=lambda s: s.index >= 3 and done.set(),
                   on_error=lambda e: (print(e), sys.exit(3)))
    assert done.wait(120)
    print(recorder.stop())
""")


def test_recording_leaves_no_plaintext_in_data_temp_or_home(tmp_path, identity):
    data, temp, home = tmp_path / "data", tmp_path / "tmp", tmp_path / "home"
    for d in (data, temp, home):
        d.mkdir()
    # A separate process whose temp and cache locations are ours to inspect.
    env = dict(os.environ, TMPDIR=str(temp), HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    result = subprocess.run(
        [sys.executable, "-c", RECORD_SCRIPT, str(data / "recordings" / "r1"), str(identity.recipient)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "segments=" in result.stdout
    written = list((data / "recordings" / "r1").iterdir())
    assert len(written) >= 4
    assert scan_for_plaintext_media([data, temp, home]) == []


def test_scanner_finds_an_unencrypted_recording(tmp_path, ram_dir, identity, key_file, record_fn,
                                                decrypt_recording_fn):
    # The deliberate leak goes to memory (/dev/shm), not to the disk.
    rec = record_fn(tmp_path / "r", [identity.recipient], media_segments=2)
    plain = decrypt_recording_fn(rec.directory, key_file)
    leak = ram_dir / "leak" / "deep" / "lesson.mp4"
    leak.parent.mkdir(parents=True)
    leak.write_bytes(plain)
    kinds = {hit.kind for hit in scan_for_plaintext_media([ram_dir, rec.directory])}
    assert {"mp4:ftyp", "mp4:moov", "mp4:moof", "mp4:mdat"} <= kinds
    # And in the middle of an unrelated file, e.g. a segment copied into a cache.
    leak.write_bytes(os.urandom(5000) + plain[-200_000:] + os.urandom(5000))
    assert {"mp4:moof", "mp4:mdat"} & {h.kind for h in scan_for_plaintext_media([leak])}


def test_scanner_finds_raw_h264(ram_dir):
    import av

    from appliance.camera import SimulatedCamera

    camera = SimulatedCamera(160, 96, realtime=False, audio=False)
    camera.start()
    stream = io.BytesIO()
    for n, packet in enumerate(camera.packets()):
        stream.write(packet.data)
        if n == 10:
            camera.stop()
    raw = ram_dir / "dump.h264"
    raw.write_bytes(stream.getvalue())
    kinds = {hit.kind for hit in scan_for_plaintext_media([raw])}
    assert {"h264:sps", "h264:slices"} <= kinds
    # Sanity: that dump really is H.264 that FFmpeg decodes.
    with av.open(str(raw), format="h264") as container:
        assert sum(1 for _ in container.decode(video=0)) >= 10


def test_scanner_is_quiet_on_ciphertext_of_the_same_media(tmp_path, identity, key_file, record_fn,
                                                           decrypt_recording_fn):
    rec = record_fn(tmp_path / "r", [identity.recipient], media_segments=2)
    plain = decrypt_recording_fn(rec.directory, key_file)
    out = io.BytesIO()
    with age.Encryptor(out, [identity.recipient]) as w:
        w.write(plain)
    sealed = tmp_path / "sealed.age"  # ciphertext only
    sealed.write_bytes(out.getvalue())
    assert scan_for_plaintext_media([sealed, rec.directory]) == []
