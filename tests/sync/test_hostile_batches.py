"""kit-server ingest against poisoned batches: each is quarantined with a
one-line reason, the hostile kit's rows stay as they were, and a healthy kit
ingested in the same run gets its batch applied.

Files arrive the way rsync leaves them (temp name in the inbox, then a
rename); every attack runs through ``ingest.ingest``, the same call
``kit-server ingest`` makes.
"""

from __future__ import annotations

import json
import os

import pytest

from sync import protocol
from sync.server import db, ingest, kits
from tests.sync.hostile_helpers import batch, kit_rows, make_server, put, reasons

HEADER = b'{"batch":1,"first":3,"last":3,"count":1,"created_at":"t"}\n'
NAME = protocol.batch_name(3, 3)


def event(data: str, kind: str = "recording.finished") -> bytes:
    return f'{{"seq":3,"kind":"{kind}","at":"t","data":{data}}}\n'.encode()


# (id, file name, bytes, what the reason says)
POISON = [
    ("huge integer", NAME, HEADER + event('{"recording_id":"r","bytes":' + "9" * 5000 + "}"),
     "more than 16 digits"),
    ("huge integer as seq", NAME, HEADER + b'{"seq":' + b"9" * 5000 + b',"kind":"kit.health","at":"t","data":{}}\n',
     "more than 16 digits"),
    ("integer past 2**53", NAME, HEADER + event('{"recording_id":"r","bytes":9007199254740993}'),
     "not plain metadata"),
    ("nested 100,000 deep", NAME, HEADER + b'{"seq":3,"kind":"kit.health","at":"t","data":'
     + b"[" * 100_000 + b"]" * 100_000 + b"}\n", "over the 65536-byte line limit"),
    ("nested 30,000 deep within the line limit", NAME, HEADER + b"[" * 30_000 + b"]" * 30_000 + b"\n",
     "nested too deeply"),
    ("NaN", NAME, HEADER + event('{"recording_id":"r","duration_s":NaN}'), "NaN is not a JSON number"),
    ("Infinity", NAME, HEADER + event('{"recording_id":"r","duration_s":-Infinity}'), "not a JSON number"),
    ("1e999", NAME, HEADER + event('{"recording_id":"r","duration_s":1e999}'), "out of range"),
    ("NaN inside statistics", NAME,
     HEADER + event('{"recording_id":"r","opted_in":true,"counts":{"q":NaN}}', "stats.lesson"), "NaN"),
    ("invalid UTF-8", NAME, HEADER + event('{"recording_id":"r\xff"}').replace(b"r\xc3\xbf", b"r\xff"),
     "not UTF-8"),
    ("UTF-8 byte order mark", NAME, b"\xef\xbb\xbf" + HEADER + event('{"recording_id":"r"}'), "not JSON"),
    ("lone surrogate", NAME, HEADER + event('{"recording_id":"\\ud800"}'), "lone surrogate"),
    ("duplicate keys", NAME, HEADER + event('{"recording_id":"r-evil1","recording_id":"r-good1"}'),
     "duplicate member name"),
    ("duplicate keys in the header", NAME,
     b'{"batch":1,"first":3,"last":3,"count":1,"count":2,"created_at":"t"}\n' + event('{"recording_id":"r"}'),
     "duplicate member name 'count'"),
    ("recording id as a number", NAME, HEADER + event('{"recording_id":5}'), "must be an id"),
    ("recording id as an object", NAME, HEADER + event('{"recording_id":{"$gt":""}}'), "not plain metadata"),
    ("bytes as text", NAME, HEADER + event('{"recording_id":"r","bytes":"lots"}'), "must be a whole number"),
    ("negative bytes", NAME, HEADER + event('{"recording_id":"r","bytes":-1}'), "must be a whole number"),
    ("disk size as text (the kits page divides by it)", NAME,
     HEADER + event('{"disk_total_bytes":"0","disk_free_bytes":5}', "kit.health"), "must be a whole number"),
    ("state as a boolean", NAME,
     HEADER + event('{"trajectory_id":"t-1","state":true}', "trajectory.changed"), "must be text"),
    ("opted_in as 1", NAME,
     HEADER + event('{"recording_id":"r","opted_in":1,"counts":{"q":1}}', "stats.lesson"), "must be true or false"),
    ("withdrawal with a numeric id", NAME,
     HEADER + event('{"recording_id":7,"opted_in":false}', "stats.withdrawn"), "must be an id"),
    ("data as a list", NAME, HEADER + event("[1, 2]"), "not an object"),
    ("NUL in a string", NAME, HEADER + event('{"recording_id":"r","state":"a\\u0000b"}'), "not plain metadata"),
    ("newline in a string", NAME, HEADER + event('{"recording_id":"r","state":"a\\nb"}'), "not plain metadata"),
    ("bidi override in a string", NAME,
     HEADER + event('{"recording_id":"r","state":"\\u202etxt.exe"}'), "not plain metadata"),
    ("control character in at", NAME,
     HEADER + b'{"seq":3,"kind":"kit.health","at":"\\u0007","data":{}}\n', "kind and at"),
    ("count as true", NAME,
     b'{"batch":1,"first":3,"last":3,"count":true,"created_at":"t"}\n' + event('{"recording_id":"r"}'),
     "header says True events"),
    ("batch version as true", NAME,
     b'{"batch":true,"first":3,"last":3,"count":1,"created_at":"t"}\n' + event('{"recording_id":"r"}'),
     "not a version-1 batch header"),
    ("created_at as a deep object", NAME,
     b'{"batch":1,"first":3,"last":3,"count":1,"created_at":{"a":[[[]]]}}\n' + event('{"recording_id":"r"}'),
     "created_at must be short plain text"),
    ("header as a list", NAME, b"[1]\n", "not a version-1 batch header"),
    ("empty file", NAME, b"", "no newline"),
    ("range wider than any batch (applied_through would jump to 10**12)", protocol.batch_name(3, 999_999_999_999),
     b'{"batch":1,"first":3,"last":999999999999,"count":1,"created_at":"t"}\n' + event('{"recording_id":"r"}'),
     "spans more than the 2000"),
    ("name with invalid UTF-8", os.fsdecode(b"\xff\xfe.jsonl"), b"x\n", "file name is not"),
]


@pytest.fixture
def server(layout):
    return make_server(layout)


def healthy_batch():
    return batch(3, [("recording.finished", {"recording_id": "r-good2", "teacher_id": "p-bert", "bytes": 7,
                                             "duration_s": 30.5, "state": "complete"}),
                     ("kit.health", {"disk_total_bytes": 100, "disk_free_bytes": 40, "version": "1.2"})])


def assert_healthy_kit_applied(server, report, before):
    assert report.applied == [protocol.batch_name(3, 4)] and report.quarantined == [] and report.error is None
    after = kit_rows(server, "kit-good")
    assert [r[1] for r in after["recordings"]] == ["r-good1", "r-good2"]
    assert [r[1] for r in after["events"]] == [1, 2, 3, 4]
    assert after["kits"][0][3] == 4  # applied_through
    assert json.loads(after["kits"][0][5]) == {"disk_total_bytes": 100, "disk_free_bytes": 40, "version": "1.2"}
    assert after["trajectories"] == before["trajectories"]


@pytest.mark.parametrize("name, raw, reason", [p[1:] for p in POISON], ids=[p[0] for p in POISON])
def test_a_poisoned_batch_is_quarantined_and_the_healthy_kit_goes_on(server, name, raw, reason):
    evil_before, good_before = kit_rows(server, "kit-evil"), kit_rows(server, "kit-good")
    put(server, "kit-evil", name, raw)
    put(server, "kit-good", *healthy_batch())

    reports = ingest.ingest(server)

    evil = reports["kit-evil"]
    assert evil.error is None
    assert len(evil.quarantined) == 1 and reason in evil.quarantined[0][1], evil.quarantined
    assert kit_rows(server, "kit-evil") == evil_before
    assert list(server.inbox("kit-evil").iterdir()) == []
    (line,) = reasons(server, "kit-evil")
    assert reason in line and line.count("\n") == 1 and line.endswith("\n"), line
    assert_healthy_kit_applied(server, reports["kit-good"], good_before)


def _evil_kits(server, count):
    ids = []
    for i in range(count):
        kit_id = f"kit-evil-{i:02d}"
        kits.add_kit(server, kit_id, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + f"{i:02d}".rjust(43, "Q"))
        ids.append(kit_id)
    return ids


def test_every_poison_at_once_from_its_own_kit_and_the_healthy_kit_goes_on(server):
    evil = _evil_kits(server, len(POISON))
    before = {kit_id: kit_rows(server, kit_id) for kit_id in evil}
    good_before = kit_rows(server, "kit-good")
    for kit_id, (_, name, raw, _) in zip(evil, POISON):
        put(server, kit_id, name, raw)
    inbox = server.inbox("kit-evil")
    (inbox / protocol.batch_name(3, 3)).symlink_to(server.db)
    (inbox / protocol.batch_name(4, 4)).mkdir()
    put(server, "kit-good", *healthy_batch())

    reports = ingest.ingest(server)

    for kit_id, (what, _, _, reason) in zip(evil, POISON):
        assert reports[kit_id].error is None, what
        assert [r for _, r in reports[kit_id].quarantined if reason in r], (what, reports[kit_id].quarantined)
        assert kit_rows(server, kit_id) == before[kit_id], what
        assert len(reasons(server, kit_id)) == 1, what
    assert len(reports["kit-evil"].quarantined) == 2
    assert_healthy_kit_applied(server, reports["kit-good"], good_before)
    # The hostile kits' own next real batches are not held up by any of it.
    for kit_id in evil[:3]:
        put(server, kit_id, *batch(1, [("recording.finished", {"recording_id": "r-1", "state": "complete"})]))
    after = ingest.ingest(server)
    assert [after[k].applied for k in evil[:3]] == [[protocol.batch_name(1, 1)]] * 3, [after[k] for k in evil[:3]]


def test_the_database_dump_is_unchanged_by_all_the_poison(server):
    evil = _evil_kits(server, len(POISON))
    before = db.dump(server.db)
    for kit_id, (_, name, raw, _) in zip(evil, POISON):
        put(server, kit_id, name, raw)
    reports = ingest.ingest(server)
    assert sum(len(r.quarantined) for r in reports.values()) == len(POISON)
    assert db.dump(server.db) == before


def test_a_line_of_100_mb_is_refused_without_parsing_it(server):
    # Even with a batch limit raised past it, no line of a batch is that long.
    conf = server.config()
    conf["max_batch_bytes"] = 200 * 1024 * 1024
    server.config_file.write_text(json.dumps(conf))
    evil_before = kit_rows(server, "kit-evil")
    temp = server.inbox("kit-evil") / f".{NAME}.Ab12Cd"
    with open(temp, "wb") as fh:
        fh.write(HEADER)
        fh.write(b'{"seq":3,"kind":"kit.health","at":"t","data":{"version":"')
        fh.truncate(len(HEADER) + 100 * 1024 * 1024)  # a sparse 100 MB of NULs inside one string
        fh.seek(0, os.SEEK_END)
        fh.write(b'"}}\n')
    temp.rename(server.inbox("kit-evil") / NAME)
    put(server, "kit-good", *healthy_batch())
    reports = ingest.ingest(server)
    assert "line 2 is 104857" in reports["kit-evil"].quarantined[0][1]
    assert "over the 65536-byte line limit" in reports["kit-evil"].quarantined[0][1]
    assert kit_rows(server, "kit-evil") == evil_before
    assert reports["kit-good"].applied == [protocol.batch_name(3, 4)]


def test_a_100_mb_file_is_refused_by_size_before_it_is_read(server, monkeypatch):
    temp = server.inbox("kit-evil") / f".{NAME}.Ab12Cd"
    with open(temp, "wb") as fh:
        fh.truncate(100 * 1024 * 1024)
    temp.rename(server.inbox("kit-evil") / NAME)
    opened = []
    real_open = os.open

    def watching_open(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", watching_open)
    put(server, "kit-good", *healthy_batch())
    reports = ingest.ingest(server)
    assert "over the 8388608-byte limit" in reports["kit-evil"].quarantined[0][1]
    assert not any(NAME in p for p in opened)
    assert reports["kit-good"].applied == [protocol.batch_name(3, 4)]


def test_an_unexpected_error_while_parsing_quarantines_that_file_only(server, monkeypatch):
    real = protocol.validate_batch

    def trips(name, raw, kit_id):
        if kit_id == "kit-evil":
            raise KeyError("a case validate_batch never thought of")
        return real(name, raw, kit_id)

    monkeypatch.setattr(protocol, "validate_batch", trips)
    evil_before, good_before = kit_rows(server, "kit-evil"), kit_rows(server, "kit-good")
    put(server, "kit-evil", *batch(3, [("recording.finished", {"recording_id": "r-x"})]))
    put(server, "kit-good", *healthy_batch())
    reports = ingest.ingest(server)
    assert reports["kit-evil"].quarantined[0][1].startswith("could not be read as a batch: KeyError")
    assert kit_rows(server, "kit-evil") == evil_before
    assert_healthy_kit_applied(server, reports["kit-good"], good_before)


def test_an_error_while_applying_rolls_back_and_quarantines_that_file_only(server, monkeypatch):
    real = ingest._project

    def explode(conn, kit_id, ev):
        real(conn, kit_id, ev)
        if ev["data"].get("recording_id") == "r-boom":
            raise OverflowError("Python int too large to convert to SQLite INTEGER")

    monkeypatch.setattr(ingest, "_project", explode)
    evil_before, good_before = kit_rows(server, "kit-evil"), kit_rows(server, "kit-good")
    # the first event applies, the second fails: nothing of the batch may stay
    put(server, "kit-evil", *batch(3, [("recording.finished", {"recording_id": "r-fine"}),
                                       ("recording.finished", {"recording_id": "r-boom"})]))
    put(server, "kit-good", *healthy_batch())
    reports = ingest.ingest(server)
    assert reports["kit-evil"].quarantined[0][1].startswith("could not be applied: OverflowError")
    assert kit_rows(server, "kit-evil") == evil_before
    assert_healthy_kit_applied(server, reports["kit-good"], good_before)


def _unlistable(kit_id):
    real_scandir = os.scandir

    def scandir(path):
        if kit_id in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    return scandir


def test_a_kit_that_cannot_be_ingested_at_all_does_not_stop_the_next(server, monkeypatch):
    # Not the file's fault (the inbox cannot even be listed): the kit is
    # reported, its files stay for the next run, the other kit is ingested.
    monkeypatch.setattr(os, "scandir", _unlistable("kit-evil"))
    name, raw = batch(3, [("recording.finished", {"recording_id": "r-later"})])
    put(server, "kit-evil", name, raw)
    good_before = kit_rows(server, "kit-good")
    put(server, "kit-good", *healthy_batch())
    reports = ingest.ingest(server)
    assert reports["kit-evil"].error.startswith("PermissionError")
    assert (server.inbox("kit-evil") / name).exists()
    assert_healthy_kit_applied(server, reports["kit-good"], good_before)


def test_kit_server_ingest_names_the_stopped_kit_on_one_line_and_goes_on(server, monkeypatch, capsys):
    from sync.server import cli

    monkeypatch.setattr(os, "scandir", _unlistable("kit-evil"))
    put(server, "kit-good", *healthy_batch())
    assert cli.main(["--root", str(server.root), "ingest"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kit-evil: stopped: PermissionError"), err
    assert kit_rows(server, "kit-good")["kits"][0][3] == 4
