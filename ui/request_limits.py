"""Input a stranger controls, bounded before any view sees it.

Anyone on the hotspot can send anything. Each limit here turns a request that
used to end in a 500 (an exception deep in a view) into a 4xx:

- integers in URLs (``seg-<int>.m4s``, ``meetings/<int>``) stop at SQLite's
  64-bit range: a larger one is a 404, not an ``OverflowError`` in the catalogue;
- JSON bodies nest at most ``MAX_JSON_DEPTH`` deep: 100,000 ``[`` are a 400,
  not a ``RecursionError`` (here, or later in code that walks the document);
- a body must say its length (``Content-Length``): a chunked upload is a 411.
  Browsers never send one for a form or ``fetch`` JSON, and without a length
  Werkzeug hands the view the first 1 MiB as if it were all of it.

Body and header sizes are bounded by the server (``kit.web_server``) and by
``MAX_CONTENT_LENGTH``; byte ranges by ``ui.media.parse_range``.

>>> converter = SQLiteInt(None)
>>> converter.to_python("9223372036854775807")
9223372036854775807
>>> converter.to_python("9223372036854775808")
Traceback (most recent call last):
...
werkzeug.routing.converters.ValidationError
>>> json_depth([1, {"a": [2, [3]]}]), json_depth("flat")
(4, 0)
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

#: SQLite stores integers in 64 bits; anything larger cannot name a row.
SQLITE_MAX_INT = 2**63 - 1
#: The deepest any document of the API nests is 4 (a clip's reflection grid); 32 leaves room.
MAX_JSON_DEPTH = 32


class SQLiteInt(IntegerConverter):
    """The ``int`` URL converter, limited to what SQLite can compare against."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", SQLITE_MAX_INT)
        super().__init__(map, *args, **kwargs)


def json_depth(value: Any) -> int:
    """How deep containers nest in ``value`` (counted without recursion, so any depth is safe)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in item)
    return deepest


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing documents nested deeper than ``MAX_JSON_DEPTH``.

    A refusal is a ``ValueError``, which ``request.get_json`` already turns
    into a 400 (or ``None`` with ``silent=True``).
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
        if json_depth(value) > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return value


def require_length() -> None:
    if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        abort(411, description="send the body with a Content-Length")


def install(app: Flask) -> None:
    """Call before the blueprints are registered: their routes are built with these converters."""
    app.url_map.converters["int"] = SQLiteInt
    app.json_provider_class = BoundedJSONProvider
    app.json = BoundedJSONProvider(app)
    app.before_request(require_length)
