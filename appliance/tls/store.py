"""``DATA/tls/``: the kit's TLS key and the certificates it may serve, best first.

Files (all written atomically; the key 0600 and never copied anywhere):

``key.pem``
    The kit's EC P-256 key, made here.
``self-signed.pem``
    For the kit's id, ``localhost`` and its hotspot address; renewed here.
``issued-acme.pem``, ``issued-school-ca.pem``
    Chains the school server sent back for the kit's key (``tls.json`` in
    its roster directory), kept apart so that an expired public certificate
    falls back to the school CA's, and that one to the self-signed.
``csr.json``
    When the last CSR went into the sync outbox, for which name, and its hash.
``name.json``
    The name the school server said the kit's certificate will carry.

>>> import tempfile, pathlib, datetime as dt
>>> store = TlsStore(pathlib.Path(tempfile.mkdtemp()), "lk-ab12cd34")
>>> store.ensure()
True
>>> store.best().issuer, store.best().info.self_signed
('self-signed', True)
>>> store.wants_csr(), store.wants_csr(store.now() + dt.timedelta(hours=1))
(True, True)
>>> _ = store.csr()
>>> store.wants_csr(store.now() + dt.timedelta(hours=1))
False
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from appliance.durable import write_atomic
from appliance.errors import KitError

from . import certs
from .certs import CertInfo

#: Best first. "acme": publicly trusted; "school-ca": the school's own CA.
ISSUERS = ("acme", "school-ca")
#: Ask for a new certificate from this many days before the issued one expires.
RENEW_DAYS = 30
#: A CSR the server has not answered yet is sent again after this long.
CSR_RETRY = dt.timedelta(hours=24)
#: Renew the self-signed certificate this long before it runs out.
SELF_SIGNED_RENEW = dt.timedelta(days=30)
HOTSPOT_ADDRESS = "10.42.0.1"
#: How far a certificate's start may lie ahead of the kit's clock when it arrives.
CLOCK_SKEW = dt.timedelta(hours=1)


def self_signed_names(kit_id: str) -> tuple[list[str], list[str]]:
    """DNS names and addresses of the kit's own certificate: its id, localhost, the hotspot address."""
    return [kit_id, "localhost"], [HOTSPOT_ADDRESS, "127.0.0.1", "::1"]


class TlsRefused(KitError):
    """A certificate from the server that the kit will not serve."""


@dataclass(frozen=True)
class Served:
    issuer: str          # "acme", "school-ca" or "self-signed"
    chain_path: Path
    info: CertInfo


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class TlsStore:
    def __init__(self, directory: Path, kit_id: str, *, now: Callable[[], dt.datetime] = _utc_now) -> None:
        self.dir = Path(directory)
        self.kit_id = kit_id
        self.now = now

    # -- files ---------------------------------------------------------------

    @property
    def key_path(self) -> Path:
        return self.dir / "key.pem"

    @property
    def self_signed_path(self) -> Path:
        return self.dir / "self-signed.pem"

    def issued_path(self, issuer: str) -> Path:
        return self.dir / f"issued-{issuer}.pem"

    def key(self) -> Any:
        return certs.load_key(self.key_path.read_bytes())

    def self_signed_names(self) -> tuple[list[str], list[str]]:
        return self_signed_names(self.kit_id)

    # -- making --------------------------------------------------------------

    def ensure(self) -> bool:
        """Make the key and the self-signed certificate if missing or due; True if anything changed."""
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        changed = False
        if not self.key_path.exists():
            write_atomic(self.key_path, certs.key_pem(certs.new_key()), mode=0o600)
            for issuer in ISSUERS:  # nothing issued for an old key can be served with the new one
                self.issued_path(issuer).unlink(missing_ok=True)
            self.self_signed_path.unlink(missing_ok=True)
            changed = True
        names, ips = self.self_signed_names()
        current = self._info(self.self_signed_path)
        if (current is None or current.not_after - self.now() < SELF_SIGNED_RENEW
                or sorted(current.names) != sorted(names) or not certs.matches_key(
                    self.self_signed_path.read_bytes(), self.key())):
            write_atomic(self.self_signed_path, certs.self_signed(self.key(), names, ips, now=self.now()))
            changed = True
        return changed

    def _told(self) -> dict:
        try:
            told = json.loads((self.dir / "name.json").read_text())
        except (OSError, ValueError):
            return {}
        return told if isinstance(told, dict) else {}

    def name(self) -> str | None:
        """The name the server gives this kit's certificate, once it said so."""
        name = self._told().get("name")
        return name if isinstance(name, str) and 0 < len(name) <= 253 else None

    def offered_issuer(self) -> str | None:
        """Which issuer the server said answers a CSR for that name (``acme`` or ``school-ca``)."""
        issuer = self._told().get("issuer")
        return issuer if issuer in ISSUERS else None

    def learn_name(self, name: str, issuer: str | None = None) -> bool:
        """Remember what the server told; True if it is new (the next CSR asks for it)."""
        told = {"name": name, "issuer": issuer if issuer in ISSUERS else None}
        if told == self._told():
            return False
        write_atomic(self.dir / "name.json", json.dumps(told).encode())
        return True

    def _last_csr(self) -> dict:
        try:
            return json.loads((self.dir / "csr.json").read_text())
        except (OSError, ValueError):
            return {}

    def csr(self) -> bytes:
        """A CSR (DER) for the kit's key; remembered so it is not sent again at every sync."""
        name = self.name()
        der = certs.csr_der(self.key(), self.kit_id, name)
        write_atomic(self.dir / "csr.json", json.dumps({
            "sent_at": self.now().isoformat(), "name": name, "csr_sha256": hashlib.sha256(der).hexdigest()}).encode())
        return der

    def wants_csr(self, now: dt.datetime | None = None) -> bool:
        """True when no issued certificate has more than :data:`RENEW_DAYS` left and no CSR is waiting."""
        now = now or self.now()
        name = self.name()
        offered = self.offered_issuer()
        # Good enough: from the issuer the server offers (or a better one), for the name it gives.
        good = ISSUERS[: ISSUERS.index(offered) + 1] if offered else ISSUERS
        for issuer in good:
            info = self._info(self.issued_path(issuer))
            if info is not None and info.valid_at(now) and info.days_left(now) > RENEW_DAYS \
                    and (name is None or name in info.names):
                return False
        last = self._last_csr()
        if last.get("name") != name:
            return True  # the server told the kit a (new) name: ask for exactly that
        try:
            sent = dt.datetime.fromisoformat(last["sent_at"])
        except (KeyError, TypeError, ValueError):
            return True
        return now - sent >= CSR_RETRY

    # -- what the server sent -------------------------------------------------

    def install(self, answer: dict[str, Any]) -> CertInfo | None:
        """Check and keep a ``tls.json`` from the server; None if it is what we have already.

        Refused (``TlsRefused``, one line): an unknown issuer, a chain that
        does not parse, a certificate for another key, or one not valid now.
        """
        issuer = answer.get("issuer")
        if issuer not in ISSUERS:
            raise TlsRefused(f"certificate from an unknown issuer {str(issuer)[:40]!r}")
        chain = answer.get("chain_pem")
        if not isinstance(chain, str) or len(chain) > 64 * 1024:
            raise TlsRefused("certificate chain missing or too large")
        data = chain.encode()
        try:
            info = certs.describe(data)
            ours = certs.matches_key(data, self.key())
        except ValueError as exc:
            raise TlsRefused(f"certificate chain does not parse ({exc})") from None
        if not ours:
            raise TlsRefused("certificate is not for this kit's key")
        now = self.now()
        # A fresh certificate may start a moment "in the future" of a kit whose clock runs
        # behind; it is kept, and served once it is valid.
        if not (info.not_before <= now + CLOCK_SKEW and now < info.not_after):
            raise TlsRefused(f"certificate is not valid now (valid {info.not_before:%Y-%m-%d} "
                             f"to {info.not_after:%Y-%m-%d})")
        path = self.issued_path(issuer)
        if path.exists() and path.read_bytes() == data:
            return None
        write_atomic(path, data)
        return info

    # -- serving -------------------------------------------------------------

    def _info(self, path: Path) -> CertInfo | None:
        try:
            return certs.describe(path.read_bytes())
        except (OSError, ValueError):
            return None

    def candidates(self, now: dt.datetime | None = None) -> list[Served]:
        """Every certificate valid now, best first (the self-signed one last)."""
        now = now or self.now()
        out = []
        for issuer, path in [*((i, self.issued_path(i)) for i in ISSUERS), ("self-signed", self.self_signed_path)]:
            info = self._info(path)
            if info is not None and info.valid_at(now):
                out.append(Served(issuer, path, info))
        return out

    @property
    def self_signed_fingerprint(self) -> str | None:
        """What the teacher card shows: the certificate served by address
        (``https://10.42.0.1/`` sends no SNI), whatever else has been issued."""
        info = self._info(self.self_signed_path)
        return info.fingerprint if info else None

    def best(self, now: dt.datetime | None = None) -> Served:
        found = self.candidates(now)
        if not found:
            raise KitError("no valid TLS certificate (run the kit once to make its own)")
        return found[0]

    def status(self, now: dt.datetime | None = None) -> dict[str, Any]:
        now = now or self.now()
        best = self.best(now)
        every = []
        for issuer, path in [*((i, self.issued_path(i)) for i in ISSUERS), ("self-signed", self.self_signed_path)]:
            info = self._info(path)
            if info is not None:
                every.append({"issuer": issuer, "names": info.names, "ips": info.ips,
                              "not_after": info.not_after.isoformat(), "days_left": info.days_left(now),
                              "valid": info.valid_at(now), "fingerprint": info.fingerprint})
        return {"in_use": best.issuer, "names": best.info.names, "not_after": best.info.not_after.isoformat(),
                "days_left": best.info.days_left(now), "fingerprint": best.info.fingerprint,
                "self_signed_fingerprint": self.self_signed_fingerprint or best.info.fingerprint,
                "certificates": every}
