"""Opnames shows each lesson's thumbnail, decrypted for the person who
unlocked and for nobody else; a lesson without one shows a blank tile."""

from __future__ import annotations

import subprocess

from appliance.footage import thumbnail
from ui_helpers import login_admin, unlock


def test_opnames_shows_the_thumbnail_the_recording_sealed(client, kit):
    unlock(client, kit)
    page = client.get("/library").get_data(as_text=True)
    assert f'src="/media/{kit.own_recording}/thumb.jpg"' in page and 'loading="lazy"' in page
    image = client.get(f"/media/{kit.own_recording}/thumb.jpg")
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert image.headers["Cache-Control"] == "no-store"
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width", "-of", "csv=p=0", "-"],
                           input=image.data, capture_output=True, check=True).stdout.decode().strip()
    assert probe == "mjpeg,320"


def test_a_lesson_without_a_thumbnail_shows_a_blank_tile(client, kit):
    (kit.data_dir / "recordings" / kit.own_recording / thumbnail.NAME).unlink()
    unlock(client, kit)
    page = client.get("/library").get_data(as_text=True)
    assert f"/media/{kit.own_recording}/thumb.jpg" not in page and 'class="thumb none"' in page
    assert client.get(f"/media/{kit.own_recording}/thumb.jpg").status_code == 404


def test_nobody_else_gets_the_picture(app, kit):
    anna = app.test_client()
    unlock(anna, kit)
    assert anna.get(f"/media/{kit.own_recording}/thumb.jpg").status_code == 200  # positive control
    assert anna.get(f"/media/{kit.foreign_recording}/thumb.jpg").status_code == 404  # Cor's lesson
    cor = app.test_client()
    unlock(cor, kit, "Cor")
    assert cor.get(f"/media/{kit.own_recording}/thumb.jpg").status_code == 404
    admin = app.test_client()
    login_admin(admin)
    assert admin.get(f"/media/{kit.own_recording}/thumb.jpg").status_code == 403
    assert app.test_client().get(f"/media/{kit.own_recording}/thumb.jpg").status_code in (302, 401)


def test_a_damaged_thumbnail_is_a_clear_error_not_a_crash(client, kit):
    path = kit.data_dir / "recordings" / kit.own_recording / thumbnail.NAME
    path.write_bytes(path.read_bytes()[:60])
    unlock(client, kit)
    response = client.get(f"/media/{kit.own_recording}/thumb.jpg")
    # As for a damaged segment: the kit's fault, said in words; the page still works.
    assert response.status_code == 500 and "beschadigd" in response.get_json()["error"]
    assert client.get("/library").status_code == 200
