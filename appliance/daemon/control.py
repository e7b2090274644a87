"""The control socket (``DATA/run/kit.sock``): JSON lines between `kit` commands and `kit run`.

Request:  ``{"cmd": "start", "args": {...}}``
Reply:    ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "one line"}``
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
from pathlib import Path
from typing import Any, Callable

from appliance.errors import KitError

log = logging.getLogger("kit.control")

Handler = Callable[..., Any]


class DaemonNotRunning(KitError):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(
            f"the kit is not running (no daemon at {data_dir}; start it with `kit run`)"
        )


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    # Closing waits for requests in flight, so a command that ends the kit
    # (a 5-second button hold) still gets its answer.
    daemon_threads = False
    block_on_close = True
    handlers: dict[str, Handler]


class _RequestHandler(socketserver.StreamRequestHandler):
    timeout = 60  # a client that never sends its line cannot hold up shutdown forever
    def handle(self) -> None:
        line = self.rfile.readline(64 * 1024)
        if not line:
            return
        try:
            request = json.loads(line)
            cmd = request["cmd"]
            args = request.get("args") or {}
            if not isinstance(args, dict):
                raise ValueError("args must be an object")
            handler = self.server.handlers.get(cmd)  # type: ignore[attr-defined]
            if handler is None:
                reply = {"ok": False, "error": f"unknown command: {cmd!r}"}
            else:
                reply = {"ok": True, "result": handler(**args)}
        except KitError as exc:
            reply = {"ok": False, "error": str(exc)}
        except (ValueError, KeyError, TypeError) as exc:
            reply = {"ok": False, "error": f"bad request: {exc}"}
        except Exception as exc:  # keep the daemon alive; say what happened
            log.exception("control command failed")
            reply = {"ok": False, "error": f"internal error: {type(exc).__name__}: {exc}"}
        try:
            self.wfile.write((json.dumps(reply, default=str) + "\n").encode())
        except OSError:
            pass


class ControlServer:
    def __init__(self, path: Path, handlers: dict[str, Handler]) -> None:
        self.path = Path(path)
        self.handlers = handlers
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        if self.path.exists() or self.path.is_socket():
            if _answers(self.path):
                raise KitError(f"the kit is already running (control socket {self.path})")
            self.path.unlink()  # left behind by a process that died
        old_umask = os.umask(0o177)
        try:
            server = _Server(str(self.path), _RequestHandler)
        finally:
            os.umask(old_umask)
        server.handlers = self.handlers
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="control-socket",
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def call(data_dir: Path, cmd: str, timeout: float = 30.0, **args: Any) -> Any:
    """Send one command to the running kit; KitError with its message on failure."""
    path = Path(data_dir) / "run" / "kit.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise DaemonNotRunning(Path(data_dir)) from None
        except PermissionError:
            raise KitError(f"no permission to talk to the kit at {path} (try sudo)") from None
        sock.sendall((json.dumps({"cmd": cmd, "args": args}) + "\n").encode())
        reader = sock.makefile("rb")
        try:
            line = reader.readline()
        except socket.timeout:
            raise KitError(f"the kit did not answer within {timeout:g} s") from None
    if not line:
        raise KitError("the kit closed the connection without answering")
    reply = json.loads(line)
    if not reply.get("ok"):
        raise KitError(reply.get("error") or "the kit refused the command")
    return reply.get("result")
