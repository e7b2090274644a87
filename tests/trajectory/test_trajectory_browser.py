"""In a real headless Chromium (Debian's /usr/bin/chromium): the coach opens
the trajectory, prepares review meeting 1 by picking clips (the pearls:puzzles
balance follows the choice) and records an action point; afterwards the
action point is in the encrypted trajectory document and nowhere in plaintext."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from appliance.trajectory import Trajectories
from trajectory_kit import PASSPHRASES
from ui import create_app
from appliance.coding.annotations import AnnotationStore
from ui.config import TestingConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))
from ui_server import chromium, serve  # noqa: E402  (the UI tests' launcher)

pytestmark = pytest.mark.browser
from playwright import sync_api  # a test dependency: missing, the run fails rather than skips

ACTION = "actiepunt-uniek-e2e-5b9c: na elke vraag drie tellen wachten"


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def test_coach_prepares_a_review_meeting_and_records_an_action_point(browser, kit):
    trajectories = Trajectories(kit.catalogue, kit.data_dir)
    t = trajectories.create("Anna", "Bram", learning_question="leervraag-e2e")
    trajectories.act(t["id"], "intake")
    kit.press_and_record(0.8)
    trajectories.advance_recorded()
    rec1 = kit.press_and_record(1.5)
    trajectories.advance_recorded()
    pair = [kit.people["Anna"]["recipient"], kit.people["Bram"]["recipient"]]
    clips = [("k-a", "pearl", "parel-a"), ("k-b", "pearl", "parel-b"), ("k-c", "puzzle", "puzzel-c"),
             ("k-d", "puzzle", "puzzel-d")]
    AnnotationStore(kit.data_dir / "recordings").update(rec1, [kit.identity("Anna")], pair, lambda d: d["clips"].extend(
        {"id": cid, "in": i * 0.2, "out": i * 0.2 + 0.2, "kind": kind, "title": title, "reflection": None}
        for i, (cid, kind, title) in enumerate(clips)))

    app = create_app(data_dir=kit.data_dir, config=TestingConfig())
    with serve(app) as site:
        page = browser.new_context(viewport={"width": 1024, "height": 800}).new_page()
        page.goto(site + "/unlock")
        page.select_option("#person", kit.people["Bram"]["id"])
        page.fill("#passphrase", PASSPHRASES["Bram"])
        page.click("#unlock-button")
        page.wait_for_url(site + "/library")
        page.click("text=Trajecten")  # Dutch by default
        page.click(f"a[href='/trajectories/{t['id']}']")
        assert "opgenomen" in page.inner_text("#trajectory-state")
        page.click("#prepare-1")
        page.wait_for_selector("#clips-form")
        assert page.inner_text("#balance-pearls") == "0"

        for cid in ("k-a", "k-b", "k-c"):
            page.check(f"input[value='{rec1}/{cid}']")
        page.click("#save-clips")
        page.wait_for_selector("#balance")
        assert (page.inner_text("#balance-pearls"), page.inner_text("#balance-puzzles")) == ("2", "1")
        assert "met" in page.get_attribute("#balance", "class").split()
        assert page.is_checked(f"input[value='{rec1}/k-b']") and not page.is_checked(f"input[value='{rec1}/k-d']")

        page.fill("#action-text", ACTION)
        page.click("#add-action")
        page.wait_for_selector("#action-points li.action-point textarea")
        page.reload()
        # Each action point is an editable field holding its text.
        assert page.locator("#action-points li.action-point textarea").first.input_value() == ACTION

        page.goto(site + f"/trajectories/{t['id']}")
        assert ACTION in page.inner_text("#step-1")
        assert "2 parels : 1 puzzels" in " ".join(page.inner_text("#step-1").split())
        chosen = page.inner_text("#step-1 .chosen-clips")
        assert "parel-a" in chosen and "puzzel-c" in chosen and "puzzel-d" not in chosen
        page.close()

    doc = trajectories.private(t["id"], [kit.identity("Anna")])
    assert [p["text"] for p in doc["meetings"]["1"]["action_points"]] == [ACTION]
    assert [c["clip_id"] for c in doc["meetings"]["1"]["clips"]] == ["k-a", "k-b", "k-c"]
    needle = ACTION.encode()
    leaks = [p for p in kit.data_dir.rglob("*") if p.is_file() and needle in p.read_bytes()]
    assert leaks == []
