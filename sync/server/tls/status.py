"""``kit-server tls status``: which issuer is set up, and every kit's certificate.

>>> days_left("2027-01-31T12:00:00Z", dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc))
30
>>> print(table([["KIT", "NAME"], ["kit-a", "kit-a.kits.example"]]))
KIT    NAME
kit-a  kit-a.kits.example
"""

from __future__ import annotations

import datetime as dt

from .. import db
from ..layout import Layout
from . import acme_dns01, ca, store
from .answer import iso_utc, parse_utc
from .issue import NOTES, TLS_JSON

RENEW_DAYS = 30


def days_left(not_after: str, now: dt.datetime) -> int:
    return (parse_utc(not_after) - now).days


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join([c.ljust(w) for c, w in zip(r, widths)] + [r[-1]]).rstrip() for r in rows)


def issuers(layout: Layout) -> list[str]:
    lines = []
    acme = acme_dns01.load(layout)
    if acme:
        c = acme.config
        lines.append(f"ACME: <kit>.{c.domain} from {c.directory}, DNS-01 via {c.dns_server}:{c.dns_port} "
                     f"(TSIG key {c.tsig_key})")
    school = ca.load(layout)
    if school:
        lines.append(f"school CA: <kit>.{school.domain}, root valid until {iso_utc(school.cert.not_valid_after_utc)}, "
                     f"SHA-256 {school.fingerprint}")
    return lines or ["no issuer set up (kit-server acme setup, kit-server ca init): kits keep self-signed certificates"]


def kit_rows(layout: Layout, now: dt.datetime | None = None) -> list[list[str]]:
    now = now or dt.datetime.now(dt.timezone.utc)
    conn = db.connect(layout.db)
    try:
        kit_ids = [r[0] for r in conn.execute("SELECT id FROM kits ORDER BY id")]
    finally:
        conn.close()
    notes = store.read_json_quiet(layout.root / "tls" / NOTES) or {}
    rows = [["KIT", "ISSUER", "NAME", "NOT AFTER", "DAYS LEFT", "NOTE"]]
    for kit_id in kit_ids:
        current = store.read_json_quiet(layout.roster(kit_id) / TLS_JSON)
        note = (notes.get(kit_id) or {}).get("note", "")
        if note.startswith("issued "):
            note = note.partition("; ")[2]  # the columns say it; keep only a remark
        try:
            left = days_left(current["not_after"], now)
            row = [kit_id, current["issuer"], current["name"], current["not_after"], str(left)]
            if left < 0:
                note = "expired; " + note
            elif left < RENEW_DAYS:
                note = "renewal due: waiting for the kit's fresh CSR; " + note
        except (TypeError, KeyError, ValueError):
            row = [kit_id, "-", "-", "-", "-"]
        rows.append(row + [note.rstrip("; ")])
    return rows


def report(layout: Layout) -> str:
    return "\n".join(issuers(layout)) + "\n\n" + table(kit_rows(layout))
