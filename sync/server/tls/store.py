"""Where the server keeps its TLS material: ``ROOT/tls/``, never under ``kits/``.

::

    ROOT/tls/                   0700
      school-ca/ca.pem          the school CA's root certificate (public)
      school-ca/ca-key.pem      its private key, 0600
      school-ca/ca.json         the kits domain it is constrained to
      acme.json                 ACME directory, kits domain, DNS server, TSIG key name
      acme-account-key.pem      the ACME account key, 0600
      tsig.secret               the TSIG secret for DNS updates, 0600
      notes.json                why each kit got no (new) certificate, for ``tls status``
      issue.lock                one issuing run at a time

Secrets are created 0600 from the first byte (never written, then chmod-ed)
and replaced atomically, so a reader never sees half a key.
"""

from __future__ import annotations

import json
from pathlib import Path

from appliance.durable import write_atomic

from ..layout import Layout


def tls_dir(layout: Layout) -> Path:
    path = layout.root / "tls"
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)
    return path


def write_file(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` atomically, created with ``mode`` (default private)."""
    write_atomic(path, data, mode=mode)


def write_json(path: Path, value: dict, mode: int = 0o600) -> None:
    write_file(path, (json.dumps(value, indent=1, sort_keys=True) + "\n").encode(), mode)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def read_json_quiet(path: Path) -> dict | None:
    """Like :func:`read_json`, with an unreadable file counting as absent."""
    try:
        value = read_json(path)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
