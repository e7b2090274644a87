"""The TLS contexts the kit serves with, picked per connection by the name the browser asks for.

A browser that asks for the name on an issued certificate (SNI) gets that
certificate; one that connects by address (the teacher card's
``https://10.42.0.1/``, where browsers send no SNI) gets the self-signed
one, whose fingerprint is on the card. :meth:`ServingContexts.refresh` is
cheap and runs periodically: a certificate that arrives with a sync, or
one that expires while the kit is offline, changes what the next
handshake gets, without a restart.
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

from .store import Served, TlsStore


def _new_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # The client's cipher order, not ours: a laptop with AES instructions asks
    # for AES-128-GCM, a phone without them for ChaCha20 — each its fastest.
    ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    return ctx


def _context(served: Served, key_path: Any) -> ssl.SSLContext:
    ctx = _new_context()
    ctx.load_cert_chain(served.chain_path, key_path)
    return ctx


class ServingContexts:
    def __init__(self, store: TlsStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self.issued: Served | None = None
        self.self_signed: Served | None = None
        self._issued_ctx: ssl.SSLContext | None = None
        self.context = _new_context()
        self.context.sni_callback = self._pick
        self.refresh()

    def refresh(self) -> bool:
        """Load what the store would serve now; True if that changed."""
        self.store.ensure()
        candidates = self.store.candidates()
        issued = next((c for c in candidates if c.issuer != "self-signed"), None)
        own = next(c for c in candidates if c.issuer == "self-signed")
        key = (issued and (issued.issuer, issued.info.fingerprint), own.info.fingerprint)
        with self._lock:
            if key == self._key:
                return False
            # The default context (no SNI, or a name the issued certificate lacks)
            # serves the self-signed certificate; SSLContext.load_cert_chain on a
            # live context only affects handshakes that start afterwards.
            self.context.load_cert_chain(own.chain_path, self.store.key_path)
            self._issued_ctx = _context(issued, self.store.key_path) if issued else None
            self.issued, self.self_signed, self._key = issued, own, key
            return True

    def _pick(self, sock: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
        issued, ctx = self.issued, self._issued_ctx
        if server_name and issued is not None and ctx is not None and server_name.lower() in issued.info.names:
            sock.context = ctx

    def public_name(self) -> str | None:
        """The name on the issued certificate, if one is served."""
        return self.issued.info.names[0] if self.issued and self.issued.info.names else None
