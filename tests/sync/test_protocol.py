"""The batch format and the allow-list, on both sides."""

import json

import pytest

from sync import protocol
from sync.protocol import BatchRejected, validate_batch


def _batch(first, last, events, **header):
    raw = protocol.encode_batch(first, last, events, "2026-01-01T00:00:00Z")
    if header:
        lines = raw.decode().splitlines()
        h = json.loads(lines[0])
        h.update(header)
        lines[0] = json.dumps(h)
        raw = ("\n".join(lines) + "\n").encode()
    return raw


def test_names_sort_in_sequence_order():
    names = [protocol.batch_name(a, b) for a, b in [(1, 9), (10, 99), (100, 100000)]]
    assert names == sorted(names)
    assert protocol.parse_batch_name(names[2]) == (100, 100000)
    for odd in ["1-9.jsonl", "000000000009-000000000001.jsonl", "000000000000-000000000001.jsonl",
                "000000000001-000000000002.jsonl.tmp", "../000000000001-000000000002.jsonl"]:
        assert protocol.parse_batch_name(odd) is None, odd


def test_filter_keeps_only_allowed_fields_and_kinds():
    assert protocol.filter_event("recording.finished", {"recording_id": "r1", "recipients": ["age1x"],
                                                        "bytes": 10}) == {"recording_id": "r1", "bytes": 10}
    assert protocol.filter_event("annotation.saved", {"recording_id": "r1"}) is None
    assert protocol.filter_event("bookmark.added", {"recording_id": "r1", "offset_s": 3}) is None
    assert protocol.filter_event("thumbnail.made", {}) is None


def test_filter_withholds_anything_that_looks_like_a_secret_or_content():
    assert protocol.filter_event("setting.changed", {"key": "x", "value": "x AGE-SECRET-KEY-1ABC"}) is None
    assert protocol.filter_event("setting.changed", {"key": "x", "value": "age-encryption.org/v1"}) is None
    assert protocol.filter_event("setting.changed", {"key": "x", "value": {"nested": "object"}}) is None
    assert protocol.filter_event("recording.finished", {"recording_id": "/data/recordings/r1"}) is None
    assert protocol.filter_event("setting.changed", {"key": "x", "value": "a" * 500}) is None


def test_statistics_travel_only_with_opt_in():
    stats = {"recording_id": "r1", "counts": {"question_2": 4}, "duration_s": 600}
    assert protocol.filter_event("stats.lesson", stats) is None
    assert protocol.filter_event("stats.lesson", {**stats, "opted_in": False}) is None
    assert protocol.filter_event("stats.lesson", {**stats, "opted_in": True}) is not None
    assert protocol.filter_event("stats.lesson", {**stats, "opted_in": True, "counts": {"q": "text"}}) is None


def test_valid_batch_round_trips():
    events = [{"seq": 2, "kind": "person.added", "at": "t", "data": {"person_id": "p1", "role": "coach"}}]
    batch = validate_batch(protocol.batch_name(1, 3), _batch(1, 3, events), "kit-a")
    assert (batch.first, batch.last, batch.events) == (1, 3, events)


@pytest.mark.parametrize("raw, reason", [
    (b'{"batch":1,"first":1,"last":1,"count":0,"created_at":"t"}', "no newline"),
    (b"\xff\xfe\n", "not UTF-8"),
    (b"{not json\n", "not JSON"),
    (b'{"batch":1,"first":1,"last":2,"count":0,"created_at":"t"}\n', "does not match the file name"),
    (b'{"batch":1,"first":1,"last":1,"count":3,"created_at":"t"}\n', "header says 3 events"),
    (b'{"batch":1,"first":1,"last":1,"count":0,"created_at":"t","kit":"kit-b"}\n', "claims kit 'kit-b'"),
    (b'{"batch":1,"first":1,"last":1,"count":1,"created_at":"t"}\n'
     b'{"seq":1,"kind":"recording.finished","at":"t","data":{"kit_id":"kit-b"}}\n', "may not name a kit"),
    (b'{"batch":1,"first":1,"last":1,"count":1,"created_at":"t"}\n'
     b'{"seq":5,"kind":"recording.finished","at":"t","data":{}}\n', "out of order or outside"),
    (b'{"batch":1,"first":1,"last":1,"count":1,"created_at":"t"}\n'
     b'{"seq":1,"kind":"annotation.saved","at":"t","data":{}}\n', "not on the allow-list"),
    (b'{"batch":1,"first":1,"last":1,"count":1,"created_at":"t"}\n'
     b'{"seq":1,"kind":"setting.changed","at":"t","data":{"key":"k","value":"AGE-SECRET-KEY-1X"}}\n',
     "not plain metadata"),
])
def test_invalid_batches_are_rejected_with_a_reason(raw, reason):
    with pytest.raises(BatchRejected, match=reason):
        validate_batch(protocol.batch_name(1, 1), raw, "kit-a")


def test_repeated_sequence_numbers_inside_a_batch_are_rejected():
    events = [{"seq": 1, "kind": "person.added", "at": "t", "data": {}},
              {"seq": 1, "kind": "person.added", "at": "t", "data": {}}]
    with pytest.raises(BatchRejected, match="out of order"):
        validate_batch(protocol.batch_name(1, 2), _batch(1, 2, events), "kit-a")


def test_only_published_settings_travel():
    assert protocol.filter_event("setting.changed", {"key": "retention_days", "value": 90}) is not None
    assert protocol.filter_event("setting.changed", {"key": "welcome_text", "value": "Hallo klas 3b"}) is None


def test_the_settings_that_travel_are_the_settings_the_server_publishes():
    from sync.agent import roster

    assert set(roster.SETTINGS) == protocol.SYNCED_SETTINGS
