"""Short signed tokens: what the kit can check later without remembering anything now.

The unlock form's CSRF token and the "this device unlocked before" cookie
are HMAC-SHA-256 over a purpose, some fields and an expiry, with a secret
made when the process starts. Keeping no state per visitor is the point: a
flood of strangers costs the kit nothing to hand out and nothing to forget.
A restart makes every token invalid, which only means reloading a page (and
that devices are strangers again until their next unlock).

Expiry uses the process's monotonic clock, not the wall clock: the kit has
no real-time clock and its wall time can jump when a browser or NTP
vouches for it.

>>> now = [100.0]
>>> s = Signer(b"k" * 32, clock=lambda: now[0])
>>> token = s.sign("csrf", "nonce-1", lifetime_s=60)
>>> s.verify(token, "csrf", "nonce-1"), s.verify(token, "csrf", "nonce-2"), s.verify(token, "device", "nonce-1")
(True, False, False)
>>> now[0] = 161.0; s.verify(token, "csrf", "nonce-1")
False
>>> [s.verify(t, "csrf", "nonce-1") for t in ("garbage", "9" * 5000 + ".x", "200.é", "²00.x")]
[False, False, False, False]
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Callable

#: Expiry stamps are whole seconds of the monotonic clock; more digits than this are not a stamp.
_MAX_STAMP_DIGITS = 15


class Signer:
    def __init__(self, secret: bytes | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._clock = clock

    def sign(self, purpose: str, *fields: str, lifetime_s: float) -> str:
        expires = int(self._clock() + lifetime_s)
        return f"{expires}.{self._mac(purpose, fields, expires)}"

    def verify(self, token: str | None, purpose: str, *fields: str) -> bool:
        stamp, _, mac = (token or "").partition(".")
        if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > _MAX_STAMP_DIGITS or not mac:
            return False
        expires = int(stamp)
        if expires < self._clock():
            return False
        # Bytes: compare_digest refuses str with non-ASCII characters, and the token is the sender's.
        return hmac.compare_digest(mac.encode("utf-8", "replace"), self._mac(purpose, fields, expires).encode())

    def _mac(self, purpose: str, fields: tuple[str, ...], expires: int) -> str:
        # NUL cannot occur in the fields (cookie values, ids), so the join is unambiguous.
        message = "\0".join((purpose, *fields, str(expires))).encode("utf-8", "surrogatepass")
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
