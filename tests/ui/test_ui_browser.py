"""End to end in a real headless Chromium (Debian's /usr/bin/chromium):
unlock, play, seek, frame-step, code with one key, mark a clip, reload,
statistics, lock — and afterwards the data directory holds no plaintext."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from appliance.footage.plaintext_scan import scan_for_plaintext_media
from ui import create_app
from ui.config import TestingConfig
from ui.keymap import KEYS
from ui_recording import PASSPHRASES
from ui_server import serve

pytestmark = pytest.mark.browser
from playwright import sync_api  # a test dependency: missing, the run fails rather than skips

NOTE = "leervraag-uniek-5d1e0b: hoe laat ik stille leerlingen meedoen?"
NO_NATIVE_HLS = (
    "HTMLMediaElement.prototype.canPlayType = (function (orig) { return function (t) {"
    " return /mpegurl/i.test(t) ? '' : orig.call(this, t); }; })(HTMLMediaElement.prototype.canPlayType);"
)


# Report unhandled promise rejections as console errors, where the test sees them.
REPORT_REJECTIONS = (
    "window.addEventListener('unhandledrejection', function (e) {"
    " console.error('unhandledrejection: ' + ((e.reason && e.reason.message) || e.reason)); });"
)


class Problems:
    """Uncaught errors, unhandled rejections and console errors of one page."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.console: list[tuple[str, str]] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda m: self.console.append((m.text, m.location.get("url", "")))
                if m.type == "error" else None)

    def unexpected(self, failing: tuple[str, ...] = ()) -> list[str]:
        """All of them, less the browser's own note on a request the test made fail (URLs containing ``failing``)."""
        noted = [text for text, url in self.console
                 if not (text.startswith("Failed to load resource") and any(part in url for part in failing))]
        return self.errors + noted


def wait_js(page, expression: str, timeout_s: float = 30.0) -> None:
    """Poll ``expression`` with evaluate, which the page's CSP allows (wait_for_function needs eval)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s} s: {expression}")
        page.wait_for_timeout(50)


@pytest.fixture
def site(kit):
    app = create_app(data_dir=kit.data_dir, config=TestingConfig())
    with serve(app) as base:
        yield base


def video_time(page) -> float:
    return page.evaluate("document.getElementById('video').currentTime")


def unlock_in_page(page, site, kit, name="Anna"):
    page.goto(site + "/unlock")
    page.select_option("#person", kit.people[name]["id"])
    page.fill("#passphrase", PASSPHRASES[name])
    page.click("#unlock-button")
    page.wait_for_url(site + "/library")


def click_timeline(page, seconds: float) -> None:
    """Click the timeline where ``seconds`` is, as a person seeking does."""
    length = page.evaluate("document.getElementById('video').duration")
    box = page.locator("#timeline").bounding_box()
    page.locator("#timeline").click(position={"x": box["width"] * seconds / length, "y": box["height"] / 2})


def play_until(page, seconds: float) -> None:
    page.click("#play")
    page.wait_for_function(f"document.getElementById('video').currentTime > {seconds}", timeout=30_000)


def test_review_session(browser, site, kit):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    unlock_in_page(page, site, kit)
    assert kit.own_recording in page.content() and kit.foreign_recording not in page.content()

    page.click(f"a[href='/recordings/{kit.own_recording}']")
    page.wait_for_selector("#video")
    play_until(page, 1.0)  # decrypted segments really play
    engine = page.evaluate("document.getElementById('video').dataset.engine")
    assert engine in ("native", "hls.js")

    # Seek by clicking the timeline.
    click_timeline(page, 12.2)
    page.wait_for_function("document.getElementById('video').currentTime >= 12 && "
                           "!document.getElementById('video').seeking", timeout=30_000)
    page.wait_for_function("document.getElementById('video').currentTime > 12.5", timeout=30_000)

    # Pause, one frame forward with the "." key, slow motion buttons.
    page.click("#play")
    page.wait_for_function("document.getElementById('video').paused")
    before = video_time(page)
    page.keyboard.press(".")
    page.wait_for_function(f"document.getElementById('video').currentTime > {before + 0.01}")
    page.keyboard.press("z")
    assert page.evaluate("document.getElementById('video').playbackRate") == 0.25
    page.click("button[data-action='rate:0.5']")
    assert page.evaluate("document.getElementById('video').playbackRate") == 0.5

    # One-key coding and a clip (in/out with [ and ], saved as a pearl).
    page.keyboard.press("i")
    page.wait_for_selector("#marks li.mark-codes")
    page.keyboard.press("[")
    clip_in = video_time(page)
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"Math.abs(document.getElementById('video').currentTime - {clip_in + 5}) < 0.1")
    page.keyboard.press("]")
    page.click("#save-pearl")
    page.wait_for_selector("#marks li.mark-clips")
    page.fill("textarea[name=learning_question]", NOTE)
    page.click("form.lq button[type=submit]")
    page.wait_for_selector("form.lq .lq-status:has-text('Opgeslagen')")

    # Everything survives a reload (it was saved on the kit, encrypted).
    page.reload()
    page.wait_for_selector("#marks li.mark-codes")
    assert page.locator("#marks li.mark-clips").count() == 1
    assert page.input_value("textarea[name=learning_question]") == NOTE
    assert page.locator("#timeline .marker.clip.pearl").count() == 1
    assert page.locator("#timeline .marker.bookmark").count() == 1

    # The statistics show them.
    page.click("#stats-link")
    assert page.inner_text("#count-instruction") == "1"
    assert page.inner_text("#count-pearls") == "1"
    assert page.locator("svg.chart").count() >= 5

    # Lock: the key is forgotten, the next media request is refused.
    page.goto(site + f"/recordings/{kit.own_recording}")
    page.click("#lock-button")
    page.wait_for_url(lambda url: "/unlock" in url)
    status = page.evaluate(f"fetch('/media/{kit.own_recording}/seg-000001.m4s').then(r => r.status)")
    assert status == 401
    context.close()

    # No plaintext media or annotation text anywhere in the data directory.
    assert scan_for_plaintext_media([kit.data_dir]) == []
    for root, _dirs, files in os.walk(kit.data_dir):
        for name in files:
            data = (Path(root) / name).read_bytes()
            assert NOTE.encode() not in data, name
            assert b"leervraag-uniek" not in data, name


def test_hls_js_where_native_hls_is_missing(browser, site, kit):
    context = browser.new_context(bypass_csp=True)  # lets the test's own wait_for_function evaluate
    context.add_init_script(NO_NATIVE_HLS)
    page = context.new_page()
    unlock_in_page(page, site, kit)
    page.goto(site + f"/recordings/{kit.own_recording}")
    play_until(page, 1.0)
    assert page.evaluate("document.getElementById('video').dataset.engine") == "hls.js"
    click_timeline(page, 16.0)
    page.wait_for_function("document.getElementById('video').currentTime > 16.3", timeout=30_000)
    context.close()


def test_wrong_passphrase_in_the_page(browser, site, kit):
    page = browser.new_page(bypass_csp=True)
    page.goto(site + "/unlock")
    page.select_option("#person", kit.people["Anna"]["id"])
    page.fill("#passphrase", "dit-is-het-niet")
    page.click("#unlock-button")
    assert "klopt niet" in page.inner_text("p.error")
    page.close()


@pytest.mark.parametrize("width,height,label", [(390, 844, "phone"), (820, 1180, "ipad"), (1366, 768, "laptop")])
def test_pages_fit_phone_ipad_and_laptop(browser, site, kit, width, height, label, tmp_path):
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    unlock_in_page(page, site, kit)
    # Some content, so that the grid, the marks and the charts are laid out too.
    api = f"/api/recordings/{kit.own_recording}"
    status = page.evaluate("""async (api) => {
        const h = {"X-CSRF-Token": document.body.dataset.csrf, "Content-Type": "application/json"};
        const a = await fetch(api + "/clips", {method: "POST", headers: h,
            body: JSON.stringify({in: 2, out: 6, kind: "pearl", title: "Een denkvraag"})});
        const b = await fetch(api + "/codes", {method: "POST", headers: h,
            body: JSON.stringify({t: 3, kind: "feedback", valence: "positive", level: "strategy"})});
        return [a.status, b.status];
    }""", api)
    assert status == [201, 201]
    for name, path in (("library", "/library"), ("player", f"/recordings/{kit.own_recording}"),
                       ("clips", f"/recordings/{kit.own_recording}/clips"),
                       ("stats", f"/recordings/{kit.own_recording}/stats")):
        page.goto(site + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is wider than a {label} screen by {overflow}px"
        shots = os.environ.get("UI_SCREENSHOTS")
        if shots:
            page.screenshot(path=f"{shots}/{label}-{name}.png", full_page=True)
    context.close()


def test_live_view_from_the_side_of_the_room(browser, live_app, kit):
    """The coach starts the recording on a tablet, watches it live, bookmarks and stops."""
    with serve(live_app) as base:
        context = browser.new_context(viewport={"width": 820, "height": 1180}, bypass_csp=True)
        context.add_init_script(REPORT_REJECTIONS)
        page = context.new_page()
        problems = Problems(page)
        unlock_in_page(page, base, kit, "Bram")
        page.goto(base + "/live")
        page.click("#live-start")
        page.wait_for_selector("#video")
        page.wait_for_function("document.getElementById('video').currentTime > 0.5", timeout=60_000)
        page.keyboard.press("x")  # the playback keys of the key map work here too
        assert page.evaluate("document.getElementById('video').playbackRate") == 0.5
        page.keyboard.press("n")
        assert page.evaluate("document.getElementById('video').playbackRate") == 1
        assert problems.unexpected() == []
        # The lesson's own clock runs (not the player's position), with a red dot.
        first = page.text_content("#live-elapsed")
        page.wait_for_timeout(1300)
        assert page.text_content("#live-elapsed") != first
        assert page.evaluate("getComputedStyle(document.querySelector('.rec-dot')).color") == "rgb(221, 17, 17)"
        # A bookmark without reloading: the same document, the live video goes on.
        page.evaluate("window.sameDocument = 'still here'")
        page.click("#live-bookmark")
        sync_api.expect(page.locator("#live-note")).to_contain_text("Bladwijzer gezet op 0:")
        assert page.evaluate("window.sameDocument") == "still here"
        # Stopping asks first: "no" keeps recording, "yes" stops.
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.click("#live-stop")
        page.wait_for_timeout(300)
        assert page.get_attribute("#live-state", "data-state") == "recording"
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#live-stop")
        page.wait_for_selector("#live-state[data-state=idle]")
        context.close()
    catalogue = live_app.extensions["kit_catalogue"]
    recording = next(r for r in catalogue.recordings_for(kit.people["Bram"]["recipient"])
                     if r.id not in (kit.own_recording, kit.foreign_recording))
    assert recording.state == "complete" and len(catalogue.bookmark_offsets(recording.id)) == 1
    assert scan_for_plaintext_media([kit.data_dir]) == []


def code_of(action: str) -> dict:
    """The code a "code:..." action of the key map saves."""
    _code, kind, *arg = action.split(":")
    if kind == "question":
        return {"kind": kind, "category": int(arg[0])}
    if kind == "feedback":
        return {"kind": kind, "valence": arg[0]}
    return {"kind": kind}


def saved_codes(page, kit) -> list[dict]:
    return page.evaluate(f"fetch('/api/recordings/{kit.own_recording}/annotations').then(r => r.json())")["codes"]


def test_play_seek_code_session_leaves_no_error(browser, site, kit):
    """Under the page's own CSP: no uncaught error, no unhandled rejection, nothing on the console."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(REPORT_REJECTIONS)
    page = context.new_page()
    problems = Problems(page)
    unlock_in_page(page, site, kit)
    page.goto(site + f"/recordings/{kit.own_recording}")
    # → then space twice, faster than the video can load the new position: pause() interrupts the
    # pending play(), whose promise then rejects (an AbortError) and must be handled.
    wait_js(page, "document.getElementById('video').readyState >= 1")
    page.evaluate("for (const key of ['ArrowRight', ' ', ' '])"
                  " document.dispatchEvent(new KeyboardEvent('keydown', {key: key}));")
    page.click("#play")
    wait_js(page, "document.getElementById('video').currentTime > 1")
    page.click("h1")  # focus off the button: the keys below go to the page
    page.keyboard.press(" ")
    page.keyboard.press(" ")
    click_timeline(page, 8.0)
    wait_js(page, "!document.getElementById('video').seeking")
    for key in ("ArrowLeft", "ArrowRight", ",", ".", "z", "x", "n"):
        page.keyboard.press(key)
    assert page.evaluate("document.getElementById('video').playbackRate") == 1
    for n, key in enumerate(("i", "1", "+"), start=1):
        page.keyboard.press(key)
        sync_api.expect(page.locator("#marks li.mark-codes")).to_have_count(n)
    page.keyboard.press("]")
    page.click("#save-pearl")  # no in point yet: says so, sends nothing
    sync_api.expect(page.locator("#save-status")).to_have_text("Markeer eerst een begin- en een eindpunt.")
    page.keyboard.press("[")
    page.keyboard.press("ArrowRight")
    wait_js(page, "!document.getElementById('video').seeking")
    page.keyboard.press("]")
    page.click("#save-puzzle")
    sync_api.expect(page.locator("#marks li.mark-clips")).to_have_count(1)
    page.locator("#marks li.mark-codes button.small").first.click()
    sync_api.expect(page.locator("#marks li.mark-codes")).to_have_count(2)
    page.locator("#marks li.mark-codes button.link").first.click()
    page.click("h1")
    page.keyboard.press(" ")
    wait_js(page, "!document.getElementById('video').paused")
    page.keyboard.press(" ")
    page.wait_for_timeout(300)
    assert problems.unexpected() == []
    context.close()


def test_failed_saves_and_loads_are_reported_not_thrown(browser, site, kit):
    context = browser.new_context()
    context.add_init_script(REPORT_REJECTIONS)
    page = context.new_page()
    problems = Problems(page)
    unlock_in_page(page, site, kit)
    # One route for the whole test, switched by `network`: adding and lifting routes
    # turns Chromium's request interception off and on, and a request sent in that
    # window is not seen by the new route.
    network = {"annotations": "abort", "codes": "pass"}

    def answer(route):
        what = route.request.url.rstrip("/").rsplit("/", 1)[-1]
        mode = network.get(what, "pass")
        if mode == "abort":
            route.abort()
        elif mode == "500":
            route.fulfill(status=500, body="<h1>oops</h1>", content_type="text/html")
        else:
            route.continue_()

    page.route(re.compile(r"/api/recordings/[^/]+/(annotations|codes)$"), answer)
    page.goto(site + f"/recordings/{kit.own_recording}")
    sync_api.expect(page.locator("#save-status")).to_contain_text("De markeringen konden niet worden geladen")
    network["annotations"] = "pass"

    network["codes"] = "500"
    page.keyboard.press("i")
    sync_api.expect(page.locator("#save-status")).to_have_text("Niet opgeslagen: 500")
    network["codes"] = "abort"
    page.keyboard.press("2")
    sync_api.expect(page.locator("#save-status")).to_have_text(re.compile(r"^Niet opgeslagen: (?!500$)"))
    network["codes"] = "pass"
    page.keyboard.press("3")  # the kit answers again
    sync_api.expect(page.locator("#save-status")).to_have_text("Opgeslagen")
    sync_api.expect(page.locator("#marks li.mark-codes")).to_have_count(1)
    page.wait_for_timeout(300)
    assert problems.unexpected(failing=("/annotations", "/codes")) == []
    assert problems.errors == []
    context.close()


def test_each_key_in_the_table_does_its_action(browser, site, kit):
    """Every coding key of ui/keymap.py saves its code; level and progress keys set the feedback's level."""
    context = browser.new_context()
    context.add_init_script(REPORT_REJECTIONS)
    page = context.new_page()
    problems = Problems(page)
    unlock_in_page(page, site, kit)
    page.goto(site + f"/recordings/{kit.own_recording}")
    wait_js(page, "document.getElementById('video').readyState >= 1")
    expected = []
    for key in [k for k in KEYS if k.group == "coding"]:
        for pressed in (key.key, *key.aliases):
            page.keyboard.press(pressed)
            expected.append(code_of(key.action))
            sync_api.expect(page.locator("#marks li.mark-codes")).to_have_count(len(expected))
    got = [{k: c[k] for k in ("kind", "category", "valence") if k in c} for c in saved_codes(page, kit)]
    key_of = lambda c: sorted(c.items())  # noqa: E731
    assert sorted(got, key=key_of) == sorted(expected, key=key_of)

    for key in [k for k in KEYS if k.action.startswith("level:")]:
        level = key.action.split(":")[1]
        page.keyboard.press(key.key)
        assert page.is_checked(f"input[name=level][value={level}]")
        page.keyboard.press("+")
        expected.append({"kind": "feedback", "valence": "positive"})
        sync_api.expect(page.locator("#marks li.mark-codes")).to_have_count(len(expected))
        feedback = [c for c in saved_codes(page, kit) if c["kind"] == "feedback"]
        assert level in {c["level"] for c in feedback}
    progress = next(k for k in KEYS if k.action == "progress")
    page.keyboard.press(progress.key)
    assert page.is_checked("#progress-flag")
    page.keyboard.press("-")
    sync_api.expect(page.locator("#marks li.mark-codes")).to_have_count(len(expected) + 1)
    assert any(c.get("progress") for c in saved_codes(page, kit))

    # The playback keys, on the paused video.
    for key in [k for k in KEYS if k.action.startswith("rate:")]:
        page.keyboard.press(key.key)
        assert page.evaluate("document.getElementById('video').playbackRate") == float(key.action.split(":")[1])
    before = video_time(page)
    page.keyboard.press(next(k.key for k in KEYS if k.action == "seek:5"))
    wait_js(page, f"Math.abs(document.getElementById('video').currentTime - {before + 5}) < 0.01")
    page.keyboard.press(next(k.key for k in KEYS if k.action == "frame:-1"))
    wait_js(page, f"Math.abs(document.getElementById('video').currentTime - {before + 5 - 1 / 30}) < 0.01")
    assert problems.unexpected() == []
    context.close()
