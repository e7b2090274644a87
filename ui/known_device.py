"""Remembering that a device unlocked as someone, so a flood against her name does not slow her down.

After a successful unlock the browser gets ``kit_known_<person-id>``: a
random device id and a signature over (person, device id, expiry). When that
browser tries to unlock as the same person again, the throttle judges the
attempt by the device's own backoff instead of the person limit
(``ui.throttle``). The cookie opens nothing: the passphrase is still needed.
A copy of it on many phones shares the one backoff of that device id.

>>> from ui.signed import Signer
>>> signer = Signer(b"s" * 32, clock=lambda: 0.0)
>>> name, value = cookie_for(signer, "p-anna", None)
>>> name
'kit_known_p-anna'
>>> key_from(signer, "p-anna", value).startswith("device:"), key_from(signer, "p-bram", value)
(True, None)
>>> key_from(signer, "p-anna", "forged.1.x"), key_from(signer, "p-anna", None)
(None, None)
"""

from __future__ import annotations

import re
import secrets

from ui.signed import Signer

PREFIX = "kit_known_"
LIFETIME_S = 30 * 86400
_DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def cookie_name(person_id: str) -> str:
    return PREFIX + person_id


def key_from(signer: Signer, person_id: str, value: str | None) -> str | None:
    """The throttle key of this device for ``person_id``, or ``None`` if the cookie is missing or not ours."""
    device_id, _, token = (value or "").partition(".")
    if _DEVICE_ID_RE.match(device_id) and signer.verify(token, "known-device", person_id, device_id):
        return f"device:{device_id}"
    return None


def cookie_for(signer: Signer, person_id: str, value: str | None) -> tuple[str, str]:
    """``(name, value)`` to set after ``person_id`` unlocked: the same device id again, or a new one."""
    device_id = value.partition(".")[0] if key_from(signer, person_id, value) else secrets.token_urlsafe(16)
    token = signer.sign("known-device", person_id, device_id, lifetime_s=LIFETIME_S)
    return cookie_name(person_id), f"{device_id}.{token}"
