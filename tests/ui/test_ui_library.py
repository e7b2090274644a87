"""Opnames: search in the page, and the filmed teacher deletes a recording from the list after a confirmation.

Her coach sees the same recordings without a delete button, and a POST of
the form in his session is refused (403); a stranger's is 401.
"""

from __future__ import annotations

import pytest

from ui import create_app
from ui.config import TestingConfig
from ui_helpers import csrf_of, unlock
from ui_recording import PASSPHRASES
from ui_server import serve


def test_only_the_filmed_teacher_gets_a_delete_button_and_it_asks(client, kit):
    unlock(client, kit, "Anna")
    page = client.get("/library").get_data(as_text=True)
    assert f"/trajectories/recordings/{kit.own_recording}/delete" in page
    assert 'data-confirm="De opname van' in page and 'id="library-search"' in page
    bram = client.application.test_client()
    unlock(bram, kit, "Bram")
    assert "/delete" not in bram.get("/library").get_data(as_text=True)
    refused = bram.post(f"/trajectories/recordings/{kit.own_recording}/delete",
                        data={"csrf_token": csrf_of(bram), "confirm": "yes", "back": "/library"})
    assert refused.status_code == 403
    stranger = client.application.test_client()
    assert stranger.post(f"/trajectories/recordings/{kit.own_recording}/delete",
                         data={"csrf_token": csrf_of(stranger), "confirm": "yes"}).status_code == 401
    # Anna deletes it; a "back" to another site is not followed (only Opnames or a trajectory page).
    done = client.post(f"/trajectories/recordings/{kit.own_recording}/delete",
                       data={"csrf_token": csrf_of(client), "confirm": "yes", "back": "https://evil.example/"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/trajectories")
    assert kit.own_recording not in client.get("/library").get_data(as_text=True)
    assert not (kit.data_dir / "recordings" / kit.own_recording).exists()


@pytest.mark.browser
def test_searching_narrows_the_list_and_delete_asks_first(browser, kit):
    app = create_app(data_dir=kit.data_dir, config=TestingConfig())
    with serve(app) as site:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        page.goto(site + "/unlock")
        page.select_option("#person", kit.people["Bram"]["id"])
        page.fill("#passphrase", PASSPHRASES["Bram"])
        page.click("#unlock-button")
        page.wait_for_url(site + "/library")
        rows = page.locator("ul.library li.rec")
        assert rows.count() == 2  # Anna's and Cor's lessons, both with Bram
        page.fill("#library-search", "cor")
        assert page.locator("ul.library li.rec:not([hidden])").count() == 1
        page.fill("#library-search", "niemand-heet-zo")
        assert page.locator("ul.library li.rec:not([hidden])").count() == 0
        assert page.is_visible("#library-none")
        context.close()

        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        page.goto(site + "/unlock")
        page.select_option("#person", kit.people["Anna"]["id"])
        page.fill("#passphrase", PASSPHRASES["Anna"])
        page.click("#unlock-button")
        page.wait_for_url(site + "/library")
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.click("form.rec-delete button")
        page.wait_for_timeout(300)
        assert (kit.data_dir / "recordings" / kit.own_recording).exists()
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("form.rec-delete button")
        page.wait_for_url(site + "/library")
        page.wait_for_timeout(200)
        assert not (kit.data_dir / "recordings" / kit.own_recording).exists()
        context.close()
