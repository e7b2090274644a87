"""The kit's two listeners: the review app over HTTPS, and plain HTTP that only redirects.

cheroot (CherryPy's WSGI server) terminates TLS with Python's ``ssl`` and
the kit's :class:`~appliance.tls.context.ServingContexts`; each runs on its
own thread and stops with :meth:`Listener.stop`.

Anyone with the hotspot password reaches these listeners, so both bound what
a stranger can make them hold: request heads of at most 64 KiB (414/413
beyond), bodies of at most 2 MiB before the app sees them (the review app's
own limit is 1 MiB: between the two it answers 413 itself), and the guards
of :mod:`kit.http_guard` (TLS handshakes off the accepting thread, a deadline
for every request to start its answer).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from cheroot import wsgi

from appliance.errors import KitError
from appliance.tls.context import ServingContexts
from kit.http_guard import Deadlines, TlsOnWorker, guarded

#: Request line and headers together. Browsers send a few KiB (cookies included).
MAX_HEAD_BYTES = 64 * 1024
#: Refused by the server before reading; the review app's MAX_CONTENT_LENGTH (1 MiB) is below it.
MAX_BODY_BYTES = 2 * 1024 * 1024

log = logging.getLogger("kit.web")


class _Server(wsgi.Server):
    """cheroot's server, with its messages in the kit's log instead of on stderr.

    A phone that opens a connection and drops it mid-handshake (captive-portal
    checks do) is routine on a hotspot: debug, not an error.
    """

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        routine = "TLS connection" in msg or "peer dropped" in msg or "ssl" in msg.lower() and "handshake" in msg
        log.log(logging.DEBUG if routine else level, "%s", msg, exc_info=traceback)


class Listener:
    def __init__(self, server: wsgi.Server, name: str) -> None:
        self.server = server
        self.name = name
        self.thread: threading.Thread | None = None
        self.deadlines = Deadlines()
        server.max_request_header_size = MAX_HEAD_BYTES
        server.max_request_body_size = MAX_BODY_BYTES
        guarded(server, self.deadlines)

    @property
    def port(self) -> int:
        return int(self.server.bind_addr[1])

    def start(self) -> "Listener":
        try:
            self.server.prepare()  # binds now, so a taken port is an error here, not in the thread
        except OSError as exc:
            raise KitError(f"cannot serve on port {self.server.bind_addr[1]}: {exc.strerror or exc} "
                           "(use --port N / --http-port N)") from None
        self.thread = threading.Thread(target=self.server.serve, name=self.name, daemon=True)
        self.thread.start()
        self.deadlines.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.deadlines.stop()
        if self.thread is not None:
            self.thread.join(10)


def https_listener(app: Callable[..., Any], host: str, port: int, contexts: ServingContexts,
                   threads: int = 6) -> Listener:
    server = _Server((host, port), app, numthreads=threads, server_name="lessonkit")
    served = contexts.self_signed
    assert served is not None
    adapter = TlsOnWorker(str(served.chain_path), str(contexts.store.key_path))
    adapter.context = contexts.context  # SNI picks the issued certificate; refresh() swaps them live
    server.ssl_adapter = adapter
    return Listener(server, "https")


def http_listener(app: Callable[..., Any], host: str, port: int) -> Listener:
    return Listener(_Server((host, port), app, numthreads=2, server_name="lessonkit"), "http-redirect")
