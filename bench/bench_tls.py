"""HTTPS on the kit: handshake cost, decrypt-and-serve over TLS against the same over plain HTTP,
and the time from joining the Wi-Fi to the first page.

The review app is served by the kit's own listener (cheroot, ``kit.web_server``)
twice in the same process: over TLS with the kit's own certificate store, and
over plain HTTP as the reference. The recording is ``bench_ui``'s (a real one
from the simulated camera, and a 2-hour one of re-encrypted segments).
Throughput is fetched by ``curl`` in its own process, as a browser would
(a client in the kit's process would share its interpreter lock); handshakes
and the first page by ``http.client``, trusting the kit's certificate as a
browser that accepted it would.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

MiB = 1 << 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Client:
    def __init__(self, port: int, tls: ssl.SSLContext | None) -> None:
        self.port, self.tls = port, tls
        self.conn = self._connect()
        self.cookies: dict[str, str] = {}

    def _connect(self):
        if self.tls is None:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return http.client.HTTPSConnection("localhost", self.port, timeout=60, context=self.tls)

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None) -> bytes:
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = self.cookie
        self.conn.request(method, path, body=body, headers=h)
        response = self.conn.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.split(";", 1)[0].partition("=")
            self.cookies[name] = rest
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
        return data

    @property
    def cookie(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def unlock(self, person_id: str) -> None:
        token = json.loads(self.request("GET", "/api/session"))["csrf_token"]
        self.request("POST", "/api/unlock", json.dumps({"person": person_id, "passphrase": "anna-bench-passphrase"}),
                     {"Content-Type": "application/json", "X-CSRF-Token": token})


def _curl(urls: list[str], cookie: str, cafile: Path, byte_range: str | None = None) -> tuple[int, float]:
    """(bytes, seconds) for ``urls`` fetched by one curl process over one kept-alive connection."""
    cmd = ["curl", "-sS", "--fail", "--cacert", str(cafile), "-H", f"Cookie: {cookie}",
           # The TLS 1.3 order Chromium and Safari send (AES-128-GCM first); the kit honours the client's.
           "--tls13-ciphers", "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
           "-w", "%{size_download} %{time_total}\\n"]
    if byte_range:
        cmd += ["-H", f"Range: {byte_range}"]
    for url in urls:
        cmd += ["-o", "/dev/null", url]
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    took = time.perf_counter() - started
    got = sum(int(float(x)) for x in out[0::2])
    # Per-transfer times exclude curl's start-up; use them, the wall time is a bound.
    return got, min(took, sum(float(x) for x in out[1::2]))


def _from_memory(contexts, span: int, cafile: Path) -> dict[str, float]:
    """Bytes/s of ``span`` bytes sent from memory in the media path's block size, over the kit's TLS
    context and over plain TCP, to curl: what TLS alone costs here, with no decryption or app."""
    import threading

    from ui.media import STREAM_BLOCK

    block = os.urandom(STREAM_BLOCK)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % span
    rates = {}
    for name, tls in (("tls", contexts.context), ("http", None)):
        with socket.create_server(("127.0.0.1", 0)) as listener:
            def serve() -> None:
                conn, _ = listener.accept()
                if tls is not None:
                    conn = tls.wrap_socket(conn, server_side=True)
                with conn:
                    conn.recv(65536)
                    conn.sendall(head)
                    for _ in range(span // len(block)):
                        conn.sendall(block)

            best = 0.0
            for _round in range(3):
                thread = threading.Thread(target=serve, daemon=True)
                thread.start()
                scheme = "https://localhost" if tls is not None else "http://127.0.0.1"
                got, took = _curl([f"{scheme}:{listener.getsockname()[1]}/"], "", cafile)
                thread.join()
                best = max(best, got / took)
            rates[name] = best
    return rates


def _handshakes(port: int, tls: ssl.SSLContext, n: int) -> tuple[list[float], list[float]]:
    """Full TLS handshakes on fresh connections, and bare TCP connects to the same listener."""
    full, tcp = [], []
    for _ in range(n):
        started = time.perf_counter()
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        tcp.append(time.perf_counter() - started)
        raw.close()
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw2, \
                tls.wrap_socket(raw2, server_hostname="localhost"):
            full.append(time.perf_counter() - started)
    return full, tcp


def _join_to_first_page(http_port: int, https_port: int, tls: ssl.SSLContext | None, n: int) -> list[float]:
    """A phone that just joined: http:// → redirect → TLS → unlock page + its stylesheet, all fresh connections."""
    out = []
    for _ in range(n):
        started = time.perf_counter()
        if tls is not None:
            plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
            plain.request("GET", "/", headers={"Host": "localhost"})
            response = plain.getresponse()
            response.read()
            assert response.status == 301 and response.getheader("Location", "").startswith("https://")
            plain.close()
            conn = http.client.HTTPSConnection("localhost", https_port, timeout=10, context=tls)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        for path in ("/unlock", "/static/app.css"):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, (path, response.status)
        conn.close()
        out.append(time.perf_counter() - started)
    return out


def run(quick: bool) -> str:
    from appliance.tls import TlsStore
    from appliance.tls.context import ServingContexts
    from bench.bench_ui import _build_kit
    from kit.web_server import http_listener, https_listener
    from ui import create_app
    from ui.redirect import redirect_app

    root = Path(tempfile.mkdtemp(prefix="bench-tls-"))
    listeners = []
    try:
        data, anna, real_id, long_id, _identity, width, height = _build_kit(root, quick)
        app = create_app(data_dir=data)
        store = TlsStore(root / "tls", "lk-bench")
        store.ensure()
        contexts = ServingContexts(store)
        https = https_listener(app, "127.0.0.1", _free_port(), contexts).start()
        plain = http_listener(app, "127.0.0.1", _free_port()).start()
        redirect = http_listener(redirect_app(https.port, default_host=lambda: "localhost",
                                              known_host=lambda h: h == "localhost"), "127.0.0.1", _free_port()).start()
        listeners += [https, plain, redirect]
        trust = ssl.create_default_context(cafile=str(store.self_signed_path))
        version = ""
        with socket.create_connection(("127.0.0.1", https.port)) as raw, trust.wrap_socket(raw, server_hostname="localhost") as s:
            version, cipher = s.version(), s.cipher()[0]

        full, tcp = _handshakes(https.port, trust, 20 if quick else 100)

        over_tls, over_http = _Client(https.port, trust), _Client(plain.port, None)
        for client in (over_tls, over_http):
            client.unlock(anna["id"])
        span = 16 * MiB if quick else 96 * MiB
        header = {"Range": f"bytes=0-{span - 1}"}
        count = 40 if quick else 120
        for client in (over_tls, over_http):  # learn the part sizes once
            client.request("GET", f"/media/{long_id}/full.mp4", headers={"Range": "bytes=0-0"})
        long_rates = {"tls": [], "http": []}
        seg_rates = {"tls": [], "http": []}
        bases = {"tls": (f"https://localhost:{https.port}", over_tls.cookie),
                 "http": (f"http://127.0.0.1:{plain.port}", over_http.cookie)}
        segment_urls = [f"/media/{long_id}/seg-{(i % 2) + 1:06d}.m4s" for i in range(count)]
        for _round in range(5):
            for name, (base, cookie) in bases.items():
                got, took = _curl([base + f"/media/{long_id}/full.mp4"], cookie, store.self_signed_path,
                                  header["Range"])
                long_rates[name].append(got / took)
                got, took = _curl([base + u for u in segment_urls], cookie, store.self_signed_path)
                seg_rates[name].append(got / took)
        memory = _from_memory(contexts, span, store.self_signed_path)
        long_ratio = max(long_rates["tls"]) / max(long_rates["http"])
        # Were sending the only thing TLS slows, this is the best ratio the
        # pipeline could reach: its own time per byte plus TLS's extra time.
        tls_extra = 1 / memory["tls"] - 1 / memory["http"]
        bound = (1 / max(long_rates["http"])) / (1 / max(long_rates["http"]) + tls_extra)
        seg_ratio = max(seg_rates["tls"]) / max(seg_rates["http"])

        joins = _join_to_first_page(redirect.port, https.port, trust, 10 if quick else 40)
        joins_plain = _join_to_first_page(plain.port, plain.port, None, 10 if quick else 40)
    finally:
        for listener in listeners:
            listener.stop()
        shutil.rmtree(root, ignore_errors=True)

    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    load = os.getloadavg()[0]
    med = statistics.median
    return "\n".join([
        "## HTTPS on the kit (`bench/bench_tls.py`)",
        "",
        f"The review app behind the kit's own listener (cheroot), over TLS ({version}, {cipher}, the kit's "
        f"EC P-256 certificate) and over plain HTTP, same process, same recording ({width}x{height} simulated "
        f"camera; 2-hour recording of re-encrypted segments). Loopback. Load average "
        f"during the run: {load:.1f} on {os.cpu_count()} cores.",
        "",
        "| measure | HTTPS | reference (same run) | ratio / target |",
        "|---|---|---|---|",
        f"| TLS handshake on a fresh connection, median | {ms(med(full))} | TCP connect alone {ms(med(tcp))} | "
        f"{med(full) / med(tcp):.0f}× |",
        f"| decrypt-and-serve, {span // MiB} MiB range of the whole-recording view | "
        f"{max(long_rates['tls']) / MiB:.0f} MiB/s | plain HTTP {max(long_rates['http']) / MiB:.0f} MiB/s | "
        f"**{long_ratio:.2f}** (target ≥ 0.8) |",
        f"| the same bytes from memory (no decryption, no app): TLS alone | {memory['tls'] / MiB:.0f} MiB/s | "
        f"plain TCP {memory['http'] / MiB:.0f} MiB/s | {memory['tls'] / memory['http']:.2f}; the range "
        f"above could reach at best **{bound:.2f}** with this TLS cost |",
        f"| decrypt-and-serve, segment by segment | {max(seg_rates['tls']) / MiB:.0f} MiB/s | "
        f"plain HTTP {max(seg_rates['http']) / MiB:.0f} MiB/s | **{seg_ratio:.2f}** (target ≥ 0.8) |",
        f"| joined the Wi-Fi → first page (http:// redirect, TLS handshake, unlock page + stylesheet), median | "
        f"{ms(med(joins))} | the same two requests over plain HTTP {ms(med(joins_plain))} | "
        f"{med(joins) / med(joins_plain):.1f}× |",
        "",
        "Throughputs are the best of five rounds (three from memory), HTTPS and HTTP taking turns. On "
        "loopback both ends share the machine's cores, so TLS's encryption and curl's decryption come "
        "out of the kit's own CPU time; over Wi-Fi (a few tens of MiB/s) neither figure is the limit.",
        "",
    ])
