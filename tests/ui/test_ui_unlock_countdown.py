"""A refused unlock counts its wait down on the page, in Dutch and in English, in real Chromium."""

from __future__ import annotations

import time

import pytest

from ui import create_app
from ui.config import TestingConfig
from ui_recording import PASSPHRASES
from ui_server import serve

pytestmark = pytest.mark.browser
from playwright import sync_api  # a test dependency: missing, the run fails rather than skips


def texts_until_done(page, done: str, timeout_s: float = 15.0) -> list[str]:
    """Every distinct text the countdown shows, until it shows ``done``."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = page.evaluate("document.getElementById('unlock-wait').textContent").strip()
        if not seen or seen[-1] != text:
            seen.append(text)
        if text == done:
            return seen
        page.wait_for_timeout(100)
    pytest.fail(f"the countdown never reached {done!r}: {seen}")


@pytest.mark.parametrize("lang,words", [
    ("nl", ("Wacht nog 3 seconden.", "Wacht nog 2 seconden.", "Wacht nog 1 seconde.",
            "Je kunt het nu opnieuw proberen.")),
    ("en", ("Wait 3 more seconds.", "Wait 2 more seconds.", "Wait 1 more second.", "You can try again now.")),
])
def test_a_refused_unlock_counts_down_then_the_teacher_unlocks(browser, kit, lang, words):
    app = create_app(data_dir=kit.data_dir, config=TestingConfig(throttle_base_s=3))
    with serve(app) as site:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{site}/unlock?lang={lang}")
        for attempt in ("wrong-guess-1", "wrong-guess-2"):  # the second comes within the 3 s wait
            page.select_option("#person", kit.people["Anna"]["id"])
            page.fill("#passphrase", attempt)
            page.click("#unlock-button")
            page.wait_for_load_state()
        assert page.is_disabled("#unlock-button")  # a try now would only be refused again
        seen = texts_until_done(page, words[-1])
        assert seen[0] in words[:2] and list(words[1:]) == seen[-3:], seen
        assert not any("1 seconden" in t or "1 more seconds" in t for t in seen)
        assert page.is_enabled("#unlock-button")
        page.select_option("#person", kit.people["Anna"]["id"])
        page.fill("#passphrase", PASSPHRASES["Anna"])
        page.click("#unlock-button")
        page.wait_for_url(site + "/library")
        assert errors == []
        page.close()
