"""Lesson statistics on the wire: only with the teacher's opt-in, and a
withdrawal (``stats.withdrawn``) makes the server drop what it holds."""

import json

import pytest

from sync import protocol
from sync.server import db, ingest, kits

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3Xq1Lq9zYbqgq3yqSxq6gM9E0x5Kx0b1Hx3o4v3kDa"
AT = "2026-03-02T10:00:00Z"
COUNTS = {"instruction": 4, "question": 3, "feedback": 5, "question_cat1": 1, "question_cat2": 1,
          "question_cat3": 1, "feedback_positive": 4, "feedback_negative": 1, "pearls": 2, "puzzles": 1}


def lesson(rid, counts=COUNTS):
    return {"recording_id": rid, "opted_in": True, "duration_s": 2400.0, "counts": counts}


def withdrawal(rid):
    return {"recording_id": rid, "opted_in": False}


@pytest.fixture
def server(layout):
    kits.add_kit(layout, "kit-a", KEY)
    return layout


def drop(layout, first, items):
    """items: [(kind, data)] as consecutive seqs from ``first``."""
    events = [{"seq": first + i, "kind": k, "at": AT, "data": d} for i, (k, d) in enumerate(items)]
    last = first + len(items) - 1
    (layout.inbox("kit-a") / protocol.batch_name(first, last)).write_bytes(
        protocol.encode_batch(first, last, events, AT))


def stats_rows(layout):
    conn = db.connect(layout.db)
    try:
        return [(r["seq"], r["kind"], json.loads(r["data"])) for r in conn.execute(
            "SELECT seq, kind, data FROM events WHERE kind LIKE 'stats.%' ORDER BY seq")]
    finally:
        conn.close()


def test_the_kit_only_lets_opted_in_counts_and_withdrawals_leave():
    assert protocol.filter_event("stats.lesson", lesson("r1")) == lesson("r1")
    assert protocol.filter_event("stats.lesson", {**lesson("r1"), "opted_in": False}) is None
    assert protocol.filter_event("stats.lesson", {k: v for k, v in lesson("r1").items() if k != "opted_in"}) is None
    assert protocol.filter_event("stats.withdrawn", withdrawal("r1")) == withdrawal("r1")
    # a "withdrawal" cannot smuggle numbers (or opt in) past the opt-in rule
    assert protocol.filter_event("stats.withdrawn", {**withdrawal("r1"), "counts": COUNTS}) is None
    assert protocol.filter_event("stats.withdrawn", {"recording_id": "r1", "opted_in": True}) is None
    assert protocol.filter_event("stats.withdrawn", {"opted_in": False}) is None


@pytest.mark.parametrize("kind,data,reason", [
    ("stats.lesson", {**lesson("r1"), "opted_in": False}, "without the teacher's opt-in"),
    ("stats.withdrawn", {**withdrawal("r1"), "counts": COUNTS}, "carries only recording_id"),
    ("stats.withdrawn", {"recording_id": "r1", "opted_in": True}, "carries only recording_id"),
    ("stats.lesson", {**lesson("r1"), "notes": "x"}, "field 'notes' is not allowed"),
])
def test_the_server_quarantines_statistics_that_break_the_rule(server, kind, data, reason):
    before = db.dump(server.db)
    drop(server, 1, [(kind, data)])
    report = ingest.ingest(server)["kit-a"]
    assert len(report.quarantined) == 1 and reason in report.quarantined[0][1]
    assert db.dump(server.db) == before


def test_a_withdrawal_drops_that_lessons_numbers_in_database_and_archive(server):
    drop(server, 1, [("stats.lesson", lesson("r1")), ("stats.lesson", lesson("r2")),
                     ("recording.finished", {"recording_id": "r1", "state": "complete"})])
    drop(server, 4, [("stats.lesson", lesson("r1", {**COUNTS, "pearls": 3}))])
    ingest.ingest(server)
    assert [row[2]["counts"]["pearls"] for row in stats_rows(server)] == [2, 2, 3]

    drop(server, 5, [("stats.withdrawn", withdrawal("r1"))])
    report = ingest.ingest(server)["kit-a"]
    assert report.applied and not report.quarantined
    gone = {"recording_id": "r1", "withdrawn": True}
    assert stats_rows(server) == [(1, "stats.lesson", gone), (2, "stats.lesson", lesson("r2")),
                                  (4, "stats.lesson", gone), (5, "stats.withdrawn", withdrawal("r1"))]
    archived = {p.name: p.read_text() for p in server.archive("kit-a").glob("*.jsonl")}
    assert len(archived) == 3 and not list(server.archive("kit-a").glob(".*"))
    everything = "".join(archived.values())
    assert everything.count('"counts"') == 1  # only r2's numbers are left
    # the rewritten files keep their header and every other event as received
    for name, text in archived.items():
        lines = [json.loads(line) for line in text.splitlines()]
        assert lines[0]["first"] == protocol.parse_batch_name(name)[0] and lines[0]["count"] == len(lines) - 1
    assert '"recording.finished"' in archived[protocol.batch_name(1, 3)]

    # Opting in again later sends the numbers anew; the old withdrawal does not touch them.
    drop(server, 6, [("stats.lesson", lesson("r1"))])
    ingest.ingest(server)
    assert stats_rows(server)[-1] == (6, "stats.lesson", lesson("r1"))
