"""Where the login page may send someone afterwards: a page of this site only.

Browsers read more as "another site" than a parser expects: ``//evil``,
``/\\evil`` (a backslash is a slash to them), ``/<tab>/evil`` (tabs and
newlines are dropped), ``https:evil``. So a target must be a plain path
that one of the dashboard's own GET routes answers; anything else goes to
the start page.

>>> from werkzeug.routing import Map, Rule
>>> routes = Map([Rule("/"), Rule("/people")]).bind("dashboard")
>>> [local_target(t, routes) for t in ("/people", "/people?lang=en", "//evil.example", "/\\\\evil",
...                                     "https:evil", "/\\t/evil", "/nope", None)]
['/people', '/people?lang=en', '/', '/', '/', '/', '/', '/']
"""

from __future__ import annotations

from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter, RequestRedirect

MAX_TARGET = 200


def local_target(target: str | None, routes: MapAdapter) -> str:
    """``target`` if it is a page of this site, else ``"/"``."""
    if not target or len(target) > MAX_TARGET or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or not target.isprintable() or any(c.isspace() for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.fragment:
        return "/"
    try:
        routes.match(parts.path, method="GET")
    except (HTTPException, RequestRedirect):
        return "/"
    return target
