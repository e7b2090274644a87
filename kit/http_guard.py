"""Keeping cheroot's few threads for the people who are really talking to the kit.

Out of the box cheroot does each TLS handshake on its one accepting thread,
hands every new connection to a worker at once, and lets a request take as
long as it likes, ten seconds of silence at a time. On the hotspot each of
these is a lockout: a phone that opens TCP connections and sends nothing
stalls every new connection for 10 s apiece (measured: three silent
connections kept the teacher waiting 30 s), and connections that drip a
byte now and then hold worker threads indefinitely. So:

- the handshake runs on a worker (:class:`TlsOnWorker` defers it), and only
  once the connection has sent something: a connection that is not yet
  readable goes back to cheroot's selector, where it costs no thread until
  cheroot drops it after its idle timeout (:class:`GuardedConnection`);
- a request that has not begun its response within ``deadline_s`` of the
  worker taking it (handshake, headers, body and the view until it answers)
  has its socket shut down by a reaper thread (:class:`Deadlines`), which frees
  the worker. A long download is not cut: the clock stops at the response's
  first byte.

>>> d = Deadlines(deadline_s=5, clock=lambda: 0.0)
>>> d.overdue(now=4.0), d.watching
([], 0)
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from typing import Any, Callable

from cheroot import server
from cheroot.ssl.builtin import BuiltinSSLAdapter

#: A TLS handshake, the request head and a 1 MiB body take well under this even on a weak Wi-Fi link.
DEADLINE_S = 15.0


class TlsOnWorker(BuiltinSSLAdapter):
    """The kit's TLS adapter, with the handshake left to :class:`GuardedConnection` on a worker thread."""

    def wrap(self, sock: socket.socket) -> tuple[ssl.SSLSocket, dict[str, str]]:
        # No I/O here: this runs on cheroot's one accepting thread.
        tls = self.context.wrap_socket(sock, do_handshake_on_connect=False, server_side=True)
        return tls, {"HTTPS": "on"}


class Deadlines:
    """Sockets whose request must have started its response by a given time."""

    def __init__(self, deadline_s: float = DEADLINE_S, clock: Callable[[], float] = time.monotonic,
                 tick_s: float = 0.5) -> None:
        self.deadline_s = deadline_s
        self._clock = clock
        self._tick_s = tick_s
        self._due: dict[int, tuple[socket.socket, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Requests cut off so far (for tests and the log).
        self.reaped = 0

    @property
    def watching(self) -> int:
        with self._lock:
            return len(self._due)

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._due[id(sock)] = (sock, self._clock() + self.deadline_s)

    def release(self, sock: socket.socket) -> None:
        with self._lock:
            self._due.pop(id(sock), None)

    def overdue(self, now: float | None = None) -> list[socket.socket]:
        now = self._clock() if now is None else now
        with self._lock:
            late = [key for key, (_sock, due) in self._due.items() if due <= now]
            return [self._due.pop(key)[0] for key in late]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="http-deadlines", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self._tick_s):
            for sock in self.overdue():
                self.reaped += 1
                try:
                    # The plain socket's shutdown, not SSLSocket's (which would drop its TLS
                    # state under the worker still reading): the worker's read returns, it closes.
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass  # already gone


class GuardedRequest(server.HTTPRequest):
    def send_headers(self) -> None:
        self.conn.deadlines.release(self.conn.socket)  # answering now: a slow download is fine
        super().send_headers()


class GuardedConnection(server.HTTPConnection):
    RequestHandlerClass = GuardedRequest
    deadlines: Deadlines  # set on the subclass that guarded() makes
    _tls_done = False

    def communicate(self) -> bool:
        if not self._readable():
            return True  # back to the selector: a silent connection holds no thread
        self.deadlines.watch(self.socket)
        try:
            if isinstance(self.socket, ssl.SSLSocket) and not self._tls_done:
                if not self._handshake():
                    return False
            return super().communicate()
        finally:
            self.deadlines.release(self.socket)

    def _readable(self) -> bool:
        if self.rfile.has_data() or (isinstance(self.socket, ssl.SSLSocket) and self._tls_done
                                     and self.socket.pending()):
            return True
        # poll, not select: select() cannot watch descriptors above 1023, and a flood makes many.
        poller = select.poll()
        try:
            poller.register(self.socket, select.POLLIN | select.POLLPRI)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True  # let communicate() meet the error and close

    def _handshake(self) -> bool:
        try:
            self.socket.do_handshake()
        except ssl.SSLError as exc:
            if "http request" in str(exc).lower():
                self._say_use_https()
            return False
        except OSError:  # reset, timeout, or cut off by the deadline
            return False
        self._tls_done = True
        return True

    def _say_use_https(self) -> None:
        msg = b"The client sent a plain HTTP request, but this server only speaks HTTPS on this port."
        head = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        try:
            # Below TLS on purpose: the peer speaks plain HTTP.
            socket.socket.sendall(self.socket, head + b"Content-Length: %d\r\n\r\n" % len(msg) + msg)
        except OSError:
            pass


def guarded(http_server: Any, deadlines: Deadlines) -> None:
    """Make ``http_server`` (a cheroot server) use the guarded connection class with ``deadlines``."""
    http_server.ConnectionClass = type("KitConnection", (GuardedConnection,), {"deadlines": deadlines})
