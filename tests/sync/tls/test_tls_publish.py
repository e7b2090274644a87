"""When publish issues, and what ``tls status`` says about it."""

from __future__ import annotations

import datetime as dt
import json

from sync.server import ingest, publish
from sync.server.tls import ca, status

from tlsbed import certificates, ZONE, leaf_of, make_csr, make_key, push_csr, tls_json


def test_without_an_issuer_publish_stays_quiet_and_writes_no_tls_files(make_server):
    layout = make_server("kit-a")
    push_csr(layout, "kit-a", make_csr(make_key("ec")))
    ingest.ingest(layout)
    lines = []
    assert certificates(publish.publish(layout, tls_lines=lines)) == [] and lines == []
    assert not (layout.root / "tls").exists() and tls_json(layout, "kit-a") is None
    assert "no issuer set up" in status.report(layout)


def test_an_expired_or_tampered_answer_is_replaced_and_status_counts_down(make_server):
    layout = make_server("kit-a", "kit-b")
    ca.init(layout, ZONE)
    push_csr(layout, "kit-a", make_csr(make_key("ec")))
    ingest.ingest(layout)
    publish.publish(layout)
    path = layout.roster("kit-a") / "tls.json"
    first = tls_json(layout, "kit-a")

    stale = dict(first, not_after="2026-01-01T00:00:00Z")
    path.write_text(json.dumps(stale))
    rows = {r[0]: r for r in status.kit_rows(layout)}
    assert rows["kit-a"][4].startswith("-") and rows["kit-a"][5].startswith("expired")
    assert certificates(publish.publish(layout)) == ["kit-a/tls.json"]  # same CSR, answered again
    again = tls_json(layout, "kit-a")
    assert again["csr_sha256"] == first["csr_sha256"]
    assert leaf_of(again).serial_number != leaf_of(first).serial_number

    path.write_text("{not json")
    assert certificates(publish.publish(layout)) == ["kit-a/tls.json"] and tls_json(layout, "kit-a")["name"] == f"kit-a.{ZONE}"

    rows = {r[0]: r for r in status.kit_rows(layout)}
    assert int(rows["kit-a"][4]) >= 396 and rows["kit-b"][1:5] == ["-", "-", "-", "-"]

    # Ten days left: still valid, so the server waits for the kit's fresh CSR.
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(json.dumps(dict(tls_json(layout, "kit-a"), not_after=soon)))
    assert certificates(publish.publish(layout)) == []
    rows = {r[0]: r for r in status.kit_rows(layout)}
    assert rows["kit-a"][4] == "10" and rows["kit-a"][5].startswith("renewal due: waiting for the kit's fresh CSR")


def test_a_kit_id_that_is_no_dns_label_gets_a_reason(make_server):
    layout = make_server("kit-x-", "kit-ok")
    ca.init(layout, ZONE)
    for kit_id in ("kit-x-", "kit-ok"):
        push_csr(layout, kit_id, make_csr(make_key("ec")))
    ingest.ingest(layout)
    lines = []
    assert certificates(publish.publish(layout, tls_lines=lines)) == ["kit-ok/tls.json"]
    assert "kit-x-: no new certificate: kit id 'kit-x-' is not a DNS label (letters, digits, '-' inside)" in lines
