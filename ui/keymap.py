"""The player's keyboard shortcuts, in one table.

The player page renders the ``<kbd>`` hints on its buttons and its
"Keyboard shortcuts" help from :data:`KEYS`, and hands the same table to the
page's script as JSON (``<script type="application/json" id="keymap">``):
``static/player/keymap.js`` dispatches each key to the action named here,
the same action the matching button runs (``data-action``).

An action is a name with its arguments after colons, e.g. ``seek:-5`` or
``code:question:2``; ``static/player/main.js`` knows the names. Labels and
key names are message ids, translated when a page is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ui.i18n import N_, gettext


@dataclass(frozen=True)
class Key:
    key: str  # KeyboardEvent.key
    action: str  # "name:arg:arg", run by the page's script
    label: str  # message id
    group: str  # one of GROUPS
    name: str | None = None  # how the key is written where its KeyboardEvent.key is not (space, arrows)
    aliases: tuple[str, ...] = ()  # more KeyboardEvent.key values for the same action


GROUPS: tuple[tuple[str, str], ...] = (
    ("playback", N_("Playback")),
    ("coding", N_("Coding")),
    ("level", N_("Feedback level")),
    ("clip", N_("Clip")),
    ("talk", N_("Possible questions")),
    ("view", N_("360° view")),
)
# Groups that write to the recording's annotations, so only on the review page (not live).
CODING_GROUPS = frozenset({"coding", "level", "clip", "talk"})

KEYS: tuple[Key, ...] = (
    Key(" ", "toggle", N_("Play / pause"), "playback", name=N_("space")),
    Key("ArrowLeft", "seek:-5", N_("5 s back"), "playback", name="←"),
    Key("ArrowRight", "seek:5", N_("5 s forward"), "playback", name="→"),
    Key(",", "frame:-1", N_("One frame back"), "playback"),
    Key(".", "frame:1", N_("One frame forward"), "playback"),
    Key("z", "rate:0.25", N_("Speed 0.25×"), "playback"),
    Key("x", "rate:0.5", N_("Speed 0.5×"), "playback"),
    Key("n", "rate:1", N_("Normal speed"), "playback"),
    Key("i", "code:instruction", N_("Instruction"), "coding"),
    Key("1", "code:question:1", N_("Question 1"), "coding"),
    Key("2", "code:question:2", N_("Question 2"), "coding"),
    Key("3", "code:question:3", N_("Question 3"), "coding"),
    Key("+", "code:feedback:positive", N_("Feedback +"), "coding", aliases=("=",)),
    Key("-", "code:feedback:negative", N_("Feedback −"), "coding"),
    Key("c", "level:content", N_("content"), "level"),
    Key("s", "level:strategy", N_("strategy"), "level"),
    Key("m", "level:modus", N_("modus"), "level"),
    Key("p", "level:personal", N_("personal qualities"), "level"),
    Key("g", "progress", N_("progress feedback"), "level"),
    Key("[", "mark:in", N_("In"), "clip"),
    Key("]", "mark:out", N_("Out"), "clip"),
    Key("j", "suggest:next", N_("Next possible question"), "talk"),
    Key("a", "look:left", N_("Look left"), "view"),
    Key("d", "look:right", N_("Look right"), "view"),
    Key("ArrowUp", "look:up", N_("Look up"), "view", name="↑"),
    Key("ArrowDown", "look:down", N_("Look down"), "view", name="↓"),
    Key("0", "look:reset", N_("Reset view"), "view"),
)


def _check(keys: tuple[Key, ...]) -> None:
    groups = {g for g, _heading in GROUPS}
    pressed = [k for key in keys for k in (key.key, *key.aliases)]
    doubled = sorted({k for k in pressed if pressed.count(k) > 1})
    if doubled:
        raise ValueError(f"keys bound twice: {doubled}")
    actions = [key.action for key in keys]
    if len(set(actions)) != len(actions):
        raise ValueError("an action has two keys")
    strays = [key.key for key in keys if key.group not in groups]
    if strays:
        raise ValueError(f"keys outside the groups: {strays}")


_check(KEYS)


@dataclass(frozen=True)
class Shown:
    """One key as a page shows it: translated label and key name."""

    key: str
    action: str
    label: str
    kbd: str
    group: str

    @property
    def title(self) -> str:
        return f"{self.label} ({self.kbd})"


class PageKeys:
    """The table for one page, translated: hints by action, help by group, JSON for the script."""

    def __init__(self, keys: tuple[Key, ...], translate: Callable[[str], str]):
        self._keys = keys
        self._shown: dict[str, Shown] = {}
        for key in keys:
            name = translate(key.name) if key.name else key.key  # "←" is no message id and stays "←"
            self._shown[key.action] = Shown(key.key, key.action, translate(key.label), name, key.group)
        self.groups = [(translate(heading), self.group(group))
                       for group, heading in GROUPS if any(k.group == group for k in keys)]

    def shown(self, action: str) -> Shown:
        """The key for an action; a KeyError (so a failing page) for an action the table lacks."""
        return self._shown[action]

    def group(self, group: str) -> list[Shown]:
        return [s for s in self._shown.values() if s.group == group]

    def __iter__(self) -> Iterator[Shown]:
        return iter(self._shown.values())

    def client(self) -> list[dict[str, Any]]:
        """What the page's script needs: which keys run which action."""
        return [{"keys": [key.key, *key.aliases], "action": key.action} for key in self._keys]


def for_page(coding: bool, translate: Callable[[str], str] = gettext, spherical: bool = False) -> PageKeys:
    """The review page has every key; the live page only the playback ones;
    the keys that turn the view only where there is a 360° picture to turn."""
    keys = KEYS if coding else tuple(k for k in KEYS if k.group not in CODING_GROUPS)
    if not spherical:
        keys = tuple(k for k in keys if k.group != "view")
    return PageKeys(keys, translate)


__all__ = ["CODING_GROUPS", "GROUPS", "KEYS", "Key", "PageKeys", "Shown", "for_page"]
