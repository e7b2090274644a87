"""The catalogue: schema as documented, outbox in the same transaction, time correction."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from appliance.catalogue import (
    Catalogue,
    DuplicatePerson,
    NoAssignment,
    OutboxPayloadError,
    UnknownPerson,
    WrongRole,
)
from appliance.clock import Clock
from appliance.errors import KitError

T_KEY = "age1" + "t" * 58
C_KEY = "age1" + "c" * 58
OTHER_KEY = "age1" + "o" * 58


class FakeTime:
    """A clock we can move: monotonic seconds and an (untrusted) wall clock."""

    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = 86400.0  # 1970-01-02: what an RTC-less Pi may believe

    def clock(self, boot_id: str = "boot-a") -> Clock:
        return Clock(boot_id=boot_id, monotonic=lambda: self.mono, wall=lambda: self.wall,
                     synchronized=lambda: False)


@pytest.fixture
def time_source() -> FakeTime:
    return FakeTime()


@pytest.fixture
def cat(tmp_path, time_source) -> Catalogue:
    catalogue = Catalogue(tmp_path / "catalogue.db", clock=time_source.clock())
    yield catalogue
    catalogue.close()


def assigned(cat: Catalogue) -> tuple[dict, dict]:
    teacher = cat.add_person("Anna de Vries", "teacher", T_KEY)
    coach = cat.add_person("Bert Jansen", "coach", C_KEY)
    cat.assign("anna de vries", "Bert Jansen")
    return teacher, coach


def test_schema_matches_the_documented_contract(cat):
    expected = {
        "people": ["id", "name", "role", "recipient", "created_at", "signing_key", "enrolled_at"],
        "assignment": ["id", "teacher_id", "coach_id", "assigned_at"],
        "recordings": ["id", "teacher_id", "coach_id", "recipients", "boot_id", "started_mono",
                       "started_at", "clock_trusted", "duration_s", "segments", "bytes", "state",
                       "retention_until", "projection"],
        "segments": ["recording_id", "idx", "start_s", "duration_s", "bytes"],
        "bookmarks": ["id", "recording_id", "offset_s", "created_at"],
        "settings": ["key", "value"],
        "outbox": ["seq", "kind", "payload", "created_at"],
    }
    for table, columns in expected.items():
        assert cat.db[table].columns_dict and [c.name for c in cat.db[table].columns] == columns
    assert cat.db["segments"].pks == ["recording_id", "idx"]


def test_wal_and_full_sync_on_every_threads_connection(cat):
    assert cat.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    seen = []
    thread = threading.Thread(target=lambda: seen.append(
        cat.db.execute("PRAGMA synchronous").fetchone()[0]))
    thread.start()
    thread.join()
    assert seen == [2]  # 2 = FULL
    assert cat.db.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_people_and_assignment_errors_are_one_line_kit_errors(cat):
    assigned(cat)
    with pytest.raises(DuplicatePerson):
        cat.add_person("ANNA DE VRIES", "coach", OTHER_KEY)
    with pytest.raises(UnknownPerson, match="Nobody"):
        cat.assign("Nobody", "Bert Jansen")
    with pytest.raises(WrongRole, match="not a teacher"):
        cat.assign("Bert Jansen", "Bert Jansen")
    with pytest.raises(WrongRole):
        cat.add_person("Carla", "leader", OTHER_KEY)
    for error in (DuplicatePerson, UnknownPerson, WrongRole, NoAssignment):
        assert issubclass(error, KitError)


def test_no_assignment_until_assigned(cat):
    assert cat.get_assignment() is None
    with pytest.raises(NoAssignment, match="kit assign"):
        cat.require_assignment()
    teacher, coach = assigned(cat)
    assignment = cat.require_assignment()
    assert assignment["teacher"]["id"] == teacher["id"]
    assert assignment["coach"]["id"] == coach["id"]


def test_every_change_writes_its_outbox_row_in_the_same_transaction(cat):
    teacher, coach = assigned(cat)
    rec = cat.create_recording(teacher["id"], coach["id"], [T_KEY, C_KEY])
    cat.add_segment(rec["id"], 0, 0.0, 0.0, 900)
    cat.add_segment(rec["id"], 1, 0.0, 2.0, 50_000)
    cat.add_bookmark(rec["id"], 1.5)
    cat.finish_recording(rec["id"])
    kinds = [row["kind"] for row in cat.outbox()]
    assert kinds == ["person.added", "person.added", "assignment.changed", "recording.started",
                     "bookmark.added", "recording.finished"]
    finished = cat.outbox()[-1]["payload"]
    assert finished["segments"] == 1 and finished["bytes"] == 50_900
    assert finished["duration_s"] == 2.0 and finished["state"] == "complete"
    # Metadata only: no key material, no path reaches the outbox.
    text = str(cat.outbox())
    assert T_KEY not in text and C_KEY not in text

    # A change that fails half-way leaves neither the row nor the outbox entry.
    before = len(cat.outbox())
    with pytest.raises(sqlite3.IntegrityError):
        with cat.transaction() as db:
            cat.emit("person.added", {"person_id": "p-x", "role": "teacher"})
            db.execute("INSERT INTO people (id, name, role, recipient, created_at) "
                       "VALUES ('p-x', 'Anna de Vries', 'teacher', ?, 'now')", (OTHER_KEY,))
    assert len(cat.outbox()) == before


def test_outbox_refuses_keys_paths_and_free_text(cat):
    with cat.transaction():
        for payload in ({"k": "AGE-SECRET-KEY-1ABC"}, {"where": "/data/recordings/r1"},
                        {"note": "she shouted"}, {"nested": [{"path": "x"}]}):
            with pytest.raises(OutboxPayloadError):
                cat.emit("x", payload)
    with pytest.raises(RuntimeError):
        cat.emit("x", {})  # outside a transaction


def test_recordings_visible_only_to_their_recipients(cat):
    teacher, coach = assigned(cat)
    other = cat.add_person("Carla", "teacher", OTHER_KEY)
    rec = cat.create_recording(teacher["id"], coach["id"], [T_KEY, C_KEY])
    assert [r["id"] for r in cat.recordings_visible_to(teacher["id"])] == [rec["id"]]
    assert [r["id"] for r in cat.recordings_visible_to(C_KEY)] == [rec["id"]]
    assert cat.recordings_visible_to(other["id"]) == []
    assert cat.recordings_visible_to("p-unknown") == []


def test_interrupted_recording_is_reconciled_with_the_sealed_files(cat):
    teacher, coach = assigned(cat)
    rec = cat.create_recording(teacher["id"], coach["id"], [T_KEY, C_KEY])
    cat.add_segment(rec["id"], 0, 0.0, 0.0, 1000)
    cat.add_segment(rec["id"], 1, 0.0, 2.0, 10_000)
    cat.add_segment(rec["id"], 2, 2.0, 2.1, 11_000)
    # On disk: 0, 1, 2 and 3 (sealed just before the cut, no row yet).
    row = cat.mark_interrupted(rec["id"], [(0, 1000), (1, 10_000), (2, 11_000), (3, 12_000)])
    assert row["state"] == "interrupted"
    assert row["segments"] == 3 and row["bytes"] == 34_000
    assert row["duration_s"] == pytest.approx(6.1)
    assert cat.outbox()[-1]["kind"] == "recording.interrupted"


def test_trusted_time_corrects_this_boots_recordings_only(tmp_path, time_source):
    old_boot = Catalogue(tmp_path / "c.db", clock=time_source.clock("boot-old"))
    teacher, coach = assigned(old_boot)
    old = old_boot.create_recording(teacher["id"], coach["id"], [T_KEY, C_KEY])
    old_boot.close()

    cat = Catalogue(tmp_path / "c.db", clock=time_source.clock("boot-new"))
    time_source.mono = 50.0
    new = cat.create_recording(teacher["id"], coach["id"], [T_KEY, C_KEY])
    assert new["started_at"].startswith("1970-01-02") and new["clock_trusted"] == 0
    time_source.mono = 110.0
    corrected = cat.trust_time(1_700_000_060.0, source="browser")  # 60 s after the start
    assert corrected == 1
    fixed = cat.get_recording(new["id"])
    assert fixed["started_at"] == "2023-11-14T22:13:20.000000Z" and fixed["clock_trusted"] == 1
    assert cat.get_recording(old["id"])["clock_trusted"] == 0
    assert cat.outbox()[-1]["kind"] == "recording.time_corrected"
    # A restarted daemon in the same boot keeps the trusted offset.
    again = Catalogue(tmp_path / "c.db", clock=time_source.clock("boot-new"))
    again.restore_clock()
    assert again.clock.now().trusted
    cat.close()
    again.close()


def test_concurrent_writers_from_many_threads(cat):
    teacher, coach = assigned(cat)
    rec = cat.create_recording(teacher["id"], coach["id"], [T_KEY, C_KEY])
    errors = []

    def writer(n: int) -> None:
        try:
            for i in range(20):
                cat.add_bookmark(rec["id"], n * 100 + i)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(cat.list_bookmarks(rec["id"])) == 100
    assert len([r for r in cat.outbox() if r["kind"] == "bookmark.added"]) == 100
    assert cat.integrity_check() == "ok"
