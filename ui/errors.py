"""The app's own error pages (and JSON errors under ``/api/``), in the page's language.

Werkzeug's exceptions carry English text ("Not Found", "The requested URL
was not found on the server…"); a teacher who follows a link to a deleted
recording should read Dutch. A view that aborts with its own (already
translated) ``description`` keeps it; otherwise the status code chooses a
title and a sentence from ``MESSAGES``.
"""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template
from werkzeug.exceptions import HTTPException

from ui import web
from ui.i18n import N_, gettext as _

#: status -> (title, explanation), English msgids with Dutch in the catalogue.
MESSAGES: dict[int, tuple[str, str]] = {
    400: (N_("Request not understood"), N_("The kit did not understand this request. Go back and try again.")),
    401: (N_("Unlock first"), N_("Unlock first.")),
    403: (N_("No access"), N_("You do not have access to this page.")),
    404: (N_("Not found"), N_("This page does not exist (any more). A recording or clip may have been deleted.")),
    405: (N_("Not possible this way"), N_("This page cannot be used this way. Go back and use the buttons on the page.")),
    409: (N_("Conflict"), N_("Someone else changed this at the same time. Reload the page and try again.")),
    413: (N_("Too large"), N_("That is too large for the kit.")),
    416: (N_("Not available"), N_("This part of the recording is not available.")),
    429: (N_("Too many attempts"), N_("Too many attempts. Wait a moment and try again.")),
    500: (N_("Something went wrong"),
          N_("Something went wrong on the kit. Try again; if it keeps happening, restart the kit.")),
    503: (N_("Not available right now"), N_("The kit is busy. Wait a moment and try again.")),
}


def texts(exc: HTTPException) -> tuple[int, str, str]:
    """``(status, title, explanation)`` in the page's language."""
    code = exc.code or 500
    title, default = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    own = exc.description if exc.description and exc.description != type(exc).description else None
    return code, _(title), _(own) if own else _(default)


def handle(exc: HTTPException) -> Any:
    code, title, explanation = texts(exc)
    if web.wants_json():
        response = web.json_error(code, explanation)
    else:
        response = make_response(render_template("error.html", code=code, title=title,
                                                 explanation=explanation), code)
    for name, value in exc.get_headers():  # keep Allow (405), Retry-After (429)
        if name.lower() in ("allow", "retry-after", "www-authenticate"):
            response.headers[name] = value
    return response
