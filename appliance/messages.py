"""Babel message catalogues (``.po``) compiled in memory.

The review app and the school server's dashboard both keep their catalogues
as ``<dir>/<locale>/LC_MESSAGES/messages.po`` and compile them when they
start, so the repository holds no ``.mo`` binaries.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations


def load_translations(directory: Path, locales: tuple[str, ...]) -> dict[str, Translations]:
    loaded: dict[str, Translations] = {}
    for locale in locales:
        with (directory / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalog = read_po(po, locale=locale)
        mo = io.BytesIO()
        write_mo(mo, catalog)
        mo.seek(0)
        loaded[locale] = Translations(fp=mo)
    return loaded
