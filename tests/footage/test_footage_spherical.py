"""A 360° recording is marked as one: every player, and ffprobe, sees the projection.

The simulated 360° camera films the virtual classroom in a 2:1 picture;
the recorder adds Spherical Video V2 boxes to the init segment, so the
decrypted MP4 (init + segments, as `age -d` gives them) is a 360° video.
A flat recording carries none.
"""

from __future__ import annotations

import json
import subprocess

import av
import pytest

from appliance.camera import SimulatedCamera
from appliance.camera.room_scene import RoomScene
from appliance.footage.mp4boxes import iter_boxes
from appliance.footage import spherical
from appliance.footage.store import list_segments

from footage_probe import decode_all


def side_data(mp4: bytes) -> list[dict]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-select_streams", "v", "-i", "pipe:0"],
        input=mp4, capture_output=True, check=True,
    )
    return json.loads(result.stdout)["streams"][0].get("side_data_list", [])


def test_a_360_recording_decrypts_to_an_mp4_that_ffprobe_reads_as_equirectangular(
        ram_dir, identity, key_file, record_fn, decrypt_recording_fn):
    camera = SimulatedCamera(384, 192, 30, realtime=False, projection="equirectangular")
    rec = record_fn(ram_dir / "r", [identity.recipient], media_segments=2, camera=camera)
    assert not rec.errors
    mp4 = decrypt_recording_fn(rec.directory, key_file)
    mapping = [d for d in side_data(mp4) if d.get("side_data_type") == "Spherical Mapping"]
    assert mapping and mapping[0]["projection"] == "equirectangular", side_data(mp4)
    # The boxes did not break the file: every frame still decodes, at 2:1.
    probe = decode_all(mp4)
    assert (probe.width, probe.height) == (384, 192) and probe.frames["video"] >= 100


def test_a_flat_recording_carries_no_projection(ram_dir, identity, key_file, record_fn, decrypt_recording_fn):
    rec = record_fn(ram_dir / "r", [identity.recipient], media_segments=1)
    mp4 = decrypt_recording_fn(rec.directory, key_file)
    assert not [d for d in side_data(mp4) if d.get("side_data_type") == "Spherical Mapping"]
    assert spherical.projection_of(mp4) == "flat"


def test_marking_a_whole_mp4_keeps_its_media_where_the_chunk_offsets_say(ram_dir):
    """An MP4 with its moov before the media (faststart, as exports are) has
    absolute chunk offsets: inserting boxes must move them too."""
    path = ram_dir / "faststart.mp4"  # faststart rewrites its output: a file, in memory
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as dst:
        stream = dst.add_stream("libx264", rate=30, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 128, 64, "yuv420p"
        scene = RoomScene(128, 64)
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(scene.frame(i, "1"), format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)
    plain = path.read_bytes()
    kinds = [kind for kind, _body, _end in iter_boxes(plain)]
    assert kinds.index("moov") < kinds.index("mdat")
    marked = spherical.add_equirectangular(plain)
    assert spherical.projection_of(marked) == "equirectangular"
    assert [d["projection"] for d in side_data(marked) if d.get("side_data_type") == "Spherical Mapping"] == ["equirectangular"]
    assert decode_all(marked).frames["video"] == decode_all(plain).frames["video"] == 30


def test_an_mp4_without_video_cannot_be_marked():
    with pytest.raises(ValueError, match="no video"):
        spherical.add_equirectangular(b"\x00\x00\x00\x10ftypisom\x00\x00\x02\x00")


@pytest.mark.parametrize("gop_s, segment_s, expected", [(1.0, 2.0, 2.0), (4.0, 2.0, 4.0)])
def test_segments_follow_a_camera_gop_that_is_not_two_seconds(
        ram_dir, identity, key_file, record_fn, decrypt_recording_fn, gop_s, segment_s, expected):
    """A Theta keyframes at its own interval: with a 1 s GOP two GOPs make a
    2 s segment, with a 4 s GOP each segment is one 4 s GOP; both decode."""
    camera = SimulatedCamera(192, 96, 30, realtime=False, keyframe_seconds=gop_s, projection="equirectangular")
    rec = record_fn(ram_dir / "r", [identity.recipient], media_segments=3, camera=camera,
                    segment_seconds=segment_s)
    media = [s for s in rec.segments if s.index > 0]
    full = media[:3]
    assert [round(s.duration_s, 2) for s in full] == [expected] * 3
    assert [round(s.start_s, 2) for s in full] == [0.0, expected, 2 * expected]
    assert len(list_segments(rec.directory)) == len(rec.segments)
    probe = decode_all(decrypt_recording_fn(rec.directory, key_file))
    assert probe.end_s["video"] >= 3 * expected - 0.05


def _centre_rgb(mp4: bytes) -> tuple[int, int, int]:
    import io
    import numpy as np
    with av.open(io.BytesIO(mp4)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    h, w, _ = frame.shape
    patch = frame[h // 2 - 8:h // 2 + 8, w // 2 - 8:w // 2 + 8].reshape(-1, 3)
    return tuple(int(v) for v in np.median(patch, axis=0))


def test_a_360_clip_exports_as_360_and_as_the_flat_view_its_direction_chose(
        ram_dir, identity, key_file, record_fn, decrypt_recording_fn):
    """The flat export looks where the clip's view says: east is the door
    (brown), north the board (green); the 360° export stays 360°."""
    from appliance.footage.clip import FLAT_VIEW_SIZE, cut

    camera = SimulatedCamera(768, 384, 30, realtime=False, projection="equirectangular")
    rec = record_fn(ram_dir / "r", [identity.recipient], media_segments=2, camera=camera)
    mp4 = decrypt_recording_fn(rec.directory, key_file)

    whole = cut(mp4, 1.0, 2.0)
    assert spherical.projection_of(whole) == "equirectangular"
    assert ["equirectangular"] == [d["projection"] for d in side_data(whole) if d.get("side_data_type") == "Spherical Mapping"]

    board = cut(mp4, 1.0, 2.0, view={"yaw": 0, "pitch": 5, "fov": 60})
    door = cut(mp4, 1.0, 2.0, view={"yaw": 90, "pitch": 0, "fov": 60})
    for flat in (board, door):
        assert spherical.projection_of(flat) == "flat" and not side_data(flat)
        probe = decode_all(flat)
        assert (probe.width, probe.height) == FLAT_VIEW_SIZE
        assert probe.frames["video"] == decode_all(whole).frames["video"]
    r, g, b = _centre_rgb(board)
    assert g > r + 40 and g > b + 40, (r, g, b)        # the green chalkboard
    r, g, b = _centre_rgb(door)
    assert r > g + 40 and r > b + 40, (r, g, b)        # the brown door


def test_a_flat_recording_has_no_view_to_cut(ram_dir, identity, key_file, record_fn, decrypt_recording_fn):
    from appliance.footage.clip import ClipError, cut

    rec = record_fn(ram_dir / "r", [identity.recipient], media_segments=1)
    with pytest.raises(ClipError, match="only a 360° recording"):
        cut(decrypt_recording_fn(rec.directory, key_file), 0.0, 1.0, view={"yaw": 0, "pitch": 0, "fov": 60})
