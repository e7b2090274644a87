"""Every id a kit reports lives in that kit's namespace: kit B naming kit A's
trajectory, recording or people changes B's rows only, never A's."""

from __future__ import annotations

import json
import sqlite3

import pytest

from sync import protocol
from sync.server import admin, db, ingest, kits
from sync.server.dashboard import create_app, privacy
from tests.sync.hostile_helpers import batch, kit_rows, make_server, put

PASSWORD = "correct horse battery"


@pytest.fixture
def server(layout):
    make_server(layout)
    admin.add_person(layout, "Anna de Vries", "teacher", "age1" + "q" * 58, "p-anna")
    admin.add_person(layout, "Bert Jansen", "coach", "age1" + "p" * 58, "p-bert")
    # kit-good (A) has a lesson with opted-in statistics and an audit count
    put(layout, "kit-good", *batch(3, [
        ("stats.lesson", {"recording_id": "r-good1", "opted_in": True, "duration_s": 60.0,
                          "counts": {"question": 4}}),
        ("audit.counted", {"teacher_id": "p-anna", "coach_id": "p-bert", "counts": {"played": 3}}),
    ]))
    ingest.ingest(layout)
    return layout


def people(layout):
    conn = db.connect(layout.db)
    try:
        return [tuple(r) for r in conn.execute("SELECT * FROM people ORDER BY id")]
    finally:
        conn.close()


ATTACKS = [
    ("trajectory.changed", {"trajectory_id": "t-1", "teacher_id": "p-anna", "state": "closed", "phase": "3/3"}),
    ("trajectory.created", {"trajectory_id": "t-1", "coach_id": "p-bert", "state": "stopped"}),
    ("recording.finished", {"recording_id": "r-good1", "bytes": 999999, "state": "complete", "duration_s": 1.0}),
    ("recording.discarded", {"recording_id": "r-good1"}),
    ("deletion.recorded", {"recording_id": "r-good1", "deleted_at": "2026-03-03T00:00:00Z",
                           "reason": "teacher_request"}),
    ("stats.withdrawn", {"recording_id": "r-good1", "opted_in": False}),
    ("person.updated", {"person_id": "p-anna", "role": "coach"}),
    ("person.added", {"person_id": "p-bert", "role": "teacher"}),
    ("assignment.changed", {"teacher_id": "p-anna", "coach_id": "p-bert"}),
    ("kit.health", {"disk_total_bytes": 1, "disk_free_bytes": 0, "last_error": "kit-good is broken"}),
]


@pytest.mark.parametrize("kind, data", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_a_kit_naming_another_kits_ids_touches_only_its_own_rows(server, kind, data):
    good_before, people_before = kit_rows(server, "kit-good"), people(server)
    put(server, "kit-evil", *batch(3, [(kind, data)]))
    report = ingest.ingest(server)["kit-evil"]
    assert report.applied == [protocol.batch_name(3, 3)]  # valid, and applied: to kit-evil's namespace
    assert kit_rows(server, "kit-good") == good_before
    assert people(server) == people_before


def test_each_kit_has_its_own_trajectory_t1(server):
    put(server, "kit-evil", *batch(3, [ATTACKS[0]]))
    ingest.ingest(server)
    conn = db.connect(server.db)
    rows = {r["kit_id"]: (r["state"], r["phase"]) for r in conn.execute("SELECT * FROM trajectories WHERE id = 't-1'")}
    conn.close()
    assert rows == {"kit-good": ("open", "baseline"), "kit-evil": ("closed", "3/3")}


def test_a_withdrawal_from_another_kit_leaves_the_numbers(server):
    put(server, "kit-evil", *batch(3, [("stats.withdrawn", {"recording_id": "r-good1", "opted_in": False})]))
    ingest.ingest(server)
    conn = db.connect(server.db)
    (data,) = [json.loads(r[0]) for r in conn.execute(
        "SELECT data FROM events WHERE kit_id = 'kit-good' AND kind = 'stats.lesson'")]
    conn.close()
    assert data["counts"] == {"question": 4}
    assert '"question": 4' in (server.archive("kit-good") / protocol.batch_name(3, 4)).read_text().replace(
        '"question":4', '"question": 4')


def test_the_progress_page_does_not_let_one_kit_overwrite_anothers_counts(server):
    # Each kit sends running totals of its own audit log; a second kit's
    # totals for the same pair add to the first's, they do not replace them
    # (kit-zz's events come last in (kit, seq) order, where the page used to
    # keep only the last).
    kits.add_kit(server, "kit-zz", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + "Z" * 43)
    put(server, "kit-zz", *batch(1, [("audit.counted", {"teacher_id": "p-anna", "coach_id": "p-bert",
                                                        "counts": {"played": 0, "exported": 1}})]))
    ingest.ingest(server)
    admin.add_user(server, "coordinator", "coordinator", PASSWORD)
    client = create_app(server).test_client()
    client.get("/login")
    with client.session_transaction() as s:
        csrf = s["csrf"]
    client.post("/login", data={"name": "coordinator", "password": PASSWORD, "csrf": csrf})
    assert privacy.audit_totals(db.connect(server.db)) == {("p-anna", "p-bert"): {"played": 3, "exported": 1}}
    page = client.get("/progress?lang=en").get_data(as_text=True)
    assert "Anna de Vries" in page


def _v0_database(path):
    """A server database as version 0 left it: trajectories keyed by id alone,
    and kit-evil's report of t-1 having taken over kit-good's row."""
    conn = sqlite3.connect(path)
    for statement in db.SCHEMA:
        if "trajectories" not in statement and "dashboard_sessions" not in statement:
            conn.execute(statement)
    conn.execute("CREATE TABLE trajectories (id TEXT PRIMARY KEY, kit_id TEXT, teacher_id TEXT, coach_id TEXT, "
                 "state TEXT, phase TEXT, updated_at TEXT)")
    for kit_id in ("kit-good", "kit-evil"):
        conn.execute("INSERT INTO kits (id, pubkey, added_at, applied_through) VALUES (?, ?, 't', 1)",
                     (kit_id, "ssh-ed25519 " + kit_id))
    conn.execute("INSERT INTO events VALUES ('kit-good', 1, 'trajectory.created', 'a1', ?)",
                 (json.dumps({"trajectory_id": "t-1", "teacher_id": "p-anna", "state": "open"}),))
    conn.execute("INSERT INTO events VALUES ('kit-good', 2, 'trajectory.changed', 'a2', ?)",
                 (json.dumps({"trajectory_id": "t-1", "state": "recording", "step": 1}),))
    conn.execute("INSERT INTO events VALUES ('kit-evil', 1, 'trajectory.changed', 'b1', ?)",
                 (json.dumps({"trajectory_id": "t-1", "state": "closed"}),))
    conn.execute("INSERT INTO trajectories VALUES ('t-1', 'kit-evil', 'p-anna', NULL, 'closed', '1', 'b1')")
    conn.commit()
    conn.close()


def test_an_old_database_is_rekeyed_and_a_takeover_undone(tmp_path):
    path = tmp_path / "server.db"
    _v0_database(path)
    conn = db.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
        rows = [tuple(r) for r in conn.execute(
            "SELECT kit_id, id, teacher_id, state, phase, updated_at FROM trajectories ORDER BY kit_id")]
        assert conn.execute("SELECT COUNT(*) FROM dashboard_sessions").fetchone()[0] == 0
    finally:
        conn.close()
    assert rows == [("kit-evil", "t-1", None, "closed", None, "b1"),
                    ("kit-good", "t-1", "p-anna", "recording", "1", "a2")]
    before = db.dump(path)
    db.connect(path).close()  # a second open changes nothing
    assert db.dump(path) == before


def test_after_the_upgrade_a_kit_still_cannot_take_a_row_over(tmp_path):
    path = tmp_path / "server.db"
    _v0_database(path)
    conn = db.connect(path)
    conn.execute("BEGIN")
    db.upsert_trajectory(conn, "kit-evil", {"trajectory_id": "t-1", "teacher_id": "p-x", "state": "stopped"}, "b2")
    conn.execute("COMMIT")
    good = conn.execute("SELECT teacher_id, state FROM trajectories WHERE kit_id = 'kit-good'").fetchone()
    conn.close()
    assert tuple(good) == ("p-anna", "recording")
