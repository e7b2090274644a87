"""Coding on a phone and an iPad: the video stays in view while the coding panel scrolls under it.

At each size the coach scrolls to the clip buttons (the bottom of the coding
panel) and both the video and those buttons are on screen; on a laptop the
panel sits beside the video. The learning question comes after the coding
controls, not between them and the video.
"""

from __future__ import annotations

import pytest

from ui import create_app
from ui.config import TestingConfig
from ui_server import serve
from test_ui_browser import unlock_in_page

pytestmark = pytest.mark.browser

SIZES = [(390, 844, "phone"), (820, 1180, "ipad-portrait"), (1180, 820, "ipad-landscape"), (1366, 768, "laptop")]


@pytest.mark.parametrize("width,height,label", SIZES, ids=[s[2] for s in SIZES])
def test_the_video_stays_in_view_while_coding(browser, kit, width, height, label):
    app = create_app(data_dir=kit.data_dir, config=TestingConfig())
    with serve(app) as site:
        context = browser.new_context(viewport={"width": width, "height": height}, has_touch=width < 1366,
                                      is_mobile=width < 800)
        page = context.new_page()
        unlock_in_page(page, site, kit, "Anna")
        page.goto(site + f"/recordings/{kit.own_recording}")
        page.wait_for_selector("#video")
        page.locator("#save-puzzle").scroll_into_view_if_needed()
        view = page.evaluate("""() => {
            const box = (id) => document.getElementById(id).getBoundingClientRect();
            const v = box('video'), b = box('save-puzzle'), q = document.querySelector('form.lq').getBoundingClientRect();
            const codes = document.querySelector('.codes').getBoundingClientRect();
            return {video_top: v.top, video_bottom: v.bottom, button_top: b.top, button_bottom: b.bottom,
                    lq_after_codes: q.top > codes.top, h: window.innerHeight};
        }""")
        assert view["video_top"] >= -1 and view["video_bottom"] <= view["h"] + 1, (label, view)
        assert view["button_top"] >= view["video_bottom"] - 1 or width >= 1000, (label, view)  # under it, or beside
        assert 0 <= view["button_top"] and view["button_bottom"] <= view["h"] + 1, (label, view)
        assert view["lq_after_codes"], label
        context.close()
