"""Message catalogues: Dutch by default, English selectable.

The catalogues are the ``.po`` files under ``ui/translations``; they are
compiled in memory at start-up (no ``.mo`` binaries in the repository).
Message ids are English, so the ``en`` catalogue may leave most entries
empty and fall back to the id.
"""

from __future__ import annotations

from pathlib import Path

from babel.numbers import format_decimal
from babel.support import Translations
from flask import g, request

from appliance import messages

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
LANG_COOKIE = "kit_lang"


def load_translations(locales: tuple[str, ...]) -> dict[str, Translations]:
    return messages.load_translations(TRANSLATIONS_DIR, locales)


def choose_locale(locales: tuple[str, ...], default: str) -> str:
    wanted = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    return wanted if wanted in locales else default


def N_(message: str) -> str:
    """Mark a message id for extraction; it is translated where it is shown."""
    return message


def gettext(message: str, **params: object) -> str:
    translations: Translations | None = getattr(g, "translations", None)
    text = translations.gettext(message) if translations else message
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    translations: Translations | None = getattr(g, "translations", None)
    text = translations.ngettext(singular, plural, n) if translations else (singular if n == 1 else plural)
    return text % dict(params, num=n)


def plural_template(singular: str, plural: str, n: int) -> str:
    """The translated form for count ``n`` with ``%(num)s`` left in, for a page script that counts.

    Dutch and English, the kit's two languages, have one form for 1 and one
    for every other count; a script picks ``plural_template(..., 1)`` or
    ``plural_template(..., 2)`` with ``Intl.PluralRules``.
    """
    translations: Translations | None = getattr(g, "translations", None)
    return translations.ngettext(singular, plural, n) if translations else (singular if n == 1 else plural)


_ = gettext


def number(value: float) -> str:
    """A count or rate in the page's language: ``1,25`` in Dutch, ``1.25`` in English."""
    return format_decimal(value, format="#,##0.##", locale=g.get("locale", "nl"))
