"""Answer every kit's newest CSR during ``kit-server publish``.

For each kit: take its newest ``tls.csr`` event (older ones are history),
check it (:mod:`.csr`), choose the issuer, and write
``kits/<kit>/roster/tls.json`` (:mod:`.answer`) unless that file already
answers this CSR, from this issuer, with a certificate still valid — so
publishing twice issues nothing twice, and a kit's fresh CSR (sent from 30
days before expiry) is what renews.

Choosing: ACME when set up, for a CSR that asks for exactly the kit's name
(the only kind an ACME CA signs). A CSR asking for anything else (a first
CSR from a kit that does not know its name yet, or one naming another kit)
is answered by the school CA when there is one — the kit then learns its
name from that certificate — and otherwise gets no certificate. Without
ACME the school CA answers every good CSR, for the kit's own name whatever
the CSR says. With neither, nothing is issued and the kit keeps its
self-signed certificate.

Nothing a kit sends can stop publishing for the others: every refusal or
failure becomes one line for that kit (printed by ``kit-server publish``,
logged, and kept in ``ROOT/tls/notes.json`` for ``kit-server tls status``).
When the issuer itself fails on a good CSR (DNS, the CA), that CSR is tried
again after 15 minutes, doubling to a day, not at every publish.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging

from appliance.errors import KitError
from sync.protocol import TLS_CSR

from ..layout import Layout
from ..publish import _write_if_changed
from . import acme_dns01, ca, store
from .answer import AnswerMismatch, check_answer, iso_utc, parse_utc
from .csr import CsrRefused, KitCsr, parse_kit_csr
from .names import kit_name

log = logging.getLogger("lessonkit.server.tls")
TLS_JSON = "tls.json"
#: The name the kit's certificate will carry, for its next CSR.
TLS_NAME_JSON = "tls-name.json"
NOTES = "notes.json"


# After an issuer failed on a CSR, the same CSR waits before the next try:
# publish may run every minute from cron, and public CAs limit failed
# validations (Let's Encrypt: 5 per hostname and hour).
FIRST_RETRY = dt.timedelta(minutes=15)
LAST_RETRY = dt.timedelta(hours=24)


class Skip(Exception):
    """No certificate for this kit this time; the message says why."""


class IssuerFailed(Exception):
    """The issuer could not answer a good CSR; tried again later (see FIRST_RETRY)."""

    def __init__(self, reason: str, csr_sha256: str) -> None:
        super().__init__(reason)
        self.csr_sha256 = csr_sha256


def retry_delay(failures: int) -> dt.timedelta:
    """
    >>> [str(retry_delay(n)) for n in (1, 2, 3, 8)]
    ['0:15:00', '0:30:00', '1:00:00', '1 day, 0:00:00']
    """
    return min(FIRST_RETRY * 2 ** (failures - 1), LAST_RETRY)


def newest_csr(conn, kit_id: str):
    return conn.execute("SELECT seq, data FROM events WHERE kit_id = ? AND kind = ? ORDER BY seq DESC LIMIT 1",
                        (kit_id, TLS_CSR)).fetchone()


def choose(kit_id: str, kit_csr: KitCsr, acme, school_ca, acme_problem: str | None = None):
    """(issuer, name, remark) for this CSR, or raise Skip."""
    if acme_problem:
        raise Skip(acme_problem)
    if acme is not None:
        name = kit_name(kit_id, acme.domain)
        if kit_csr.names == {name}:
            return acme, name, None
        asked = ", ".join(sorted(kit_csr.names)) or "no name"
        why = f"the CSR asks for {asked}, and an ACME CA signs only a CSR for exactly {name}"
        if school_ca is not None:
            return school_ca, kit_name(kit_id, school_ca.domain), why + "; the school CA answers until it does"
        raise Skip(why)
    if school_ca is not None:
        name = kit_name(kit_id, school_ca.domain)
        ignored = sorted(kit_csr.names - {name})
        return school_ca, name, (f"names in the CSR ignored: {', '.join(ignored)}" if ignored else None)
    raise Skip("no issuer is set up (kit-server acme setup or kit-server ca init): "
               "the kit keeps its self-signed certificate")


def _answers(current: dict | None, kit_csr: KitCsr, issuer: str, name: str, now: dt.datetime) -> bool:
    """Whether the published tls.json already answers this CSR well."""
    try:
        return (current["csr_sha256"] == kit_csr.sha256 and current["issuer"] == issuer
                and current["name"] == name and parse_utc(current["not_after"]) > now)
    except (TypeError, KeyError, ValueError):
        return False  # absent or not ours: write a proper one


def _waiting(previous: dict | None, kit_csr: KitCsr, now: dt.datetime) -> bool:
    try:
        return previous["csr_sha256"] == kit_csr.sha256 and parse_utc(previous["retry_after"]) > now
    except (TypeError, KeyError, ValueError):
        return False


def answer_kit(layout: Layout, conn, kit_id: str, acme, school_ca, acme_problem: str | None = None,
               now: dt.datetime | None = None, previous: dict | None = None) -> tuple[bool, str | None]:
    """(tls.json changed, a line about it or None); raises Skip, KitError or IssuerFailed.

    ``previous`` is the kit's entry in ``notes.json``: a CSR the issuer failed
    on waits there until its ``retry_after``.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    row = newest_csr(conn, kit_id)
    if row is None:
        return False, None
    try:
        kit_csr = parse_kit_csr(json.loads(row["data"]).get("csr"))
    except CsrRefused as exc:
        raise Skip(f"CSR (event {row['seq']}) refused: {exc}") from None
    issuer, name, remark = choose(kit_id, kit_csr, acme, school_ca, acme_problem)
    path = layout.roster(kit_id) / TLS_JSON
    if _answers(store.read_json_quiet(path), kit_csr, issuer.kind, name, now) or _waiting(previous, kit_csr, now):
        return False, None
    try:
        issued = issuer.issue(kit_csr, name)
        check_answer(issued, kit_csr, now)
    except (KitError, AnswerMismatch) as exc:
        raise IssuerFailed(str(exc), kit_csr.sha256) from None
    changed = _write_if_changed(path, issued.record(kit_csr))
    line = f"issued {name} ({issuer.kind}, {kit_csr.key}, valid until {iso_utc(issued.not_after)})"
    return changed, line + (f"; {remark}" if remark else "")


def _publish_name(layout: Layout, kit_id: str, issuer) -> bool:
    """Tell the kit the name its certificate will carry, so that its next CSR asks for exactly
    that (an ACME CA signs nothing else); True if the file changed."""
    if issuer is None:
        return False
    try:
        name = kit_name(kit_id, issuer.domain)
    except KitError:
        return False
    kind = getattr(issuer, "kind", None)
    return _write_if_changed(layout.roster(kit_id) / TLS_NAME_JSON, {"version": 1, "name": name, "issuer": kind})


def publish_tls(layout: Layout, conn, kit_ids: list[str], lines: list[str] | None = None) -> list[str]:
    """Answer the kits' CSRs; returns the tls.json files that changed, appends one line per kit to ``lines``."""
    acme_problem = None
    try:
        acme = acme_dns01.load(layout)
    except KitError as exc:
        acme, acme_problem = None, str(exc)
    try:
        school_ca = ca.load(layout)
    except KitError as exc:
        school_ca = None
        log.error("%s", exc)
        if lines is not None:
            lines.append(f"school CA: {exc}")
    if acme is None and school_ca is None and acme_problem is None:
        return []  # TLS not set up here: kits keep their self-signed certificates, quietly
    tls = store.tls_dir(layout)
    with open(tls / "issue.lock", "a") as lock:
        # Two publish runs (cron and a coordinator) must not both order certificates.
        fcntl.flock(lock, fcntl.LOCK_EX)
        notes = store.read_json(tls / NOTES) or {}
        changed = []
        for kit_id in kit_ids:
            now = dt.datetime.now(dt.timezone.utc)
            previous = notes.get(kit_id)
            if _publish_name(layout, kit_id, acme or school_ca):
                changed.append(f"{kit_id}/{TLS_NAME_JSON}")
            entry = {"at": iso_utc(now)}
            try:
                did_change, line = answer_kit(layout, conn, kit_id, acme, school_ca, acme_problem, now, previous)
                if did_change:
                    changed.append(f"{kit_id}/{TLS_JSON}")
            except IssuerFailed as exc:
                failures = 1
                if previous and previous.get("csr_sha256") == exc.csr_sha256:
                    failures = int(previous.get("failures", 0)) + 1
                retry = now + retry_delay(failures)
                entry.update(csr_sha256=exc.csr_sha256, failures=failures, retry_after=iso_utc(retry))
                line = f"no new certificate: {exc} (next try after {iso_utc(retry)})"
            except (Skip, KitError) as exc:
                line = f"no new certificate: {exc}"
            except Exception as exc:  # a bug must not cost the other kits their certificates
                log.debug("TLS for kit %s", kit_id, exc_info=True)
                line = f"no new certificate: internal error ({type(exc).__name__}: {exc})"
            if line is None:
                continue
            line = " ".join(str(line).split())  # one line, whatever a CA put in its message
            # Info, not warning: kit-server prints the lines itself, and a
            # warning would reach stderr a second time through logging's fallback.
            log.info("%s: %s", kit_id, line)
            if lines is not None:
                lines.append(f"{kit_id}: {line}")
            notes[kit_id] = {**entry, "note": line}
        if notes != (store.read_json(tls / NOTES) or {}):
            store.write_json(tls / NOTES, notes, mode=0o644)
    return changed
