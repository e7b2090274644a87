"""The Dutch catalogue covers every message the app shows; English is selectable."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

UI = Path(__file__).resolve().parents[2] / "ui"
# Words that reach _() through a variable (states, roles, kinds, levels, grid).
DYNAMIC = ["recording", "complete", "interrupted", "teacher", "coach", "pearl", "puzzle", "instruction",
           "question", "feedback", "positive", "negative", "content", "strategy", "modus", "personal",
           "progress", "want", "feel", "think", "do", "grid teacher", "grid pupils"]


def catalog(locale: str):
    with (UI / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


def used_messages() -> set[str]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(UI), method_map, keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_has_a_dutch_translation():
    nl = catalog("nl")
    missing = [m for m in sorted(used_messages() | set(DYNAMIC)) if not (nl.get(m) and nl.get(m).string)]
    assert missing == []
    assert len(used_messages()) > 100  # the extraction really found the templates


def test_placeholders_survive_translation():
    for message in catalog("nl"):
        if message.id and isinstance(message.id, str) and "%(" in message.id:
            assert message.python_format and message.check() == [], message.id


def test_english_pages(client):
    html = client.get("/unlock?lang=en").get_data(as_text=True)
    assert 'lang="en"' in html and "Unlock your recordings" in html
    html = client.get("/unlock?lang=nl").get_data(as_text=True)
    assert 'lang="nl"' in html and "Ontgrendel je opnames" in html
    assert "Ontgrendel je opnames" in client.get("/unlock?lang=xx").get_data(as_text=True)
