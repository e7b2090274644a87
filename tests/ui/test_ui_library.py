"""Opnames: search in the page, and the filmed teacher deletes a recording from the list after a confirmation.

Her coach sees the same recordings without a delete button, and a POST of
the form in his session is refused (403); a stranger's is 401.
"""

from __future__ import annotations

import pytest

from ui import create_app
from ui.config import TestingConfig
from ui_helpers import csrf_of, unlock
from ui_server import serve
from test_ui_browser import unlock_in_page


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
        unlock_in_page(page, site, kit, "Bram")
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
        unlock_in_page(page, site, kit, "Anna")
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


def test_a_lessons_title_class_and_subject_show_in_opnames_and_stay_sealed(client, kit):
    import os

    unlock(client, kit, "Anna")
    saved = client.put(f"/api/recordings/{kit.own_recording}/texts",
                       json={"title": "Breuken  vergelijken", "class": "3B", "subject": "wiskunde-uniek-91"},
                       headers={"X-CSRF-Token": csrf_of(client)})
    assert saved.status_code == 200 and saved.get_json()["title"] == "Breuken vergelijken"
    page = client.get("/library").get_data(as_text=True)
    assert '<span class="lesson">Breuken vergelijken · 3B · wiskunde-uniek-91</span>' in page
    assert "wiskunde-uniek-91" in page[page.index("data-search="):]  # the search finds it too
    assert "Breuken vergelijken" in client.get(f"/recordings/{kit.own_recording}").get_data(as_text=True)
    # Her coach sees it as well; the words are only in the sealed document, never in the catalogue or outbox.
    bram = client.application.test_client()
    unlock(bram, kit, "Bram")
    assert "wiskunde-uniek-91" in bram.get("/library").get_data(as_text=True)
    for root, _dirs, files in os.walk(kit.data_dir):
        for name in files:
            assert b"wiskunde-uniek-91" not in open(os.path.join(root, name), "rb").read(), name
    assert client.put(f"/api/recordings/{kit.own_recording}/texts", json={"class": "x" * 201},
                      headers={"X-CSRF-Token": csrf_of(client)}).status_code == 400
