"""kit-server ingest: sequence order, gaps, idempotence, and hostile files."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync import protocol
from sync.server import db, ingest, kits

ROOT = Path(__file__).resolve().parents[2]
KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3Xq1Lq9zYbqgq3yqSxq6gM9E0x5Kx0b1Hx3o4v3kDa"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3Xq1Lq9zYbqgq3yqSxq6gM9E0x5Kx0b1Hx3o4v3kDb"


@pytest.fixture
def server(layout):
    kits.add_kit(layout, "kit-a", KEY_A)
    kits.add_kit(layout, "kit-b", KEY_B)
    return layout


def events(first, last, kind="recording.finished"):
    return [{"seq": s, "kind": kind, "at": "2026-01-01T00:00:00Z",
             "data": {"recording_id": f"r{s}", "bytes": s, "state": "complete"}} for s in range(first, last + 1)]


def drop(layout, kit, first, last, evs=None, name=None, raw=None):
    evs = events(first, last) if evs is None else evs
    raw = raw if raw is not None else protocol.encode_batch(first, last, evs, "2026-01-01T00:00:00Z")
    path = layout.inbox(kit) / (name or protocol.batch_name(first, last))
    path.write_bytes(raw)
    return path


def server_events(layout, kit):
    conn = db.connect(layout.db)
    try:
        return [r[0] for r in conn.execute("SELECT seq FROM events WHERE kit_id = ? ORDER BY seq", (kit,))]
    finally:
        conn.close()


def test_batches_apply_in_sequence_order_and_wait_on_gaps(server):
    drop(server, "kit-a", 11, 20)
    report = ingest.ingest(server)["kit-a"]
    assert report.waiting == [protocol.batch_name(11, 20)] and server_events(server, "kit-a") == []
    drop(server, "kit-a", 1, 10)
    report = ingest.ingest(server)["kit-a"]
    assert report.applied == [protocol.batch_name(1, 10), protocol.batch_name(11, 20)]
    assert server_events(server, "kit-a") == list(range(1, 21))
    assert json.loads((server.roster("kit-a") / "ack.json").read_text())["applied_through"] == 20


def test_ingest_is_idempotent_and_a_redelivered_batch_is_dropped(server):
    raw = protocol.encode_batch(1, 5, events(1, 5), "t")
    drop(server, "kit-a", 1, 5, raw=raw)
    ingest.ingest(server)
    before = db.dump(server.db)
    assert ingest.ingest(server)["kit-a"].applied == []
    drop(server, "kit-a", 1, 5, raw=raw)  # the kit pushed it again after a lost success report
    report = ingest.ingest(server)["kit-a"]
    assert report.duplicates == [protocol.batch_name(1, 5)]
    assert db.dump(server.db) == before
    assert server_events(server, "kit-a") == [1, 2, 3, 4, 5]


def test_a_crash_between_commit_and_archive_is_harmless(server, monkeypatch):
    drop(server, "kit-a", 1, 5)
    real_rename = os.rename

    def crash(src, dst):
        if "archive" in str(dst):
            raise KeyboardInterrupt("power cut")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest.ingest(server)
    monkeypatch.setattr(os, "rename", real_rename)
    assert ingest.ingest(server)["kit-a"].duplicates == [protocol.batch_name(1, 5)]
    assert server_events(server, "kit-a") == [1, 2, 3, 4, 5]


def test_withheld_events_leave_holes_inside_a_batch_not_gaps_between(server):
    evs = [e for e in events(1, 10) if e["seq"] % 3]
    drop(server, "kit-a", 1, 10, evs=evs)
    drop(server, "kit-a", 11, 12)
    assert len(ingest.ingest(server)["kit-a"].applied) == 2


def _hostile(layout, tmp_path):
    """(description, create(), expected reason fragment) for each hostile file."""
    inbox = layout.inbox("kit-a")
    big = inbox / protocol.batch_name(1, 1)

    def sparse_gigabyte():
        with open(big, "wb") as fh:
            fh.truncate(1 << 30)

    return [
        ("invalid JSON", lambda: drop(layout, "kit-a", 1, 2, raw=b'{"batch":1,"first":1,"last":2,"count":0,'
                                                                 b'"created_at":"t"}\n{oops\n'), "not JSON"),
        ("a 1 GB file", sparse_gigabyte, "over the"),
        ("wrong sequence numbers", lambda: drop(layout, "kit-a", 1, 3, evs=events(5, 7)), "out of order or outside"),
        ("range not matching its name", lambda: drop(layout, "kit-a", 1, 3, name=protocol.batch_name(1, 4)),
         "does not match the file name"),
        ("odd name", lambda: drop(layout, "kit-a", 1, 3, name="passwd"), "file name is not"),
        ("odd name with a newline", lambda: drop(layout, "kit-a", 1, 3, name="x\n.jsonl"), "file name is not"),
        ("hidden name", lambda: drop(layout, "kit-a", 1, 3, name=".bashrc"), "file name is not"),
        ("a symlink to a server file", lambda: (inbox / protocol.batch_name(1, 1)).symlink_to(layout.db),
         "not a regular file"),
        ("a directory", lambda: (inbox / protocol.batch_name(1, 1)).mkdir(), "not a regular file"),
        ("header claiming another kit",
         lambda: drop(layout, "kit-a", 1, 2, raw=protocol.encode_batch(1, 2, events(1, 2), "t").replace(
             b'"count"', b'"kit":"kit-b","count"')), "claims kit 'kit-b'"),
        ("events naming another kit",
         lambda: drop(layout, "kit-a", 1, 1, evs=[{"seq": 1, "kind": "kit.health", "at": "t",
                                                   "data": {"kit_id": "kit-b", "version": "1"}}]),
         "may not name a kit"),
        ("a key smuggled in a setting",
         lambda: drop(layout, "kit-a", 1, 1, evs=[{"seq": 1, "kind": "setting.changed", "at": "t",
                                                   "data": {"key": "k", "value": "AGE-SECRET-KEY-1QQQ"}}]),
         "not plain metadata"),
        ("a field off the allow-list",
         lambda: drop(layout, "kit-a", 1, 1, evs=[{"seq": 1, "kind": "recording.finished", "at": "t",
                                                   "data": {"recording_id": "r1", "note": "what she said"}}]),
         "not allowed"),
        ("truncated file", lambda: drop(layout, "kit-a", 1, 2, raw=protocol.encode_batch(1, 2, events(1, 2), "t")[:-9]),
         "no newline"),
    ]


@pytest.mark.parametrize("index", range(14))
def test_hostile_files_are_quarantined_with_a_reason_and_change_nothing(server, tmp_path, index):
    description, create, reason = _hostile(server, tmp_path)[index]
    before = db.dump(server.db)
    create()
    report = ingest.ingest(server)["kit-a"]
    assert len(report.quarantined) == 1, description
    assert reason in report.quarantined[0][1], (description, report.quarantined)
    assert db.dump(server.db) == before, description
    assert list(server.inbox("kit-a").iterdir()) == []
    reasons = list((server.quarantine / "kit-a").glob("*.reason"))
    assert len(reasons) == 1 and reason in reasons[0].read_text()
    # the legitimate batch that follows still applies
    drop(server, "kit-a", 1, 3)
    assert ingest.ingest(server)["kit-a"].applied == [protocol.batch_name(1, 3)]


def test_a_repeated_range_with_different_content_is_quarantined(server):
    drop(server, "kit-a", 1, 5)
    ingest.ingest(server)
    before = db.dump(server.db)
    evs = events(1, 5)
    evs[2]["data"]["bytes"] = 999999
    drop(server, "kit-a", 1, 5, evs=evs)
    drop(server, "kit-a", 3, 8)
    report = ingest.ingest(server)["kit-a"]
    assert len(report.quarantined) == 2
    assert all("repeated sequence numbers" in r for _, r in report.quarantined)
    assert db.dump(server.db) == before


def test_a_kit_is_known_by_its_directory(server):
    drop(server, "kit-b", 1, 3)
    ingest.ingest(server)
    assert server_events(server, "kit-b") == [1, 2, 3] and server_events(server, "kit-a") == []


def _ingest_later(layout, kit_id, seconds):
    conn = db.connect(layout.db)
    try:
        return ingest.ingest_kit(layout, conn, kit_id, layout.config(), now=time.time() + seconds)
    finally:
        conn.close()


def test_stale_rsync_temp_files_wait_then_go_to_quarantine(server):
    temp = server.inbox("kit-a") / f".{protocol.batch_name(1, 3)}.Ab12Cd"
    temp.write_bytes(b"partial")
    assert ingest.ingest(server)["kit-a"].in_flight == [temp.name]
    report = _ingest_later(server, "kit-a", 2 * 3600)
    assert "interrupted transfer" in report.quarantined[0][1]


def test_a_kit_cannot_keep_a_fake_temp_file_in_flight_with_a_future_mtime(server):
    temp = server.inbox("kit-a") / f".{protocol.batch_name(1, 3)}.Ab12Cd"
    temp.write_bytes(b"looks like a transfer")
    os.utime(temp, (time.time() + 10 * 365 * 86400,) * 2)  # what rsync -t would set from the kit's file
    report = _ingest_later(server, "kit-a", 2 * 3600)
    assert "interrupted transfer" in report.quarantined[0][1]


def test_kit_server_cli_reports_quarantine_on_one_line(server):
    drop(server, "kit-a", 1, 2, raw=b"garbage\n")
    # This checkout's code, not whatever a virtualenv's kit-server script points at.
    out = subprocess.run([sys.executable, "-m", "sync.server.cli", "--root", str(server.root), "ingest"],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0
    assert "quarantined '000000000001-000000000002.jsonl': line 1 is not JSON" in out.stderr
    assert "Traceback" not in out.stderr


def test_concurrent_ingest_runs_apply_each_batch_once(server):
    import threading

    for first in range(1, 200, 10):
        drop(server, "kit-a", first, first + 9)
    errors = []

    def run():
        try:
            ingest.ingest(server)
        except Exception as exc:  # pragma: no cover - the failure we look for
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert server_events(server, "kit-a") == list(range(1, 201))
