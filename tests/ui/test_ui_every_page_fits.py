"""Every page of the review app fits the screen at phone, iPad (portrait and landscape) and laptop sizes.

No element sticks out of the viewport and the page never scrolls sideways,
for the teacher's pages, the coach's trajectory pages, Verloop and Logboek, the
intervisie pages and the admin's Beheer, in real Chromium, in Dutch.
"""

from __future__ import annotations

import pytest

from appliance.catalogue import Catalogue
from appliance.trajectory import Trajectories
from ui import create_app
from ui.config import TestingConfig
from ui_helpers import ADMIN_PASSWORD, csrf_of, login_admin, unlock
from ui_server import serve
from test_intervisie import MORE, _anna_shares, group_kit  # noqa: F401 (the fixture)
from test_ui_browser import unlock_in_page
from test_ui_review_browser import WIDEST

pytestmark = pytest.mark.browser

SIZES = [(390, 844, "phone"), (820, 1180, "ipad-portrait"), (1180, 820, "ipad-landscape"), (1366, 768, "laptop")]


def _prepared(kit):
    """Anna's clip and intervisie share, and a trajectory Bram runs with her."""
    app = create_app(data_dir=kit.data_dir, config=TestingConfig(admin_password=ADMIN_PASSWORD))
    anna, _group, share_id = _anna_shares(app, kit)
    bram = app.test_client()
    unlock(bram, kit, "Bram")
    made = bram.post("/trajectories", data={"csrf_token": csrf_of(bram), "partner": kit.people["Anna"]["id"],
                                            "planned_recordings": "3",
                                            "learning_question": "Hoe geef ik stille leerlingen een beurt?"})
    assert made.status_code == 302
    trajectory = made.headers["Location"].rsplit("/", 1)[1]
    # Anna's lesson as the baseline, so Verloop has a row and its charts to lay out.
    catalogue = Catalogue(kit.data_dir / "catalogue.db")
    Trajectories(catalogue, kit.data_dir).link_recording(trajectory, kit.own_recording, 0)
    catalogue.close()
    admin = app.test_client()
    login_admin(admin)
    admin.post("/admin/invitations", data={"csrf_token": csrf_of(admin), "name": "Een Heel Lange Nieuwe Naam",
                                           "role": "teacher"})
    clip_id = anna.get(f"/api/recordings/{kit.own_recording}/annotations").get_json()["clips"][0]["id"]
    return app, share_id, trajectory, clip_id


def pages_for(kit, share_id: str, trajectory: str, clip_id: str) -> list[tuple[str, list[str]]]:
    """Who opens which pages: nobody (the open pages), Anna, Bram and the admin."""
    rec = kit.own_recording
    anna_pages = ["/library", f"/recordings/{rec}", f"/recordings/{rec}/clips", f"/recordings/{rec}/stats",
                  "/live", "/consent", "/key", "/intervisie", f"/intervisie/share/{rec}/{clip_id}",
                  f"/shares/{share_id}", "/trajectories", f"/trajectories/{trajectory}",
                  f"/trajectories/{trajectory}/audit", f"/trajectories/{trajectory}/progress", "/trajectories/audit",
                  "/recordings/bestaat-niet"]
    bram_pages = [f"/trajectories/{trajectory}", f"/trajectories/{trajectory}/progress", "/trajectories/audit",
                  "/consent"]
    open_pages = ["/unlock", "/enrol", "/admin/login"]
    return [("nobody", open_pages), ("Anna", anna_pages), ("Bram", bram_pages), ("admin", ["/admin/"])]


def signed_in(browser, site: str, kit, who: str, **context_options):
    """A new browser context, unlocked as Anna or Bram, signed in as the admin, or as nobody."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    if who in ("Anna", "Bram"):
        unlock_in_page(page, site, kit, who)
    elif who == "admin":
        page.goto(site + "/admin/login")
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(site + "/admin/")
    return context, page


@pytest.mark.parametrize("width,height,label", SIZES, ids=[s[2] for s in SIZES])
def test_no_page_is_wider_than_the_screen(browser, group_kit, width, height, label):
    kit = group_kit
    app, share_id, trajectory, clip_id = _prepared(kit)
    problems = {}
    with serve(app) as site:
        for who, pages in pages_for(kit, share_id, trajectory, clip_id):
            context, page = signed_in(browser, site, kit, who, viewport={"width": width, "height": height})
            for path in pages:
                page.goto(site + path)
                page.wait_for_load_state("networkidle")
                sideways = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                wide = page.evaluate(WIDEST)
                if sideways > 0 or wide:
                    problems[f"{who} {path}"] = (sideways, wide[:5])
            context.close()
    assert problems == {}, label
