"""One key-map table (ui/keymap.py): the player's <kbd> hints, its button
titles, its "Keyboard shortcuts" help and the keys its script handles all
come from it."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from ui import keymap
from ui.keymap import KEYS, Key
from ui_helpers import unlock


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: "Node | None"):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []  # type: list

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def all(self, tag: str | None = None, **attrs: str):
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and all(child.attrs.get(k.replace("_", "-")) == v
                                                             for k, v in attrs.items()):
                    yield child
                yield from child.all(tag, **attrs)

    def one(self, tag: str | None = None, **attrs: str) -> "Node":
        found = list(self.all(tag, **attrs))
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]


VOID = {"input", "meta", "link", "br", "img", "hr", "source"}


class Tree(HTMLParser):
    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.root = self.node = Node("#document", {}, None)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.node)
        self.node.children.append(node)
        if tag not in VOID:
            self.node = node

    def handle_endtag(self, tag):
        node = self.node
        while node.parent is not None and node.tag != tag:
            node = node.parent
        if node.parent is not None:
            self.node = node.parent

    def handle_data(self, data):
        self.node.children.append(data)


def inside(node: Node, ancestor: Node) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


@pytest.fixture
def translations(app):
    return app.extensions["kit_translations"]


def player_page(app, kit, lang: str = "nl") -> Node:
    client = app.test_client()
    unlock(client, kit)
    response = client.get(f"/recordings/{kit.own_recording}?lang={lang}")
    assert response.status_code == 200
    return Tree(response.get_data(as_text=True)).root


# A flat recording's page: no 360° view to turn, so no view keys.
FLAT = [k for k in KEYS if k.group != "view"]


def shown_key(key: Key, gettext) -> str:
    return gettext(key.name) if key.name else key.key


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_help_lists_every_key_of_the_table(app, kit, translations, lang):
    gettext = translations[lang].gettext
    page = player_page(app, kit, lang)
    help_box = page.one("details", id="key-help")
    listed = [(div.one("kbd").text(), div.one("dd").text()) for div in help_box.all("div")]
    assert listed == [(shown_key(k, gettext), gettext(k.label)) for k in FLAT]
    headings = [h.text() for h in help_box.all("h3")]
    assert headings == [gettext(heading) for group, heading in keymap.GROUPS if group != "view"]
    if lang == "nl":
        assert ("spatie", "Afspelen / pauze") in listed and ("[", "Begin") in listed
    else:
        assert ("space", "Play / pause") in listed and ("[", "In") in listed


def test_hints_and_titles_on_the_controls_come_from_the_table(app, kit, translations):
    gettext = translations["nl"].gettext
    page = player_page(app, kit)
    help_box = page.one("details", id="key-help")
    by_action = {k.action: k for k in FLAT}

    controls: dict[str, Node] = {}
    for el in page.all():
        action = el.attrs.get("data-action")
        if action:
            assert action not in controls, f"two controls for {action}"
            controls[action] = el
    # Every playback, coding and clip key has its button, whose title names the key.
    for key in FLAT:
        if key.action.startswith("level:") or key.action == "progress":
            continue
        el = controls[key.action]
        assert el.tag == "button"
        assert el.attrs["title"] == f"{gettext(key.label)} ({shown_key(key, gettext)})"
    # Buttons without a key: saving the marked clip.
    assert set(controls) - set(by_action) == {"clip:pearl", "clip:puzzle"}

    # The <kbd> hints outside the help: one per coding, level and clip key, on its own control.
    hints = [kbd for kbd in page.all("kbd") if not inside(kbd, help_box)]
    expected = [k for k in KEYS if k.group in keymap.CODING_GROUPS]
    assert [h.text() for h in hints] == [shown_key(k, gettext) for k in expected]
    for hint, key in zip(hints, expected):
        holder = hint.parent
        assert gettext(key.label) in holder.text()
        if holder.tag == "button":
            assert holder.attrs["data-action"] == key.action
        else:  # a level's radio button or the progress checkbox, in its <label>
            field = holder.one("input")
            if key.action == "progress":
                assert field.attrs["id"] == "progress-flag"
            else:
                assert field.attrs["value"] == key.action.split(":")[1]


def test_the_script_gets_the_same_table(app, kit):
    page = player_page(app, kit)
    table = json.loads(page.one("script", id="keymap").text())
    assert table == [{"keys": [k.key, *k.aliases], "action": k.action} for k in FLAT]
    scripts = [s.attrs for s in page.all("script") if s.attrs.get("src")]
    assert {"type": "module", "src": "/static/player/main.js"} in scripts
    assert not [s for s in page.all("script") if not s.attrs.get("src") and s.attrs.get("type") != "application/json"]


def test_live_page_gets_the_playback_keys(live_app, kit):
    from ui_helpers import page_csrf

    client = live_app.test_client()
    unlock(client, kit)
    assert client.post("/live/start", data={"csrf_token": page_csrf(client.get("/live").get_data(as_text=True))}
                       ).status_code == 302
    page = Tree(client.get("/live").get_data(as_text=True)).root
    table = json.loads(page.one("script", id="keymap").text())
    assert table == [{"keys": [k.key, *k.aliases], "action": k.action} for k in KEYS if k.group == "playback"]
    assert {s.attrs["src"] for s in page.all("script", type="module")} == {"/static/player/main.js", "/static/live.js"}
    assert client.post("/live/stop", data={"csrf_token": page_csrf(client.get("/live").get_data(as_text=True))}
                       ).status_code == 302


def test_a_360_lesson_adds_the_view_keys_to_the_help_and_the_script(sphere_kit, translations):
    from ui import create_app
    from ui.config import TestingConfig

    kit, recording = sphere_kit
    client = create_app(controller=None, data_dir=kit.data_dir, config=TestingConfig()).test_client()
    unlock(client, kit)
    page = Tree(client.get(f"/recordings/{recording}").get_data(as_text=True)).root
    gettext = translations["nl"].gettext
    help_box = page.one("details", id="key-help")
    listed = [(div.one("kbd").text(), div.one("dd").text()) for div in help_box.all("div")]
    assert listed == [(shown_key(k, gettext), gettext(k.label)) for k in KEYS]
    assert ("a", "Naar links kijken") in listed and ("↑", "Omhoog kijken") in listed
    assert [h.text() for h in help_box.all("h3")][-1] == "360°-beeld"
    table = json.loads(page.one("script", id="keymap").text())
    assert table == [{"keys": [k.key, *k.aliases], "action": k.action} for k in KEYS]
    reset = [el for el in page.all("button") if el.attrs.get("data-action") == "look:reset"]
    assert len(reset) == 1 and reset[0].attrs["title"] == "Beeld terugzetten (0)"


def test_a_key_bound_twice_is_refused():
    with pytest.raises(ValueError, match="bound twice"):
        keymap._check((*KEYS, Key("=", "rate:2", "Speed 2×", "playback")))
    with pytest.raises(ValueError, match="outside the groups"):
        keymap._check((Key("q", "toggle", "Play / pause", "nowhere"),))

