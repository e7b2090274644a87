"""No English on a Dutch page: every string a page shows, in the Dutch locale, is checked
against the English catalogue's messages, in real Chromium after the page's scripts ran.

A text that equals an English message whose Dutch translation differs is a
string that escaped translation: a template without ``_()``, a message
built by hand in Python, or a word a script inserts from the wrong place.
"""

from __future__ import annotations

import pytest

from test_ui_every_page_fits import _prepared, pages_for, signed_in
from test_ui_i18n import catalog
from test_intervisie import group_kit  # noqa: F401 (the fixture)
from ui_server import serve

pytestmark = pytest.mark.browser

# Visible text nodes, the attributes a person reads or hears, and the words
# pages hand to their scripts (data-* on #i18n and on <template>s).
SHOWN = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest("script, style, body [lang]")) continue;  // lang inside: a word meant in that language (EN)
    if (!el.getClientRects().length) continue;
    const text = node.textContent.trim();
    if (text) out.push(text);
  }
  for (const el of document.querySelectorAll("[placeholder], [title], [aria-label], [alt], input[type=submit]")) {
    for (const a of ["placeholder", "title", "aria-label", "alt", "value"]) {
      if (el.hasAttribute(a) && (a !== "value" || el.type === "submit")) out.push(el.getAttribute(a).trim());
    }
  }
  for (const el of document.querySelectorAll("#i18n, template")) {
    for (const value of Object.values(el.dataset)) out.push(value.trim());
  }
  out.push(document.title.trim());
  return out;
}"""


def shown_messages(texts: list[str], english: set[str]) -> set[str]:
    """The English messages among ``texts``, also where a page puts an arrow or a bullet beside one."""
    found = set()
    for text in texts:
        for candidate in (text, text.strip(" ▶←→·:|")):
            if candidate in english:
                found.add(candidate)
    return found


def untranslated_words() -> set[str]:
    """English messages that read differently in Dutch (a message that is the same in both says nothing)."""
    nl = catalog("nl")
    words = set()
    for message in catalog("en"):
        if not message.id or not isinstance(message.id, str) or "%(" in message.id:
            continue
        dutch = nl.get(message.id)
        if dutch is not None and dutch.string and dutch.string != message.id:
            words.add(message.id)
    return words


def test_no_dutch_page_shows_an_english_message(browser, group_kit):
    kit = group_kit
    app, share_id, trajectory, clip_id = _prepared(kit)
    english = untranslated_words()
    assert {"Save", "Delete", "Play clip"} <= english  # the check has something to find
    found = {}
    with serve(app) as site:
        for who, paths in pages_for(kit, share_id, trajectory, clip_id):
            context, page = signed_in(browser, site, kit, who, viewport={"width": 1366, "height": 768},
                                      locale="nl-NL")
            for path in paths:
                page.goto(site + path)
                page.wait_for_load_state("networkidle")
                if page.evaluate("document.documentElement.lang") != "nl":
                    found[f"{who} {path}"] = ["page is not in Dutch"]
                    continue
                shown = shown_messages(page.evaluate(SHOWN), english)
                if shown:
                    found[f"{who} {path}"] = sorted(shown)
            if who == "Anna":
                # The control: the same check on an English page finds English.
                page.goto(site + f"/recordings/{kit.own_recording}/clips?lang=en")
                page.wait_for_load_state("networkidle")
                assert {"Save", "Play clip"} <= shown_messages(page.evaluate(SHOWN), english)
                page.goto(site + "/library?lang=nl")
            context.close()
    assert found == {}
