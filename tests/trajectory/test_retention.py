"""Retention on schedule with a fake clock: the policy comes from the school
server over a real sync (loopback sshd + rsync), footage is shredded when
due, nothing of it is left, and the receipt reaches the server."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

from appliance.audit import AuditLog
from appliance.retention import CannotDelete, Retention
from appliance.retention.policy import format_time
from appliance.trajectory import Trajectories
from appliance.sealed import write_sealed_json
from tests.support import testbed
from sync.agent import sync_once
from sync.server import admin, ingest, publish

pytestmark = pytest.mark.network
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


class FakeClock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def iso(self) -> str:
        return format_time(self.now)


def rows_mentioning(db_path, needle: str) -> dict[str, int]:
    """Every table and how many of its rows contain ``needle`` anywhere."""
    conn = sqlite3.connect(db_path)
    try:
        found = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            count = sum(1 for row in conn.execute(f'SELECT * FROM "{table}"') if needle in json.dumps(row))
            if count:
                found[table] = count
        return found
    finally:
        conn.close()


def walk_to_closed(kit, trajectories) -> tuple[dict, list[str]]:
    t = trajectories.create("Anna", "Bram", planned_recordings=1)
    trajectories.act(t["id"], "intake")
    recordings = [kit.press_and_record(0.8)]
    trajectories.advance_recorded()
    recordings.append(kit.press_and_record(0.8))
    trajectories.advance_recorded()
    trajectories.act(t["id"], "review")
    return trajectories.act(t["id"], "close"), recordings


def test_retention_deletes_on_schedule_and_the_receipt_reaches_the_server(kit, school_server, tmp_path):
    layout = school_server.layout
    testbed.provision_kit(kit.data_dir, layout, "kit-traj", school_server)
    # The school sets its policy on the server; the kit learns it by syncing.
    admin.set_setting(layout, "close_trajectory_after_days", "10")
    admin.set_setting(layout, "retention_days", "60")
    publish.publish(layout)
    sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    assert kit.catalogue.get_setting("close_trajectory_after_days") == 10

    clock = FakeClock(T0)
    trajectories = Trajectories(kit.catalogue, kit.data_dir, now=clock.iso)
    retention = Retention(kit.catalogue, kit.data_dir, now=clock)
    t, recordings = walk_to_closed(kit, trajectories)
    anna, bram = kit.people["Anna"], kit.people["Bram"]
    pair = [anna["recipient"], bram["recipient"]]
    for rid in recordings:  # every kind of file a recording may have
        write_sealed_json(kit.data_dir / "recordings" / rid / "annotations.json.age", {"recording_id": rid}, pair)
        write_sealed_json(kit.data_dir / "recordings" / rid / "thumbnail.jpg.age", {"jpeg": "stand-in"}, pair)
        kit.catalogue.add_bookmark(rid, 0.5)
    AuditLog(kit.catalogue, kit.data_dir).record("played", bram["id"], anna["id"], bram["id"], pair, recordings[0])

    assert retention.run() == []
    until = kit.catalogue.get_recording(recordings[0])["retention_until"]
    assert until == format_time(T0 + dt.timedelta(days=10))  # closed + 10 days, before start + 60

    clock.now = T0 + dt.timedelta(days=9, hours=23)
    assert retention.run() == [] and all((kit.data_dir / "recordings" / r).is_dir() for r in recordings)

    clock.now = T0 + dt.timedelta(days=10, seconds=1)
    receipts = retention.run()
    assert sorted(r["recording_id"] for r in receipts) == sorted(recordings)
    assert {r["reason"] for r in receipts} == {"after_close"}

    for rid in recordings:
        # No file of it is left anywhere in the data directory...
        assert not (kit.data_dir / "recordings" / rid).exists()
        assert [p for p in kit.data_dir.rglob("*") if rid in p.name] == []
        # ...and the catalogue keeps only the receipt (and the queued sync events).
        assert set(rows_mentioning(kit.data_dir / "catalogue.db", rid)) == {"deletion_receipts", "outbox"}
    assert trajectories.require(t["id"])["state"] == "closed"  # the trajectory's metadata stays
    assert retention.run() == []  # nothing twice
    log = AuditLog(kit.catalogue, kit.data_dir).entries(pair, [kit.identity("Anna")])
    assert [(e["action"], e["person_id"]) for e in log] == [("played", bram["id"]), ("deleted", None), ("deleted", None)]

    sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    ingest.ingest(layout)
    conn = sqlite3.connect(layout.db)
    conn.row_factory = sqlite3.Row
    try:
        server_rows = {r["id"]: dict(r) for r in conn.execute(
            "SELECT id, state, deleted_at FROM recordings WHERE kit_id = 'kit-traj'")}
        receipts_on_server = [json.loads(r["data"]) for r in conn.execute(
            "SELECT data FROM events WHERE kit_id = 'kit-traj' AND kind = 'deletion.recorded'")]
        trajectory_row = conn.execute("SELECT state FROM trajectories WHERE id = ?", (t["id"],)).fetchone()
    finally:
        conn.close()
    for rid in recordings:
        assert server_rows[rid]["state"] == "deleted"
        assert server_rows[rid]["deleted_at"] == format_time(T0 + dt.timedelta(days=10, seconds=1))
    assert sorted(r["recording_id"] for r in receipts_on_server) == sorted(recordings)
    assert {(r["reason"], r["method"]) for r in receipts_on_server} == {("after_close", "crypto-shred")}
    assert trajectory_row["state"] == "closed"


def test_latest_date_applies_without_a_closed_trajectory_and_untrusted_clocks_delete_nothing(kit):
    kit.catalogue.set_setting("retention_days", 30)
    kit.catalogue.assign("Cor", "Bram")  # no trajectory at all
    rid = kit.press_and_record(0.8)
    untrusted = Retention(kit.catalogue, kit.data_dir, now=lambda: T0 + dt.timedelta(days=400),
                          trusted=lambda: False)
    assert untrusted.run() == [] and kit.catalogue.get_recording(rid)["retention_until"] is None

    clock = FakeClock(T0)
    retention = Retention(kit.catalogue, kit.data_dir, now=clock)
    retention.run()
    # The recording's own start time was not vouched for: it counts from when a trusted clock saw it.
    assert kit.catalogue.get_recording(rid)["retention_until"] == format_time(T0 + dt.timedelta(days=30))
    clock.now = T0 + dt.timedelta(days=30)
    assert [r["reason"] for r in retention.run()] == ["max_age"]
    assert kit.catalogue.get_recording(rid) is None


def test_teacher_deletes_own_recording_any_time_but_nobody_else_can(kit):
    trajectories = Trajectories(kit.catalogue, kit.data_dir)
    t = trajectories.create("Anna", "Bram")
    trajectories.act(t["id"], "intake")
    rid = kit.press_and_record(0.8)
    retention = Retention(kit.catalogue, kit.data_dir)
    for who in (kit.people["Bram"]["id"], kit.people["Cor"]["id"], None):
        with pytest.raises(CannotDelete):
            retention.delete(rid, "teacher_request", by_person=who)
    assert (kit.data_dir / "recordings" / rid).is_dir()
    receipt = retention.delete(rid, "teacher_request", by_person=kit.people["Anna"]["id"])
    assert receipt["state"] == "done" and receipt["step"] == 0 and receipt["trajectory_id"] == t["id"]
    assert not (kit.data_dir / "recordings" / rid).exists()
    assert trajectories.recordings(t["id"]) == []
    event = [r for r in kit.catalogue.outbox(limit=10_000) if r["kind"] == "deletion.recorded"][-1]["payload"]
    assert event["reason"] == "teacher_request" and event["recording_id"] == rid


def test_a_deletion_cut_off_halfway_is_finished_by_the_next_run(kit, monkeypatch):
    kit.catalogue.assign("Anna", "Bram")
    rid = kit.press_and_record(0.8)
    retention = Retention(kit.catalogue, kit.data_dir)
    import appliance.retention.shred as shred

    real = shred.shred_file
    calls = []

    def power_cut_after_one(path):
        if len(calls) == 1:
            raise OSError(5, "Input/output error")
        calls.append(path)
        return real(path)

    monkeypatch.setattr(shred, "shred_file", power_cut_after_one)
    with pytest.raises(OSError):
        retention.delete(rid, "teacher_request", by_person=kit.people["Anna"]["id"])
    # Half shredded: the receipt is pending, the catalogue still knows the recording.
    assert kit.catalogue.query_one("SELECT state FROM deletion_receipts WHERE recording_id = ?",
                                   (rid,))["state"] == "pending"
    assert kit.catalogue.get_recording(rid) is not None
    monkeypatch.setattr(shred, "shred_file", real)
    finished = Retention(kit.catalogue, kit.data_dir).run()
    assert [r["recording_id"] for r in finished] == [rid]
    assert not (kit.data_dir / "recordings" / rid).exists() and kit.catalogue.get_recording(rid) is None


def test_shredding_overwrites_the_age_header_before_unlinking(tmp_path):
    from appliance import age
    from appliance.retention.shred import _header_length

    who = age.generate_identity()
    path = tmp_path / "x.age"
    write_sealed_json(path, {"a": 1}, [str(who.recipient)])
    raw = path.read_bytes()
    import os

    fd = os.open(path, os.O_RDONLY)
    try:
        length = _header_length(fd, len(raw))
    finally:
        os.close(fd)
    assert raw[:length].startswith(b"age-encryption.org/v1\n") and raw[:length].endswith(b"\n")
    assert b"\n--- " in raw[:length] and b"\n--- " not in raw[length:]
