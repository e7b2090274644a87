"""Playlists, decrypted segments with Range, whole-recording view, and
requests for paths or recordings that are not the person's."""

from __future__ import annotations

import io
import subprocess

import av
import pytest

from appliance import age
from ui_helpers import unlock
from ui_recording import PASSPHRASES


@pytest.fixture
def anna(client, kit):
    assert unlock(client, kit).status_code == 302
    return client


def anna_identity(kit):
    wrapped = (kit.data_dir / "identities" / f"{kit.people['Anna']['id']}.age").read_bytes()
    return age.unwrap_identity(wrapped, PASSPHRASES["Anna"])


def test_playlist_from_catalogue(anna, kit):
    response = anna.get(f"/media/{kit.own_recording}/playlist.m3u8")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.apple.mpegurl"
    text = response.get_data(as_text=True)
    assert '#EXT-X-MAP:URI="init.mp4"' in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    files = sorted(p.name for p in (kit.data_dir / "recordings" / kit.own_recording).glob("seg-*.m4s.age"))
    assert [l for l in text.splitlines() if l.startswith("seg-")] == [f[:-4] for f in files]
    durations = [float(l[8:].rstrip(",")) for l in text.splitlines() if l.startswith("#EXTINF:")]
    assert sum(durations) == pytest.approx(kit.own_duration_s, abs=0.01)


def test_segment_is_decrypted_like_the_age_cli_does(anna, kit, tmp_path):
    key = tmp_path / "key.txt"
    key.write_text(str(anna_identity(kit)) + "\n")
    seg = kit.data_dir / "recordings" / kit.own_recording / "seg-000002.m4s.age"
    expected = subprocess.run(["age", "-d", "-i", str(key), str(seg)], check=True, capture_output=True).stdout
    response = anna.get(f"/media/{kit.own_recording}/seg-000002.m4s")
    assert response.status_code == 200
    assert response.data == expected
    assert response.headers["Accept-Ranges"] == "bytes"


def test_range_requests(anna, kit):
    url = f"/media/{kit.own_recording}/seg-000001.m4s"
    whole = anna.get(url).data
    last = len(whole) - 50
    part = anna.get(url, headers={"Range": f"bytes=100-{last}"})
    assert part.status_code == 206
    assert part.data == whole[100:last + 1]
    assert part.headers["Content-Range"] == f"bytes 100-{last}/{len(whole)}"
    tail = anna.get(url, headers={"Range": "bytes=-10"})
    assert tail.data == whole[-10:]
    assert anna.get(url, headers={"Range": f"bytes={len(whole)}-"}).status_code == 416


def test_full_recording_is_a_playable_mp4_with_ranges(anna, kit):
    url = f"/media/{kit.own_recording}/full.mp4"
    whole = anna.get(url).data
    with av.open(io.BytesIO(whole)) as container:
        kinds = {s.type for s in container.streams}
        frames = sum(1 for _ in container.decode(video=0))
    assert kinds == {"video", "audio"}
    assert frames >= 25 * kit.own_duration_s
    middle = anna.get(url, headers={"Range": "bytes=70000-200000"})
    assert middle.status_code == 206 and middle.data == whole[70000:200001]


@pytest.mark.parametrize("path", [
    "/media/../catalogue.db/init.mp4",
    "/media/..%2Fcatalogue.db/init.mp4",
    "/media/%2e%2e/init.mp4",
    "/media/REC/..%2F..%2Fidentities/init.mp4",
    "/media/REC/seg-0.m4s",
    "/media/REC/seg-999.m4s",
    "/media/REC/seg--1.m4s",
    "/media/REC/../../identities/x.age",
    "/media/REC%2F..%2F..%2Fcatalogue.db/init.mp4",
    "/export/..%2F..%2Fcatalogue.db/annotations.csv",
    "/api/recordings/..%2Fr/annotations",
])
def test_traversal_and_unknown_segments_refused(anna, kit, path):
    response = anna.get(path.replace("REC", kit.own_recording))
    assert response.status_code in (400, 404), (path, response.status_code)
    assert b"SQLite format" not in response.data and b"age-encryption" not in response.data


def test_foreign_recording_refused_everywhere(anna, kit):
    foreign = kit.foreign_recording
    for url in (f"/recordings/{foreign}", f"/media/{foreign}/playlist.m3u8", f"/media/{foreign}/init.mp4",
                f"/media/{foreign}/seg-000001.m4s", f"/media/{foreign}/full.mp4",
                f"/api/recordings/{foreign}", f"/api/recordings/{foreign}/annotations",
                f"/export/{foreign}/annotations.vtt", f"/recordings/{foreign}/stats"):
        assert anna.get(url).status_code == 404, url
    ids = [r["id"] for r in anna.get("/api/recordings").get_json()]
    assert ids == [kit.own_recording]


def test_coach_sees_both_recordings(client, kit):
    unlock(client, kit, "Bram")
    ids = {r["id"] for r in client.get("/api/recordings").get_json()}
    assert ids == {kit.own_recording, kit.foreign_recording}
    assert client.get(f"/media/{kit.foreign_recording}/init.mp4").status_code == 200


def test_damaged_segment_gives_a_clear_error(anna, kit):
    path = kit.data_dir / "recordings" / kit.own_recording / "seg-000003.m4s.age"
    data = bytearray(path.read_bytes())
    data[-40] ^= 0xFF
    path.write_bytes(bytes(data))
    response = anna.get(f"/media/{kit.own_recording}/seg-000003.m4s")
    # The header opens, the last chunk is checked on open: a clear refusal, not a crash mid-stream.
    assert response.status_code == 500
    assert "damaged" in response.get_json()["error"] or "beschadigd" in response.get_json()["error"]
    assert anna.get(f"/media/{kit.own_recording}/seg-000004.m4s").status_code == 200
