"""A session that ends under the player (15 idle minutes, locked from another device, a restart)
is unlocked again in place: the video keeps its position and the code pressed meanwhile is saved.

Real Chromium, real HTTPS, the kit's real session store: the test ends the
sessions the way the kit does (the idle sweep forgets every key; a renewal
elsewhere locks the person's other sessions) and presses a code afterwards.
"""

from __future__ import annotations

import pytest

from ui import create_app
from ui.config import TestingConfig
from ui_recording import PASSPHRASES
from ui_server import serve
from test_ui_browser import Problems, REPORT_REJECTIONS, unlock_in_page, wait_js

pytestmark = pytest.mark.browser
from playwright import sync_api  # a test dependency: missing, the run fails rather than skips


@pytest.fixture
def served(kit):
    app = create_app(data_dir=kit.data_dir, config=TestingConfig())
    with serve(app) as base:
        yield app, base


def codes_on_the_kit(page, recording_id: str) -> int:
    return page.evaluate(f"fetch('/api/recordings/{recording_id}/annotations').then(r => r.json())"
                         ".then(b => b.codes.length)")


@pytest.mark.parametrize("how", ["idle timeout", "locked elsewhere"])
def test_a_code_pressed_after_the_session_ended_is_saved_after_unlocking_in_place(browser, served, kit, how):
    app, site = served
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    context.add_init_script(REPORT_REJECTIONS)
    page = context.new_page()
    problems = Problems(page)
    unlock_in_page(page, site, kit)
    page.goto(site + f"/recordings/{kit.own_recording}")
    wait_js(page, "document.getElementById('video').readyState >= 2")
    page.evaluate("(() => { const v = document.getElementById('video'); v.currentTime = 6.5; })()")
    wait_js(page, "!document.getElementById('video').seeking")
    page.evaluate("window.sameDocument = 'still here'")

    sessions = app.extensions["kit_sessions"]
    if how == "idle timeout":
        sessions.forget_all()
    else:
        sessions.lock_person(kit.people["Anna"]["id"])

    page.keyboard.press("i")  # an instruction, coded while the session is gone
    dialog = page.locator("#reunlock")
    sync_api.expect(dialog).to_be_visible()
    sync_api.expect(page.locator("#save-status")).to_have_text("Je sessie is verlopen: ontgrendel opnieuw. Er gaat niets verloren.")
    sync_api.expect(dialog).to_contain_text("Je sessie is verlopen")

    # A wrong passphrase keeps the dialog open and says so in Dutch.
    page.fill("#reunlock-passphrase", "not-annas-passphrase")
    page.click("#reunlock-button")
    sync_api.expect(dialog.locator(".error")).to_contain_text("wachtwoordzin")
    sync_api.expect(dialog).to_be_visible()

    page.wait_for_timeout(1100)  # the throttle's pause after one wrong try
    page.fill("#reunlock-passphrase", PASSPHRASES["Anna"])
    page.click("#reunlock-button")
    sync_api.expect(dialog).to_be_hidden()
    sync_api.expect(page.locator("#save-status")).to_have_text("Opgeslagen")
    sync_api.expect(page.locator("#marks li.mark-codes")).to_have_count(1)

    # The same document, the same place in the video (the browser's own player may have met a 401
    # for a segment meanwhile: it loads again from there), and the code is on the kit.
    wait_js(page, "!document.getElementById('video').error && document.getElementById('video').readyState >= 2")
    assert page.evaluate("window.sameDocument") == "still here"
    assert abs(page.evaluate("document.getElementById('video').currentTime") - 6.5) < 0.2
    assert codes_on_the_kit(page, kit.own_recording) == 1
    # The page's forms carry the new session's token: a second code saves at once.
    page.keyboard.press("2")
    sync_api.expect(page.locator("#marks li.mark-codes")).to_have_count(2)
    # And the video plays on from there.
    page.evaluate("document.getElementById('video').play()")
    wait_js(page, "document.getElementById('video').currentTime > 7.0")
    assert problems.errors == []
    context.close()


def test_without_a_session_cookie_an_api_call_is_a_plain_401(served, kit):
    """A stranger's request is not invited to "unlock again": only a browser that had a session is."""
    app, _site = served
    path = f"/api/recordings/{kit.own_recording}/annotations"
    stranger = app.test_client().get(path)
    assert stranger.status_code == 401 and "session_ended" not in stranger.get_json()
    returning = app.test_client()
    returning.set_cookie("kit_session", "gone-since-the-restart")
    ended = returning.get(path)
    assert ended.status_code == 401 and ended.get_json()["session_ended"] is True
    assert ended.get_json()["error"] == "Je sessie is verlopen: ontgrendel opnieuw."
    # A state-changing call with the dead session's token: the same answer, not "the form has expired".
    posted = returning.post(path.replace("/annotations", "/codes"), json={"t": 1.0, "kind": "instruction"},
                            headers={"X-CSRF-Token": "the-old-sessions-token"})
    assert posted.status_code == 401 and posted.get_json()["session_ended"] is True
