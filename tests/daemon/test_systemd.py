"""sd_notify and the watchdog against a real datagram socket."""

from __future__ import annotations

import os
import socket
import threading

from appliance.daemon import systemd


def listener(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    return sock


def test_notify_reaches_path_and_abstract_sockets(tmp_path):
    with listener(str(tmp_path / "n.sock")) as sock:
        assert systemd.notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "n.sock")})
        assert sock.recv(64) == b"READY=1"
    name = f"lessonkit-test-{os.getpid()}"
    with listener("\0" + name) as sock:
        assert systemd.notify("STOPPING=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(64) == b"STOPPING=1"
    assert systemd.notify("READY=1", {}) is False
    assert systemd.notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False


def test_watchdog_interval_is_half_the_timeout_and_respects_the_pid():
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert systemd.watchdog_interval({}) is None
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "x"}) is None
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}) is None


def test_watchdog_goes_quiet_when_the_main_loop_stops_beating(tmp_path):
    path = str(tmp_path / "w.sock")
    with listener(path) as sock:
        env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"}
        dog = systemd.Watchdog(environ=env, stale_after=0.5)
        dog.beat()
        dog.start()
        try:
            assert sock.recv(64) == b"WATCHDOG=1"
            threading.Event().wait(0.6)          # no beats: the loop "hangs"
            sock.setblocking(False)
            while True:                          # drain what was sent before it went stale
                try:
                    sock.recv(64)
                except BlockingIOError:
                    break
            sock.settimeout(1.0)
            try:
                extra = sock.recv(64)
            except socket.timeout:
                extra = None
            assert extra is None
            dog.beat()                           # the loop is back
            sock.settimeout(5)
            assert sock.recv(64) == b"WATCHDOG=1"
        finally:
            dog.stop()
