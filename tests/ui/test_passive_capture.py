"""A pupil with the hotspot password records the air: what does she get?

The whole loopback traffic of an unlock-and-play session in Chromium is
captured with tcpdump (a PSK holder who captured the handshake sees the same
bytes a tap on the wire does). Over HTTPS it holds no passphrase, no
session cookie and no MP4; the same session over plain HTTP, as the kit
served it before, gives all three away (the control that shows the tap and
the scan work).
"""

from __future__ import annotations

import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import waitress

from appliance.footage.plaintext_scan import scan_for_plaintext_media
from ui import create_app
from ui.config import TestingConfig
from ui_recording import PASSPHRASES
from ui_server import chromium, free_port, serve

pytestmark = pytest.mark.browser
from playwright import sync_api  # a test dependency: missing, the run fails rather than skips


@contextmanager
def capture(port: int, out: Path) -> Iterator[Path]:
    """tcpdump on loopback for ``port``, written packet by packet; stopped and waited for."""
    proc = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", str(out), f"tcp port {port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        line = proc.stderr.readline().decode()  # "listening on lo, ..." once the filter is in place
        assert "listening on" in line, f"tcpdump did not start: {line}"
        yield out
    finally:
        time.sleep(0.5)  # the last packets of a closing connection
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def serve_plain_http(app) -> Iterator[str]:
    import threading

    port = free_port()
    server = waitress.create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        thread.join(5)


def review_session(site: str, kit) -> str:
    """Unlock as Anna, play her recording for a few seconds; returns the session cookie's value."""
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        page.goto(site + "/unlock")
        page.select_option("#person", kit.people["Anna"]["id"])
        page.fill("#passphrase", PASSPHRASES["Anna"])
        page.click("#unlock-button")
        page.wait_for_url(site + "/library")
        page.click(f"a[href='/recordings/{kit.own_recording}']")
        page.wait_for_selector("#video")
        page.click("#play")
        deadline = time.monotonic() + 60  # polled with evaluate: the page's CSP forbids eval
        while page.evaluate("document.getElementById('video').currentTime") <= 2:
            assert time.monotonic() < deadline, "the recording did not play"
            page.wait_for_timeout(100)
        cookie = next(c["value"] for c in context.cookies() if c["name"] == "kit_session")
        context.close()
    return cookie


def leaks(pcap: Path, passphrase: str, cookie: str) -> dict[str, bool]:
    data = pcap.read_bytes()
    return {
        "passphrase": passphrase.encode() in data or passphrase.replace(" ", "+").encode() in data,
        "cookie": cookie.encode() in data,
        "mp4": bool(scan_for_plaintext_media([pcap])),
    }


def test_nothing_personal_crosses_the_air_over_https(kit, tmp_path):
    app = create_app(data_dir=kit.data_dir, config=TestingConfig())
    with serve(app) as site:
        port = int(site.rsplit(":", 1)[1])
        with capture(port, tmp_path / "https.pcap") as pcap:
            cookie = review_session(site, kit)
    size = pcap.stat().st_size
    assert size > 200_000, f"the capture holds only {size} bytes: the tap saw no video"
    assert b"\x16\x03" in pcap.read_bytes()  # TLS handshake records: the tap saw the session
    assert leaks(pcap, PASSPHRASES["Anna"], cookie) == {"passphrase": False, "cookie": False, "mp4": False}


def test_control_the_same_session_over_plain_http_gives_everything_away(kit, tmp_path):
    app = create_app(data_dir=kit.data_dir, config=TestingConfig(secure_cookies=False))
    with serve_plain_http(app) as site:
        port = int(site.rsplit(":", 1)[1])
        with capture(port, tmp_path / "http.pcap") as pcap:
            cookie = review_session(site, kit)
    assert leaks(pcap, PASSPHRASES["Anna"], cookie) == {"passphrase": True, "cookie": True, "mp4": True}
