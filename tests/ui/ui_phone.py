"""A phone on the hotspot, for tests through the real HTTPS listener.

Each :class:`Phone` has its own cookies and its own source address: every
127.x.y.z is this machine's loopback, so the kit sees 127.0.0.7 and
127.0.3.9 as two devices, as it sees two phones on the hotspot. TLS is
verified against the test CA with the kit's name, as a browser would.
``raw()`` sends bytes no browser would (a body it never finishes, a chunked
upload) and reads whatever comes back.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from ui_server import trusting_context

_CONTEXT: ssl.SSLContext | None = None


def context() -> ssl.SSLContext:
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = trusting_context()
    return _CONTEXT


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


class _Connection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, context=context(), timeout=timeout)
        self._address = address

    def connect(self) -> None:
        # The kit's name resolves to loopback, as the hotspot's DNS resolves it to the kit.
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout, (self._address, 0))
        self.sock = context().wrap_socket(raw, server_hostname=self.host)


class Phone:
    def __init__(self, site: str, address: str = "127.0.0.1", timeout: float = 60.0) -> None:
        parts = urlsplit(site)
        self.host, self.port = parts.hostname, parts.port
        self.address = address
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self._conn: _Connection | None = None

    def request(self, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None,
                cookies: bool = True) -> Reply:
        h = dict(headers or {})
        if cookies and self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = _Connection(self.host, self.port, self.address, self.timeout)
            try:
                self._conn.request(method, path, body=body, headers=h)
                response = self._conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()  # the server closed a kept-alive connection: once more on a new one
                if attempt == 2:
                    raise
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        if cookies:
            for value in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                cookie_value = rest.split(";", 1)[0]
                if cookie_value and "Max-Age=0" not in value and "expires=Thu, 01 Jan 1970" not in value:
                    self.cookies[name] = cookie_value
                else:
                    self.cookies.pop(name, None)
        return Reply(response.status, response.headers, data)

    def get(self, path: str, headers: dict | None = None, cookies: bool = True) -> Reply:
        return self.request("GET", path, headers=headers, cookies=cookies)

    def post_form(self, path: str, fields: dict, headers: dict | None = None) -> Reply:
        return self.request("POST", path, urlencode(fields),
                            {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})

    def csrf(self) -> str:
        return self.get("/api/session").json()["csrf_token"]

    def unlock(self, person_id: str, passphrase: str, token: str | None = None) -> Reply:
        """The unlock form as a browser sends it (the token from the page, unless given)."""
        if token is None:
            page = self.get("/unlock").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        return self.post_form("/unlock", {"csrf_token": token, "person": person_id, "passphrase": passphrase})

    def raw(self, data: bytes, then: bytes = b"", read_timeout: float = 20.0) -> Reply | None:
        """Send ``data`` (then ``then``, ignoring a closed pipe) on a new TLS connection; parse the answer."""
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout, (self.address, 0))
        tls = context().wrap_socket(raw, server_hostname=self.host)
        tls.settimeout(read_timeout)
        try:
            try:
                tls.sendall(data)
                if then:
                    tls.sendall(then)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # refused before we finished: read what the server said
            response = http.client.HTTPResponse(tls)
            try:
                response.begin()
            except (http.client.RemoteDisconnected, ConnectionResetError, ssl.SSLError):
                return None
            return Reply(response.status, response.headers, response.read() if response.length != 0 else b"")
        finally:
            tls.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
