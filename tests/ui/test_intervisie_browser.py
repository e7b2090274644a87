"""Intervisie in real Chromium: a member plays the clip Anna shared and writes a reflection;
Anna reads it; a teacher outside the group gets the kit's 404 page."""

from __future__ import annotations

import pytest

from ui import create_app
from ui.config import TestingConfig
from ui_recording import PASSPHRASES
from ui_server import serve
from test_intervisie import MORE, _anna_shares, group_kit  # noqa: F401 (the fixture)
from test_ui_browser import Problems, REPORT_REJECTIONS, wait_js

pytestmark = pytest.mark.browser
from playwright import sync_api  # a test dependency: missing, the run fails rather than skips


def unlock_by_name(page, site, name, passphrase):
    """Type the name, as someone not listed on the unlock page does."""
    page.goto(site + "/unlock")
    if page.locator("details.typed-name").count():
        page.click("details.typed-name summary")
    page.fill("#name", name)
    page.fill("#passphrase", passphrase)
    page.click("#unlock-button")
    page.wait_for_url(site + "/library")


@pytest.mark.parametrize("size", [(390, 844), (1024, 1366), (1280, 800)], ids=["phone", "ipad", "laptop"])
def test_a_member_plays_the_share_and_reflects_and_anna_reads_it(browser, group_kit, size):
    kit = group_kit
    app = create_app(data_dir=kit.data_dir, config=TestingConfig())
    _anna, _group, share_id = _anna_shares(app, kit)
    with serve(app) as site:
        context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        context.add_init_script(REPORT_REJECTIONS)
        page = context.new_page()
        problems = Problems(page)
        unlock_by_name(page, site, "Cor", PASSPHRASES["Cor"])
        page.click("nav a[href='/intervisie']")
        page.click(f"#shared-with-me a[href='/shares/{share_id}']")
        sync_api.expect(page.locator("h1")).to_be_visible()
        page.evaluate("document.getElementById('share-video').play()")
        wait_js(page, "document.getElementById('share-video').currentTime > 1.0")
        duration = page.evaluate("document.getElementById('share-video').duration")
        assert duration == pytest.approx(9.25 - 3.5, abs=0.2)
        wide = page.evaluate("Array.from(document.querySelectorAll('body *')).filter("
                             "e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName)")
        assert wide == []
        page.fill("#comment-text", "Knap hoe je die stilte liet vallen")
        page.click("#comment-button")
        sync_api.expect(page.locator("#comments li.comment")).to_contain_text("Knap hoe je die stilte liet vallen")
        context.close()

        anna = browser.new_context(viewport={"width": size[0], "height": size[1]})
        page = anna.new_page()
        unlock_by_name(page, site, "Anna", PASSPHRASES["Anna"])
        page.goto(site + f"/shares/{share_id}")
        sync_api.expect(page.locator("#comments")).to_contain_text("Cor")
        sync_api.expect(page.locator("#comments")).to_contain_text("Knap hoe je die stilte liet vallen")
        anna.close()

        eva = browser.new_context(viewport={"width": size[0], "height": size[1]})
        page = eva.new_page()
        unlock_by_name(page, site, "Eva", MORE["Eva"])
        response = page.goto(site + f"/shares/{share_id}")
        assert response.status == 404
        sync_api.expect(page.locator("body")).to_contain_text("Foutcode 404")
        eva.close()
    assert problems.errors == []
