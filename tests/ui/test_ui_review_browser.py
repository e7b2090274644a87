"""In Chromium: the player saves the learning question in place and speaks
Dutch in its marks, a clip's × asks first; the clips page keeps every
clip's edits; the changed pages fit a phone, an iPad and a laptop."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ui import create_app
from ui.config import TestingConfig
from ui_recording import PASSPHRASES
from ui_server import chromium, serve

pytestmark = pytest.mark.browser
import playwright.sync_api  # noqa: F401 (a test dependency: missing, the run fails rather than skips)

SHOTS = Path(os.environ.get("REVIEW_SHOTS", "/tmp/review-shots"))
ADD = """async ([url, body]) => {
    const h = {"X-CSRF-Token": document.body.dataset.csrf, "Content-Type": "application/json"};
    const r = await fetch(url, {method: "POST", headers: h, body: JSON.stringify(body)});
    return [r.status, await r.json()];
}"""


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def site(kit):
    app = create_app(data_dir=kit.data_dir, config=TestingConfig())
    with serve(app) as base:
        yield base


def open_page(browser, site, kit, width=1280, height=800):
    context = browser.new_context(viewport={"width": width, "height": height})  # the real CSP
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(site + "/unlock")
    page.select_option("#person", kit.people["Anna"]["id"])
    page.fill("#passphrase", PASSPHRASES["Anna"])
    page.click("#unlock-button")
    page.wait_for_url(site + "/library")
    return context, page, errors


def wait_js(page, expression: str, timeout_s: float = 30.0) -> None:
    """Poll with evaluate, which the CSP allows (wait_for_function needs eval)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s} s: {expression}")
        page.wait_for_timeout(50)


def add(page, kit, what, body):
    status, saved = page.evaluate(ADD, [f"/api/recordings/{kit.own_recording}/{what}", body])
    assert status == 201
    return saved


def annotations(page, kit):
    return page.evaluate("async (u) => (await fetch(u)).json()", f"/api/recordings/{kit.own_recording}/annotations")


def test_learning_question_saves_in_place(browser, site, kit):
    context, page, errors = open_page(browser, site, kit)
    page.goto(site + f"/recordings/{kit.own_recording}")
    page.evaluate("window.notReloaded = true")
    page.click("#play")
    wait_js(page, "document.getElementById('video').currentTime > 2")
    page.click("#play")
    wait_js(page, "document.getElementById('video').paused")
    at = page.evaluate("document.getElementById('video').currentTime")
    page.fill("textarea[name=learning_question]", "Hoe krijg ik de achterste rij mee?")
    page.click("form.lq button[type=submit]")
    page.wait_for_selector("form.lq .lq-status:has-text('Opgeslagen')")
    assert page.evaluate("window.notReloaded === true")  # no page load
    assert abs(page.evaluate("document.getElementById('video').currentTime") - at) < 0.2
    assert annotations(page, kit)["learning_question"] == "Hoe krijg ik de achterste rij mee?"
    assert errors == []
    context.close()


def test_marks_in_dutch_and_a_clip_delete_asks_first(browser, site, kit):
    context, page, errors = open_page(browser, site, kit)
    page.goto(site + f"/recordings/{kit.own_recording}")
    add(page, kit, "codes", {"t": 3, "kind": "feedback", "valence": "negative", "level": "strategy",
                             "progress": True})
    add(page, kit, "codes", {"t": 4, "kind": "feedback", "valence": "positive", "level": "personal"})
    clip = add(page, kit, "clips", {"in": 5, "out": 8, "kind": "pearl", "title": "Mooie vraag"})
    page.reload()
    page.wait_for_selector("#marks li.mark-clips")
    items = page.locator("#marks li").all_inner_texts()
    assert any("feedback negatief, strategie, voortgang" in t for t in items), items
    assert any("feedback positief, persoonlijke kwaliteiten" in t for t in items), items
    assert any("parel “Mooie vraag”" in t for t in items), items
    titles = page.evaluate("Array.from(document.querySelectorAll('#timeline .marker')).map((m) => m.title)")
    assert any("feedback negatief, strategie, voortgang" in t for t in titles), titles
    assert not any(word in " ".join(items + titles) for word in ("strategy", "personal", "positive", "negative"))
    delete = page.locator("#marks li.mark-clips button.small")
    assert "Verwijderen" in delete.get_attribute("title")

    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    delete.click()
    page.wait_for_timeout(300)
    assert asked and "Fragment parel 0:05.0 → 0:08.0 verwijderen?" in asked[0]
    assert [k["id"] for k in annotations(page, kit)["clips"]] == [clip["id"]]  # kept
    page.once("dialog", lambda d: d.accept())
    delete.click()
    wait_js(page, "!document.querySelector('#marks li.mark-clips')")
    assert annotations(page, kit)["clips"] == []
    assert errors == []
    context.close()


def test_clips_page_keeps_the_edits_of_every_clip(browser, site, kit):
    context, page, errors = open_page(browser, site, kit)
    first = add(page, kit, "clips", {"in": 2, "out": 4, "kind": "pearl", "title": "Eerste"})
    second = add(page, kit, "clips", {"in": 6, "out": 9, "kind": "puzzle"})
    page.goto(site + f"/recordings/{kit.own_recording}/clips")
    page.evaluate("window.notReloaded = true")
    assert page.inner_text(f"section[id='{first['id']}'] h2 .clip-title") == "Eerste"
    one, two = page.locator(f"section[id='{first['id']}']"), page.locator(f"section[id='{second['id']}']")
    one.locator("textarea[name=teacher_want]").fill("rust in de klas")  # typed, never saved by hand
    two.locator("input[name=title]").fill("Lastige overgang")
    two.locator("textarea[name=pupils_do]").fill("kletsen")
    two.locator("form[data-autosave] button[type=submit]").click()
    two.locator(".saved-note:has-text('Opgeslagen')").wait_for()
    one.locator(".saved-note:has-text('Opgeslagen')").wait_for()  # saved itself
    assert page.evaluate("window.notReloaded === true")
    assert two.locator("h2 .clip-title").inner_text() == "Lastige overgang"
    page.reload()
    clips = {k["id"]: k for k in annotations(page, kit)["clips"]}
    assert clips[first["id"]]["reflection"]["teacher"]["want"] == "rust in de klas"
    assert clips[second["id"]]["title"] == "Lastige overgang"
    assert clips[second["id"]]["reflection"]["pupils"]["do"] == "kletsen"
    assert page.inner_text(f"section[id='{second['id']}'] h2 .clip-title") == "Lastige overgang"
    assert page.input_value(f"section[id='{first['id']}'] textarea[name=teacher_want]") == "rust in de klas"
    # the notes autosave too, and leave the clips alone
    page.fill("#notes", "Volgende keer: wachttijd")
    page.locator("#texts-form .saved-note:has-text('Opgeslagen')").wait_for(timeout=10_000)
    assert annotations(page, kit)["notes"] == "Volgende keer: wachttijd"
    # Verwijderen asks first; dismissed, the clip stays
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.locator(f"section[id='{second['id']}'] form[data-confirm] button").click()
    page.wait_for_timeout(300)
    assert asked and asked[0].startswith("Fragment puzzel") and len(annotations(page, kit)["clips"]) == 2
    assert errors == []
    context.close()


def test_play_clip_opens_the_player_at_the_clip_and_stops_at_its_end(browser, site, kit):
    context, page, errors = open_page(browser, site, kit)
    clip = add(page, kit, "clips", {"in": 6, "out": 9, "kind": "puzzle", "title": "Overgang"})
    page.goto(site + f"/recordings/{kit.own_recording}/clips")
    page.locator(f"section[id='{clip['id']}'] a.play-clip").click()
    page.wait_for_url(f"**/recordings/{kit.own_recording}#t=6.000,9.000")
    video = "document.getElementById('video')"
    wait_js(page, f"{video}.currentTime > 6.2 && !{video}.paused")  # started at the clip, playing
    wait_js(page, f"{video}.paused && {video}.currentTime >= 8.9")  # and stopped at its end
    assert page.evaluate(f"{video}.currentTime") < 9.6
    # A hand-made fragment that is not a span changes nothing.
    page.goto(site + "/library")
    page.goto(site + f"/recordings/{kit.own_recording}#t=9,3")
    wait_js(page, f"{video}.readyState >= 1")
    assert page.evaluate(f"{video}.currentTime") == 0
    assert errors == []
    context.close()


WIDEST = """() => {
    const w = document.documentElement.clientWidth;
    return Array.from(document.querySelectorAll('body *'))
        .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && (r.right > w + 1 || r.left < -1); })
        .map((el) => el.tagName + '#' + el.id + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right));
}"""


@pytest.mark.parametrize("width,height,label", [(390, 844, "phone"), (820, 1180, "ipad"), (1366, 768, "laptop")])
def test_changed_pages_fit(browser, site, kit, width, height, label):
    context, page, errors = open_page(browser, site, kit, width, height)
    add(page, kit, "clips", {"in": 2, "out": 6, "kind": "pearl", "title": "Een lange titel voor een mooie denkvraag"})
    for body in ({"t": 3, "kind": "feedback", "valence": "negative", "level": "personal", "progress": True},
                 {"t": 4, "kind": "question", "category": 2}, {"t": 5, "kind": "instruction"}):
        add(page, kit, "codes", body)
    SHOTS.mkdir(parents=True, exist_ok=True)
    rec = kit.own_recording
    for name, path in (("player", f"/recordings/{rec}"), ("clips", f"/recordings/{rec}/clips"),
                       ("stats", f"/recordings/{rec}/stats"), ("error", "/recordings/bestaat-niet")):
        page.goto(site + path)
        if name == "player":
            page.wait_for_selector("#marks li.mark-clips")
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, (name, label)
        assert page.evaluate(WIDEST) == [], (name, label)
        page.screenshot(path=str(SHOTS / f"{label}-{name}.png"), full_page=True)
    assert [e for e in errors if "404" not in e] == []
    context.close()
