"""A 360° lesson through the review app's HTTP surface: the player page
carries the viewer, the downloads stay 360° (ffprobe reads the projection),
a clip keeps a checked view direction, and its flat view is cut on the kit."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from ui import create_app
from ui.config import TestingConfig
from ui_helpers import ADMIN_PASSWORD, csrf_of, login_admin, unlock


@pytest.fixture
def anna(sphere_kit):
    kit, recording = sphere_kit
    app = create_app(controller=None, data_dir=kit.data_dir, config=TestingConfig(admin_password=ADMIN_PASSWORD))
    client = app.test_client()
    unlock(client, kit)
    client.csrf = csrf_of(client)
    client.recording = recording
    client.kit = kit
    return client


def video_stream(mp4: bytes) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_streams", "-of", "json", "-"],
                         input=mp4, capture_output=True, check=True).stdout
    return json.loads(out)["streams"][0]


def projection(mp4: bytes) -> str | None:
    found = [d.get("projection") for d in video_stream(mp4).get("side_data_list", [])
             if d.get("side_data_type") == "Spherical Mapping"]
    return found[0] if found else None


def new_clip(anna, **extra):
    body = {"in": 2.0, "out": 4.0, "kind": "pearl", "title": "Kring", **extra}
    return anna.post(f"/api/recordings/{anna.recording}/clips", json=body, headers={"X-CSRF-Token": anna.csrf})


def test_the_player_page_of_a_360_lesson_carries_the_viewer_and_its_keys(anna):
    page = anna.get(f"/recordings/{anna.recording}").get_data(as_text=True)
    assert 'id="sphere"' in page and "vendor/psv/" in page and "vendor/psv/core.css" in page
    assert "Beeld terugzetten" in page and '"look:left"' in page
    flat = anna.get(f"/recordings/{anna.kit.own_recording}").get_data(as_text=True)
    assert 'id="sphere"' not in flat and "look:left" not in flat and "psv" not in flat


def test_opnames_marks_the_360_lesson(anna):
    page = anna.get("/library").get_data(as_text=True)
    rows = [row for row in page.split("<li ") if 'class="rec ' in row]
    assert [row for row in rows if anna.recording in row and ">360°</span>" in row]
    assert not [row for row in rows if anna.kit.own_recording in row and "360°" in row]


def test_the_vendored_viewer_imports_nothing_from_outside_the_kit(anna):
    for name in ("core.js", "video-plugin.js", "equirectangular-video-adapter.js", "three.module.min.js"):
        response = anna.get(f"/static/vendor/psv/{name}")
        assert response.status_code == 200, name
        text = response.get_data(as_text=True)
        sources = re.findall(r'(?:^|[;\n])\s*(?:import|export)\s*[^;"\']*?\bfrom\s*"([^"]+)"', text)
        assert sources and all(s.startswith("./") for s in sources), (name, sources)


def test_the_full_download_and_a_clip_stay_360_degrees(anna):
    full = anna.get(f"/media/{anna.recording}/full.mp4?download=1")
    assert full.status_code == 200 and projection(full.data) == "equirectangular"
    clip = new_clip(anna).get_json()
    mp4 = anna.get(f"/export/{anna.recording}/clips/{clip['id']}.mp4")
    assert mp4.status_code == 200 and projection(mp4.data) == "equirectangular"
    assert (video_stream(mp4.data)["width"], video_stream(mp4.data)["height"]) == (768, 384)


def test_a_clip_keeps_its_view_and_exports_the_flat_picture_there(anna):
    clip = new_clip(anna, view={"yaw": 90, "pitch": 0, "fov": 70}).get_json()
    assert clip["view"] == {"yaw": 90.0, "pitch": 0.0, "fov": 70.0}
    changed = anna.patch(f"/api/recordings/{anna.recording}/clips/{clip['id']}",
                         json={"view": {"yaw": -90, "pitch": 10, "fov": 60}}, headers={"X-CSRF-Token": anna.csrf})
    assert changed.status_code == 200 and changed.get_json()["view"]["yaw"] == -90.0
    flat = anna.get(f"/export/{anna.recording}/clips/{clip['id']}.view.mp4")
    assert flat.status_code == 200 and flat.mimetype == "video/mp4"
    assert "beeld.mp4" in flat.headers["Content-Disposition"]
    stream = video_stream(flat.data)
    assert (stream["width"], stream["height"]) == (1280, 720) and projection(flat.data) is None
    part = anna.get(f"/export/{anna.recording}/clips/{clip['id']}.view.mp4", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == flat.data[:100]
    page = anna.get(f"/recordings/{anna.recording}/clips").get_data(as_text=True)
    assert "Vlak beeld downloaden (MP4)" in page


@pytest.mark.parametrize("view, message", [
    ({"yaw": 181, "pitch": 0, "fov": 70}, "yaw"),
    ({"yaw": 0, "pitch": -91, "fov": 70}, "pitch"),
    ({"yaw": 0, "pitch": 0, "fov": 5}, "fov"),
    ({"yaw": "90", "pitch": 0, "fov": 70}, "yaw"),
    ({"yaw": 0, "pitch": 0}, "yaw, pitch and fov"),
    ({"yaw": 0, "pitch": 0, "fov": 70, "roll": 3}, "yaw, pitch and fov"),
    ([90, 0, 70], "yaw, pitch and fov"),
])
def test_a_hostile_view_is_a_400_that_says_what_is_wrong_and_changes_nothing(anna, view, message):
    response = new_clip(anna, view=view)
    assert response.status_code == 400 and message in response.get_json()["error"]
    clips = anna.get(f"/api/recordings/{anna.recording}/annotations").get_json()["clips"]
    assert clips == []


def test_a_flat_lesson_has_no_flat_view_export(anna):
    rec = anna.kit.own_recording
    clip = anna.post(f"/api/recordings/{rec}/clips", json={"in": 1, "out": 2, "kind": "pearl"},
                     headers={"X-CSRF-Token": anna.csrf}).get_json()
    assert anna.get(f"/export/{rec}/clips/{clip['id']}.view.mp4").status_code == 404


def test_the_admin_and_another_teacher_cannot_reach_the_flat_view(sphere_kit):
    kit, recording = sphere_kit
    app = create_app(controller=None, data_dir=kit.data_dir, config=TestingConfig(admin_password=ADMIN_PASSWORD))
    anna = app.test_client()
    unlock(anna, kit)
    clip = anna.post(f"/api/recordings/{recording}/clips", json={"in": 1, "out": 2, "kind": "pearl"},
                     headers={"X-CSRF-Token": csrf_of(anna)}).get_json()
    url = f"/export/{recording}/clips/{clip['id']}.view.mp4"
    assert anna.get(url).status_code == 200  # positive control
    admin = app.test_client()
    login_admin(admin)
    assert admin.get(url).status_code == 403
    cor = app.test_client()
    unlock(cor, kit, "Cor")
    assert cor.get(url).status_code == 404
