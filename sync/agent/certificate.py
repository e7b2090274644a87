"""The kit's half of getting a trusted certificate: a CSR up, a checked certificate down.

Before a batch is exported, a ``tls.csr`` event is queued when the kit has
no issued certificate with more than 30 days left (and the last CSR is more
than a day old). After the pull, ``tls.json`` from the roster directory is
handed to the kit's certificate store, which keeps it only if it is for the
kit's own key and valid now; anything else is reported, never served.
``tls-name.json`` says which name the server will certify, so that the next
CSR asks for exactly it (an ACME CA signs nothing else).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from appliance.tls import TlsRefused, TlsStore
from sync.protocol import TLS_CSR

MAX_TLS_JSON = 256 * 1024
_DNS_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")


def queue_csr(catalogue, store: TlsStore) -> bool:
    """Put a CSR in the outbox if one is due; True if it did."""
    store.ensure()
    if not store.wants_csr():
        return False
    csr = base64.b64encode(store.csr()).decode("ascii")
    with catalogue.transaction():
        catalogue.emit(TLS_CSR, {"csr": csr})
    return True


def learn_name(store: TlsStore, incoming: Path) -> bool:
    """The name the server will certify (``tls-name.json``): the next CSR asks for exactly it."""
    try:
        told = json.loads((Path(incoming) / "tls-name.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    name = told.get("name") if isinstance(told, dict) else None
    if not isinstance(name, str) or not _DNS_NAME.match(name) or not name.startswith(store.kit_id + "."):
        return False  # only a name under the kit's own id
    return store.learn_name(name, told.get("issuer"))


def apply_answer(store: TlsStore, incoming: Path) -> tuple[str | None, str | None]:
    """``(installed issuer, refusal)`` for ``incoming/tls.json``; both None when there is nothing new."""
    learn_name(store, incoming)
    path = Path(incoming) / "tls.json"
    try:
        if path.stat().st_size > MAX_TLS_JSON:
            return None, "tls.json is too large"
        answer = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        return None, f"tls.json unreadable ({type(exc).__name__})"
    if not isinstance(answer, dict) or answer.get("version") != 1:
        return None, "tls.json is not version 1"
    try:
        installed = store.install(answer)
    except TlsRefused as exc:
        return None, str(exc)
    return (answer["issuer"] if installed else None), None
