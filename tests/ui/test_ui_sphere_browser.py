"""A 360° lesson in real Chromium: the sphere viewer shows it, a drag turns
the view (the board moves across the picture), coding and clip marking work
as for flat video, and a clip turns the view back where it looked, after a
reload too. WebGL runs on Chromium's software renderer (SwiftShader)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from ui import create_app
from ui.config import TestingConfig
from ui_recording import PASSPHRASES
from ui_server import chromium, serve

pytestmark = pytest.mark.browser
import playwright.sync_api  # noqa: F401 (a test dependency: missing, the run fails rather than skips)

from test_ui_review_browser import wait_js

SHOTS = Path(os.environ.get("REVIEW_SHOTS", "/tmp/review-shots"))


@pytest.fixture(scope="module")
def webgl_browser():
    with chromium(webgl=True) as b:
        yield b


@pytest.fixture
def sphere_site(sphere_kit):
    app = create_app(data_dir=sphere_kit[0].data_dir, config=TestingConfig())
    with serve(app) as base:
        yield base


def _open(browser, site, person, width=1280, height=800, who="Anna"):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(site + "/unlock")
    page.select_option("#person", person["id"])
    page.fill("#passphrase", PASSPHRASES[who])
    page.click("#unlock-button")
    page.wait_for_url(site + "/library")
    return context, page, errors


def _board_x(png: bytes) -> float:
    """Where the green chalkboard is in a screenshot, as a share of its width (NaN if not seen)."""
    import av
    import io
    with av.open(io.BytesIO(png)) as container:
        rgb = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    green = (g > r + 50) & (g > b + 50)
    columns = np.nonzero(green.sum(axis=0) > 3)[0]
    return float(columns.mean() / rgb.shape[1]) if len(columns) > 20 else float("nan")


def _ready(page, errors) -> None:
    try:
        wait_js(page, "document.getElementById('player').classList.contains('spherical-ready')")
    except BaseException:
        print("browser said:", errors, page.text_content("#media-error"))
        raise


def _view(page) -> dict:
    return json.loads(page.get_attribute("#sphere", "data-view") or "{}")


def _settled_view(page) -> dict:
    """The view once a drag's inertia has died down."""
    last = _view(page)
    for _ in range(50):
        page.wait_for_timeout(100)
        now = _view(page)
        if now == last:
            return now
        last = now
    return last


def test_a_360_lesson_plays_in_the_viewer_turns_with_a_drag_and_keeps_a_clip_view(
        webgl_browser, sphere_site, sphere_kit):
    kit, recording = sphere_kit
    anna = kit.people["Anna"]
    context, page, errors = _open(webgl_browser, sphere_site, anna)
    page.goto(sphere_site + f"/recordings/{recording}")
    _ready(page, errors)
    assert page.locator("#sphere canvas").count() == 1
    page.click("#play")
    wait_js(page, "document.getElementById('video').currentTime > 1.5")
    page.click("#play")  # pause: two screenshots of the same moment
    page.wait_for_timeout(300)
    sphere = page.locator("#sphere")
    before = _board_x(sphere.screenshot())
    assert 0.3 < before < 0.7, before  # the board is in front at first

    box = sphere.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75, y, steps=8)
    page.mouse.up()
    page.wait_for_timeout(1500)  # PSV's inertia after a drag
    turned = _settled_view(page)
    shot = sphere.screenshot()
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "sphere-dragged-laptop.png").write_bytes(shot)
    after = _board_x(shot)
    # Dragging to the right pulls the room along: the board moves right (or out of sight).
    assert np.isnan(after) or after > before + 0.1, (before, after)
    assert turned["yaw"] < -10, turned

    # Keys: reset to the front (it stops what the drag set moving), look right twice, reset again.
    page.keyboard.press("0")
    assert _settled_view(page)["yaw"] == pytest.approx(0, abs=0.5)
    page.keyboard.press("d")
    assert _settled_view(page)["yaw"] == pytest.approx(15, abs=1)
    page.keyboard.press("d")
    assert _settled_view(page)["yaw"] == pytest.approx(30, abs=1)
    page.keyboard.press("0")
    assert _settled_view(page)["yaw"] == pytest.approx(0, abs=0.5)

    # Coding works as for flat video.
    page.keyboard.press("i")
    wait_js(page, "document.querySelectorAll('#marks li').length >= 1")

    # Look east (door), mark a clip: it remembers that direction.
    for _ in range(6):
        page.keyboard.press("d")
    page.wait_for_timeout(300)
    page.evaluate("document.getElementById('video').currentTime = 3")
    wait_js(page, "Math.abs(document.getElementById('video').currentTime - 3) < 0.1")
    page.keyboard.press("[")
    page.evaluate("document.getElementById('video').currentTime = 6")
    wait_js(page, "Math.abs(document.getElementById('video').currentTime - 6) < 0.1")
    page.keyboard.press("]")
    page.click("#save-pearl")
    clips = []
    for _ in range(100):
        clips = page.evaluate("async (u) => (await (await fetch(u)).json()).clips",
                              f"/api/recordings/{recording}/annotations")
        if clips:
            break
        page.wait_for_timeout(100)
    assert len(clips) == 1 and clips[0]["view"]["yaw"] == pytest.approx(90, abs=1), clips

    # After a reload, from the front: playing the clip turns the view east again.
    page.keyboard.press("0")
    clip = clips[0]
    page.goto(sphere_site + f"/recordings/{recording}#t={clip['in']:.3f},{clip['out']:.3f}")
    page.reload()
    _ready(page, errors)
    wait_js(page, "JSON.parse(document.getElementById('sphere').dataset.view || '{}').yaw > 80")
    assert _view(page)["yaw"] == pytest.approx(90, abs=1)

    # The coach looks elsewhere and keeps that direction for the clip.
    for _ in range(2):
        page.keyboard.press("a")
    page.wait_for_timeout(300)
    page.click("#keep-view")
    for _ in range(100):
        saved = page.evaluate("async (u) => (await (await fetch(u)).json()).clips[0].view",
                              f"/api/recordings/{recording}/annotations")
        if saved and abs(saved["yaw"] - 60) < 1:
            break
        page.wait_for_timeout(100)
    assert saved["yaw"] == pytest.approx(60, abs=1)
    assert not [e for e in errors if "WebGL" not in e], errors
    context.close()


@pytest.mark.parametrize("name, width, height", [("phone", 390, 844), ("ipad", 820, 1180), ("laptop", 1280, 800)])
def test_the_360_player_fits_phone_ipad_and_laptop(webgl_browser, sphere_site, sphere_kit, name, width, height):
    kit, recording = sphere_kit
    anna = kit.people["Anna"]
    context, page, errors = _open(webgl_browser, sphere_site, anna, width, height)
    page.goto(sphere_site + f"/recordings/{recording}")
    _ready(page, errors)
    page.wait_for_timeout(500)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"sphere-player-{name}.png"))
    # Before play the sphere already shows the room, not a black ball.
    assert 0.2 < _board_x(page.locator("#sphere").screenshot()) < 0.8
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = page.locator("#sphere").bounding_box()
    assert box["width"] > 0.8 * min(width, 1280) / (2 if width >= 1100 else 1) and box["height"] > 100
    context.close()


@pytest.fixture
def live_360_app(kit):
    """The kit with a realtime simulated 360° camera behind the live page."""
    from appliance.camera import SimulatedCamera
    from appliance.catalogue import Catalogue
    from appliance.config import KitConfig
    from appliance.daemon import KitController

    config = KitConfig(data_dir=kit.data_dir, simulate=True, camera="360-simulated", width=384, height=192, fps=15,
                       realtime=True, min_minutes_left=0.0, reserve_bytes=0, serve_review=False)
    catalogue = Catalogue(kit.data_dir / "catalogue.db")
    controller = KitController(config, catalogue, SimulatedCamera(384, 192, fps=15, realtime=True,
                                                                  projection="equirectangular"))
    app = create_app(controller=controller, data_dir=kit.data_dir, config=TestingConfig())
    yield app
    controller.close()
    catalogue.close()


def test_the_coach_follows_a_360_lesson_live_on_a_tablet_and_looks_around(webgl_browser, live_360_app, kit):
    with serve(live_360_app) as base:
        context, page, errors = _open(webgl_browser, base, kit.people["Bram"], 820, 1180, who="Bram")
        page.goto(base + "/live")
        page.click("#live-start")
        _ready(page, errors)
        wait_js(page, "document.getElementById('video').currentTime > 0.5", 60)
        page.keyboard.press("d")
        page.wait_for_timeout(300)
        assert _view(page)["yaw"] == pytest.approx(15, abs=1)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "sphere-live-ipad.png"))
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#live-stop")
        page.wait_for_selector("#live-state[data-state=idle]")
        assert not [e for e in errors if "WebGL" not in e], errors
        context.close()
