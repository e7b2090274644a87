"""The one name a kit's certificate may carry: ``<kit-id>.<kits-domain>``.

The kit id is the directory the kit's files arrive in, so whatever a CSR
asks for, a kit can only ever get its own name.

>>> kit_name("kit-3f9a", "Kits.School.Example.")
'kit-3f9a.kits.school.example'
>>> check_domain("kits.school.example")
'kits.school.example'
>>> check_domain("localhost")
Traceback (most recent call last):
...
appliance.errors.KitError: the kits domain needs at least two labels (like kits.school.example), not 'localhost'
>>> kit_name("kit-", "kits.school.example")
Traceback (most recent call last):
...
appliance.errors.KitError: kit id 'kit-' is not a DNS label (letters, digits, '-' inside)
"""

from __future__ import annotations

import re

from appliance.errors import KitError

_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Room for "<63-character kit id>." in front of the domain (RFC 1035: 253).
MAX_DOMAIN = 253 - 64


def check_domain(domain: str) -> str:
    """The kits domain in canonical form (lower case, no trailing dot), or KitError."""
    text = str(domain).strip().lower().rstrip(".")
    labels = text.split(".")
    if len(labels) < 2:
        raise KitError(f"the kits domain needs at least two labels (like kits.school.example), not {domain!r}")
    if len(text) > MAX_DOMAIN or not all(_LABEL_RE.match(label) for label in labels):
        raise KitError(f"{domain!r} is not a DNS domain of ASCII labels (letters, digits, '-' inside)")
    if labels[-1].isdigit():
        raise KitError(f"{domain!r} looks like an IP address, not a DNS domain")
    return text


def kit_name(kit_id: str, domain: str) -> str:
    if not _LABEL_RE.match(kit_id):
        raise KitError(f"kit id {kit_id!r} is not a DNS label (letters, digits, '-' inside)")
    return f"{kit_id}.{check_domain(domain)}"
