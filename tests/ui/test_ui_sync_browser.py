"""The sync line follows a running sync by itself in a real headless Chromium,
under the app's own Content-Security-Policy (sync.js is a static file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.agent import config as sync_config
from sync.agent.config import SyncPaths
from sync.agent.service import _Lock, write_status
from ui import create_app
from ui.config import TestingConfig
from ui_recording import PASSPHRASES
from ui_server import CHROMIUM, launch, serve

pytestmark = pytest.mark.browser
from playwright import sync_api  # a test dependency: missing, the run fails rather than skips
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3Xq1Lq9zYbqgq3yqSxq6gM9E0x5Kx0b1Hx3o4v3kDa"


def test_the_line_updates_when_the_sync_finishes(kit):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make deps` installs Debian's chromium")
    paths = SyncPaths(kit.data_dir)
    sync_config.setup(paths, "127.0.0.1", HOST_KEY)
    app = create_app(data_dir=kit.data_dir, config=TestingConfig())
    with serve(app) as site, sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            write_status(paths, "syncing")
            with _Lock(paths.lock_file, 0):
                page.goto(site + "/unlock")
                page.select_option("#person", kit.people["Anna"]["id"])
                page.fill("#passphrase", PASSPHRASES["Anna"])
                page.click("#unlock-button")
                page.wait_for_url(site + "/library")
                assert page.text_content("#sync-status") == "Bezig met synchroniseren…"
                write_status(paths, "done", batches=1, seconds=0.4)
            # a selector, not wait_for_function: the page's CSP forbids eval
            page.wait_for_selector("#sync-status[data-state='done']", timeout=20_000)
            assert page.text_content("#sync-status").startswith("Laatst gesynchroniseerd op ")
            assert errors == []  # e.g. no CSP refusal of the script
        finally:
            browser.close()
