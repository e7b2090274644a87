"""The review app served as the kit serves it (HTTPS, cheroot), and Debian's Chromium trusting its CA.

``serve(app)`` runs the app behind the kit's own TLS listener with a
certificate from a test CA (the school-CA path, through the kit's real
``TlsStore``) for ``lk-test0001.kits.test``; ``chromium()`` starts the
browser with that CA in its NSS database and the kit's name resolved to
loopback, as the hotspot's DNS resolves it. No certificate error is ignored.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kit.web_server import http_listener, https_listener  # noqa: E402
from tests.support.tls import KIT_NAME, TestCA, kit_contexts, nss_home  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@lru_cache(maxsize=1)
def school_ca() -> TestCA:
    return TestCA.create()


@lru_cache(maxsize=1)
def _kit_tls():
    return kit_contexts(Path(tempfile.mkdtemp(prefix="lkit-tls-")), school_ca())


@lru_cache(maxsize=1)
def browser_home() -> Path:
    return nss_home(school_ca().pem)


@contextmanager
def serve(app) -> Iterator[str]:
    """``https://lk-test0001.kits.test:PORT``: the app over the kit's TLS listener."""
    with serve_listener(app) as (site, _listener):
        yield site


@contextmanager
def serve_listener(app) -> Iterator[tuple[str, object]]:
    """Like :func:`serve`, with the ``kit.web_server.Listener`` too (its server and deadlines)."""
    listener = https_listener(app, "127.0.0.1", free_port(), _kit_tls()).start()
    try:
        yield f"https://{KIT_NAME}:{listener.port}", listener
    finally:
        listener.stop()


def trusting_context():
    """A TLS client context that trusts only the test school CA (no errors ignored)."""
    import ssl

    return ssl.create_default_context(cadata=school_ca().pem.decode())


@contextmanager
def serve_redirect(app) -> Iterator[tuple[str, str]]:
    """The kit's two listeners: ``(http_base, https_base)``."""
    from ui.redirect import redirect_app

    https = https_listener(app, "127.0.0.1", free_port(), _kit_tls()).start()
    plain = http_listener(redirect_app(https.port, default_host=lambda: KIT_NAME,
                                       known_host=lambda host: host == KIT_NAME), "127.0.0.1", free_port()).start()
    try:
        yield f"http://{KIT_NAME}:{plain.port}", f"https://{KIT_NAME}:{https.port}"
    finally:
        plain.stop()
        https.stop()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
                 # What the hotspot's DNS does for a real kit: its name is the kit's address.
                 f"--host-resolver-rules=MAP {KIT_NAME} 127.0.0.1"]


# WebGL without a GPU (the 360° viewer): Chromium's software renderer.
WEBGL_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


def launch(playwright, webgl: bool = False):
    """Debian's Chromium with the test CA installed in its certificate store."""
    args = [a for a in CHROMIUM_ARGS if a != "--disable-gpu"] + WEBGL_ARGS if webgl else CHROMIUM_ARGS
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args,
                                      env={**os.environ, "HOME": str(browser_home())})


@contextmanager
def chromium(webgl: bool = False) -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    import pytest
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make deps` installs Debian's chromium")
    with sync_playwright() as p:
        browser = launch(p, webgl=webgl)
        try:
            yield browser
        finally:
            browser.close()
