"""The plain-HTTP side of the kit: it only sends browsers to HTTPS.

It never serves the unlock form, never reads a body and never sets a
cookie, so nothing personal ever crosses the hotspot in the clear. Captive
portal probes (phones and laptops ask a well-known URL when they join a
network) are answered with a redirect too, which makes the phone offer the
kit's page right after joining the Wi-Fi.

>>> from werkzeug.test import Client
>>> app = redirect_app(https_port=443, default_host=lambda: "10.42.0.1", known_host=lambda h: h == "lk-ab.kits.example")
>>> r = Client(app).get("/library?x=1", headers={"Host": "lk-ab.kits.example"})
>>> r.status_code, r.headers["Location"], "Set-Cookie" in r.headers
(301, 'https://lk-ab.kits.example/library?x=1', False)
>>> Client(app).get("/hotspot-detect.html", headers={"Host": "captive.apple.com"}).headers["Location"]
'https://10.42.0.1/'
>>> Client(app).post("/unlock", data={"passphrase": "x"}).status_code
403
"""

from __future__ import annotations

import ipaddress
from html import escape
from typing import Any, Callable, Iterable

# What operating systems fetch to find out whether a network has a portal.
CAPTIVE_PROBES = {
    "/hotspot-detect.html", "/library/test/success.html",   # Apple
    "/generate_204", "/gen_204",                            # Android, ChromeOS
    "/connecttest.txt", "/ncsi.txt", "/redirect",           # Windows
    "/canonical.html", "/success.txt",                      # Firefox, others
}


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def _host_of(environ: dict[str, Any]) -> str:
    raw = (environ.get("HTTP_HOST") or "").lower()
    if raw.startswith("["):
        return raw[: raw.find("]") + 1]
    return raw.split(":", 1)[0]


def redirect_app(https_port: int, default_host: Callable[[], str],
                 known_host: Callable[[str], bool]) -> Callable[..., Iterable[bytes]]:
    """A WSGI app that answers every GET with a redirect to the same page over HTTPS."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        host = _host_of(environ)
        path = environ.get("PATH_INFO") or "/"
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                   ("Connection", "close")]
        if method not in ("GET", "HEAD"):
            # Whatever was sent is already out in the clear; at least do nothing with it.
            start_response("403 Forbidden", headers)
            return [b"<!doctype html><p>Alleen via https:// / Only over https://</p>"]
        if path in CAPTIVE_PROBES or not host or not (known_host(host) or _is_address(host) or host == "localhost"):
            host, path, query = default_host(), "/", ""
        else:
            query = environ.get("QUERY_STRING") or ""
        port = "" if https_port == 443 else f":{https_port}"
        target = f"https://{host}{port}{path}" + (f"?{query}" if query else "")
        start_response("301 Moved Permanently", [("Location", target), *headers])
        link = escape(target, quote=True)
        return [f'<!doctype html><p><a href="{link}">{link}</a></p>'.encode()]

    return app
