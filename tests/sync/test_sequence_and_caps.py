"""A batch far ahead of the sequence, an inbox over its cap, a quarantine
that only grows: none of it holds up the kit's next real batch or fills the
server's disk."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sync import protocol
from sync.agent import export
from sync.server import ingest, quarantine
from tests.sync.hostile_helpers import batch, kit_rows, make_server, put, reasons


@pytest.fixture
def server(layout):
    return make_server(layout)  # both kits have applied 1-2


def one(first, rid="r-x", last=None):
    return batch(first, [("recording.finished", {"recording_id": rid, "state": "complete"})], last=last)


def limits(layout, **changes):
    conf = layout.config()
    conf.update(changes)
    layout.config_file.write_text(json.dumps(conf))


def test_a_batch_never_spans_more_than_the_kit_exports():
    assert export.MAX_EVENTS_PER_BATCH <= protocol.MAX_BATCH_SPAN


def test_a_far_future_batch_is_refused_and_the_next_real_batch_applies(server):
    before = kit_rows(server, "kit-evil")
    far = put(server, "kit-evil", *one(999_999_999, "r-future"))
    report = ingest.ingest(server)["kit-evil"]
    assert report.waiting == [] and report.applied == []
    assert "sequence jumps ahead: starts at 999999999 but 3 is next" in report.quarantined[0][1]
    assert kit_rows(server, "kit-evil") == before
    # The name is free again: the kit's own batch of that range could land later.
    assert not far.exists()
    put(server, "kit-evil", *one(3, "r-real"))
    report = ingest.ingest(server)["kit-evil"]
    assert report.applied == [protocol.batch_name(3, 3)] and report.waiting == []
    assert [r[1] for r in kit_rows(server, "kit-evil")["recordings"]] == ["r-evil1", "r-real"]


def test_a_far_future_batch_arriving_with_the_real_one_is_refused_in_the_same_run(server):
    put(server, "kit-evil", *one(50_000, "r-future"))
    put(server, "kit-evil", *one(3, "r-real"))
    report = ingest.ingest(server)["kit-evil"]
    assert report.applied == [protocol.batch_name(3, 3)]
    assert [n for n, _ in report.quarantined] == [protocol.batch_name(50_000, 50_000)]


def test_a_long_honest_backlog_is_not_mistaken_for_a_jump(server):
    # 30 full batches arrive at once: each is next once the one before applied.
    for first in range(3, 3 + 30 * 2000, 2000):
        put(server, "kit-good", *one(first, f"r-{first}", last=first + 1999))
    report = ingest.ingest(server)["kit-good"]
    assert len(report.applied) == 30 and report.quarantined == []


def test_a_batch_a_little_ahead_waits_and_is_refused_once_the_real_range_covers_it(server):
    put(server, "kit-evil", *one(5, "r-sneaky"))
    assert ingest.ingest(server)["kit-evil"].waiting == [protocol.batch_name(5, 5)]
    put(server, "kit-evil", *batch(3, [("recording.finished", {"recording_id": f"r-{s}"}) for s in (3, 4, 5, 6)]))
    report = ingest.ingest(server)["kit-evil"]
    assert report.applied == [protocol.batch_name(3, 6)]
    assert "repeated sequence numbers" in report.quarantined[0][1]
    assert "r-sneaky" not in str(kit_rows(server, "kit-evil"))


def test_the_inbox_cap_refuses_the_waiting_batches_furthest_ahead(server):
    limits(server, inbox_max_files=3)
    for first in range(10, 16):  # six batches waiting for 3-9
        put(server, "kit-evil", *one(first))
    report = ingest.ingest(server)["kit-evil"]
    assert report.waiting == [protocol.batch_name(f, f) for f in (10, 11, 12)]
    assert sorted(n for n, _ in report.quarantined) == [protocol.batch_name(f, f) for f in (13, 14, 15)]
    assert all("inbox over its cap" in r for _, r in report.quarantined)
    assert len(list(server.inbox("kit-evil").iterdir())) == 3


def test_quarantine_keeps_within_its_cap_oldest_content_first(server):
    limits(server, quarantine_max_files=15, quarantine_max_bytes=10 * 1024 * 1024)
    for i in range(10):
        put(server, "kit-evil", f"junk-{i:02d}", b"x" * (2 * 1024 * 1024))
        report = ingest.ingest(server)["kit-evil"]
    used_bytes, used_files = quarantine.usage(server.quarantine / "kit-evil")
    assert used_bytes <= 10 * 1024 * 1024 and used_files <= 15
    lines = reasons(server, "kit-evil")
    # every reason is kept; the oldest entries lost their content, the newest did not
    assert len(lines) == 10
    assert [("content dropped" in line) for line in lines] == [True] * 6 + [False] * 4
    assert report.pruned
    # the healthy kit's quarantine is its own
    assert reasons(server, "kit-good") == []


def test_when_even_the_reasons_are_over_the_cap_the_oldest_go(server):
    limits(server, quarantine_max_files=6)
    for i in range(8):
        put(server, "kit-evil", f"junk-{i:02d}", b"x")
    ingest.ingest(server)
    lines = reasons(server, "kit-evil")
    assert len(lines) == 6 and quarantine.usage(server.quarantine / "kit-evil")[1] == 6
    assert "junk-02" in lines[0] and "junk-07" in lines[-1]


def test_quarantine_drops_what_is_older_than_its_maximum_age(server):
    directory = server.quarantine / "kit-evil"
    old = server.inbox("kit-evil") / "old-junk"
    old.write_bytes(b"x")
    quarantine.put(directory, old, "something", now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=31))
    put(server, "kit-evil", "new-junk", b"y")
    report = ingest.ingest(server)["kit-evil"]
    lines = reasons(server, "kit-evil")
    assert len(lines) == 1 and "new-junk" in lines[0]
    assert len(report.pruned) == 1


def test_a_file_bigger_than_the_quarantine_cap_leaves_its_reason(server):
    temp = server.inbox("kit-evil") / ".big.Ab12Cd"
    with open(temp, "wb") as fh:
        fh.truncate(1 << 30)
    temp.rename(server.inbox("kit-evil") / protocol.batch_name(3, 3))
    ingest.ingest(server)
    (line,) = reasons(server, "kit-evil")
    assert "over the 8388608-byte limit" in line and "content dropped" in line
    assert quarantine.usage(server.quarantine / "kit-evil")[0] < 4096


def test_a_hostile_name_cannot_pass_for_a_reason_file(server):
    put(server, "kit-evil", "x.reason", b"fake reason\n")
    ingest.ingest(server)
    entries = quarantine.entries(server.quarantine / "kit-evil")
    assert len(entries) == 1 and len(entries[0].paths) == 2
    (line,) = reasons(server, "kit-evil")
    assert line.startswith("file name is not")
