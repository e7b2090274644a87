"""A simulated recording, decrypted with the real age CLI, is a playable MP4."""

from __future__ import annotations

import struct

import pytest

from appliance.footage import store
from appliance.footage.mp4boxes import base_decode_times, iter_boxes
from appliance.footage.recorder import SegmentRecorder
from appliance.camera import SimulatedCamera
from appliance.errors import KitError

from footage_probe import decode_all, ffprobe_streams


@pytest.fixture
def recording(tmp_path, identity, record_fn):
    return record_fn(tmp_path / "recordings" / "r1", [identity.recipient], media_segments=3)


def test_files_are_the_sealed_segments_reported(recording):
    names = [p.name for p in store.list_segments(recording.directory)]
    assert names[0] == "init.mp4.age"
    assert names[1:] == [f"seg-{i:06d}.m4s.age" for i in range(1, len(names))]
    assert [s.index for s in recording.segments] == list(range(len(names)))
    for segment in recording.segments:
        assert segment.path.stat().st_size == segment.bytes
        assert segment.path.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert recording.summary.segments == len(names) - 1
    assert recording.summary.bytes == sum(s.bytes for s in recording.segments)
    assert not list(recording.directory.glob("*.partial"))
    assert recording.errors == []


def test_age_cli_decrypts_to_mp4_with_video_audio_and_right_duration(recording, key_file, decrypt_recording_fn):
    data = decrypt_recording_fn(recording.directory, key_file)
    streams = {s["codec_type"]: s for s in ffprobe_streams(data)}
    assert streams["video"]["codec_name"] == "h264"
    assert streams["audio"]["codec_name"] == "aac"
    assert (streams["video"]["width"], streams["video"]["height"]) == (320, 240)

    probe = decode_all(data)
    expected = recording.summary.duration_s
    assert expected >= 6.0  # three full segments at least
    assert probe.end_s["video"] == pytest.approx(expected, abs=0.05)
    assert probe.end_s["audio"] == pytest.approx(expected, abs=0.1)
    assert probe.frames["video"] == round(expected * 30)
    assert probe.frames["audio"] >= int((expected - 0.1) * 48000 / 1024)


def test_segments_are_two_second_gops_with_rising_decode_times(recording, key_file, decrypt_fn):
    media = [s for s in recording.segments if s.index > 0]
    for segment in media[:-1]:
        assert segment.duration_s == pytest.approx(2.0, abs=1 / 30)
    assert media[-1].duration_s <= 2.0 + 1 / 30
    starts = [s.start_s for s in media]
    assert starts == sorted(starts) and starts[0] == 0.0
    for before, after in zip(media, media[1:]):
        assert after.start_s == pytest.approx(before.start_s + before.duration_s, abs=1e-6)

    init = decrypt_fn(recording.segments[0].path, key_file)
    assert [kind for kind, _, _ in iter_boxes(init)] == ["ftyp", "moov"]
    previous: dict[int, int] = {}
    for segment in media:
        plain = decrypt_fn(segment.path, key_file)
        kinds = [kind for kind, _, _ in iter_boxes(plain)]
        # An HLS fMP4 segment: moof+mdat pairs only, starting with a moof.
        assert kinds[0] == "moof" and set(kinds) == {"moof", "mdat"}
        times = base_decode_times(plain)
        assert set(times) == {1, 2}
        for track, t in times.items():
            assert t > previous.get(track, -1)
        previous = times
        # Each segment starts on a keyframe: its first video sample is an IDR.
        assert _first_nal_types(plain) & {5}, "segment does not start with an IDR picture"


def _first_nal_types(fragment: bytes) -> set[int]:
    """NAL unit types in the first video sample (length-prefixed, as in MP4)."""
    for kind, body, end in iter_boxes(fragment):
        if kind == "mdat":
            types = set()
            offset = body
            # Walk a few NAL units of the first sample; the video track is muxed first.
            for _ in range(6):
                if offset + 5 > end:
                    break
                (length,) = struct.unpack_from(">I", fragment, offset)
                types.add(fragment[offset + 4] & 0x1F)
                offset += 4 + length
            return types
    return set()


def test_hls_playlist_of_decrypted_segments_plays(recording, key_file, decrypt_fn, ram_dir):
    """ffmpeg plays init + segments as an HLS fMP4 playlist, as hls.js and Safari would."""
    import subprocess

    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:3",
             "#EXT-X-PLAYLIST-TYPE:VOD", '#EXT-X-MAP:URI="init.mp4"']
    for segment in recording.segments:
        plain = decrypt_fn(segment.path, key_file)
        if segment.index == 0:
            (ram_dir / "init.mp4").write_bytes(plain)
            continue
        name = f"{segment.index}.m4s"
        (ram_dir / name).write_bytes(plain)
        lines += [f"#EXTINF:{segment.duration_s:.3f},", name]
    lines.append("#EXT-X-ENDLIST")
    (ram_dir / "index.m3u8").write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(ram_dir / "index.m3u8")],
        capture_output=True, text=True, check=True,
    )
    # ffprobe lists the stream once under the HLS program and once on its own.
    counts = {int(line) for line in result.stdout.split() if line.strip()}
    assert counts == {round(recording.summary.duration_s * 30)}


def test_open_segment_reads_the_same_plaintext_as_age(recording, identity, key_file, decrypt_fn):
    segment = recording.segments[2]
    expected = decrypt_fn(segment.path, key_file)
    with store.open_segment(segment.path, [identity]) as reader:
        assert reader.size == len(expected)
        reader.seek(len(expected) // 2)
        assert reader.read(1000) == expected[len(expected) // 2:len(expected) // 2 + 1000]
        reader.seek(0)
        assert reader.read() == expected


def test_two_recipients_each_decrypt(tmp_path, record_fn, decrypt_fn, ram_dir):
    from appliance import age

    teacher, coach, stranger = age.generate_identity(), age.generate_identity(), age.generate_identity()
    rec = record_fn(tmp_path / "r", [teacher.recipient, coach.recipient], media_segments=1)
    for who in (teacher, coach):
        key = ram_dir / "k.txt"
        key.write_text(f"{who}\n")
        assert decrypt_fn(rec.segments[1].path, key).startswith(b"\x00")
    with pytest.raises(age.NoIdentityMatch):
        store.open_segment(rec.segments[1].path, [stranger])


def test_start_without_recipients_is_a_clear_error(tmp_path):
    recorder = SegmentRecorder(SimulatedCamera(160, 96, realtime=False))
    with pytest.raises(KitError, match="no recipients"):
        recorder.start(tmp_path, [])
    assert not recorder.recording


def test_bitrate_estimate_is_nominal_before_and_measured_after(recording):
    camera = SimulatedCamera(320, 240, realtime=False, bitrate=400_000)
    recorder = SegmentRecorder(camera)
    assert recorder.bytes_per_second == pytest.approx((400_000 + 64_000) / 8 * 1.02)
    measured = recording.summary.bytes / recording.summary.duration_s
    assert recording.bytes_per_second == pytest.approx(measured)
