"""The batch format shared by the kit (writer) and the school server (reader).

A batch is one immutable JSON-lines file named after the sequence range it
covers, ``<first>-<last>.jsonl`` with both numbers zero-padded to 12 digits so
that names sort in sequence order::

    000000000001-000000000250.jsonl

Line 1 is the header, every further line one event::

    {"batch": 1, "first": 1, "last": 250, "count": 248, "created_at": "..."}
    {"seq": 1, "kind": "recording.started", "at": "...", "data": {...}}

Events the allow-list withholds leave holes *inside* a batch, never between
batches: consecutive batches always satisfy ``next.first == prev.last + 1``,
which is what lets the server tell "not arrived yet" from "never existed".

What may travel is an allow-list of event families and, per family, of
fields. The kit drops everything else before a batch is written
(:func:`filter_event`); the server refuses a batch holding anything else
(:func:`validate_batch`) — the same table checked on both sides.

>>> batch_name(1, 250)
'000000000001-000000000250.jsonl'
>>> parse_batch_name('000000000001-000000000250.jsonl')
(1, 250)
>>> parse_batch_name('../etc/passwd') is None
True
>>> filter_event("recording.finished", {"recording_id": "r1", "path": "/x", "bytes": 5})
{'recording_id': 'r1', 'bytes': 5}
>>> filter_event("annotation.saved", {"recording_id": "r1"}) is None
True
>>> filter_event("stats.lesson", {"recording_id": "r1", "opted_in": False, "counts": {"question": 2}}) is None
True
>>> filter_event("stats.withdrawn", {"recording_id": "r1", "opted_in": False})
{'recording_id': 'r1', 'opted_in': False}
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from . import strictjson

FORMAT_VERSION = 1
SEQ_DIGITS = 12
BATCH_NAME_RE = re.compile(r"^(\d{12})-(\d{12})\.jsonl$")
KIT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# rsync's receiver writes into ".<name>.XXXXXX" and renames when complete.
RSYNC_TEMP_RE = re.compile(r"^\.(\d{12}-\d{12}\.jsonl)\.[A-Za-z0-9]{6}$")
DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024
MAX_STRING = 200
# The longest event a kit writes is a tls.csr (about 4 KiB) or a stats event
# with three full numeric maps (about 12 KiB); a longer line is not a batch.
MAX_LINE_BYTES = 64 * 1024
# A batch covers the outbox rows it was cut from, at most this many (the
# kit's export limit); withheld rows leave holes inside, never beyond.
MAX_BATCH_SPAN = 2000

# Strings that must never leave a kit: age file header, age secret keys,
# PEM/OpenSSH private keys.
FORBIDDEN_MARKERS = ("age-encryption.org", "AGE-SECRET-KEY-", "-----BEGIN", "OPENSSH PRIVATE KEY")
_FORBIDDEN_RE = re.compile("|".join(re.escape(m) for m in FORBIDDEN_MARKERS))
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

_RECORDING = {
    "recording_id", "teacher_id", "coach_id", "started_at", "clock_trusted", "duration_s",
    "segments", "bytes", "state", "retention_until", "reason", "source",
}
_TRAJECTORY = {
    "trajectory_id", "teacher_id", "coach_id", "state", "phase", "step", "recording_id",
    "opened_at", "closed_at", "at",
}
_DELETION = {"recording_id", "deleted_at", "reason", "segments", "bytes", "retention_until", "method"}
_HEALTH = {
    "disk_total_bytes", "disk_free_bytes", "temperature_c", "version", "last_error",
    "uptime_s", "recordings", "clock_trusted",
}
_STATS = {"recording_id", "opted_in", "duration_s", "window_s", "counts", "per_minute", "ratios"}

# What each field's value must be, besides short and plain (None is always
# allowed: a kit sends null for what it does not know). Both sides check it:
# the kit withholds an event that breaks it, the server refuses the batch, so
# a projection, a page or a sum never meets a string where it counts bytes.
ID, TEXT, COUNT, NUMBER, BOOL = "id", "text", "count", "number", "bool"
FIELD_TYPES: dict[str, str] = {
    "recording_id": ID, "teacher_id": ID, "coach_id": ID, "trajectory_id": ID, "person_id": ID,
    "started_at": TEXT, "clock_trusted": BOOL, "duration_s": NUMBER, "segments": COUNT, "bytes": COUNT,
    "state": TEXT, "retention_until": TEXT, "reason": TEXT, "source": TEXT, "phase": TEXT, "step": COUNT,
    "opened_at": TEXT, "closed_at": TEXT, "at": TEXT, "deleted_at": TEXT, "method": TEXT,
    "disk_total_bytes": COUNT, "disk_free_bytes": COUNT, "temperature_c": NUMBER, "version": TEXT,
    "last_error": TEXT, "uptime_s": NUMBER, "recordings": COUNT, "opted_in": BOOL, "window_s": NUMBER,
    "role": TEXT, "key": TEXT, "group_id": ID,
}
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")

# family (the part of the kind before the dot) -> fields that may travel.
ALLOWED_FIELDS: dict[str, set[str]] = {
    "recording": _RECORDING,
    "trajectory": _TRAJECTORY,
    "deletion": _DELETION,
    "kit": _HEALTH,
    "stats": _STATS,
    "person": {"person_id", "role"},
    "assignment": {"teacher_id", "coach_id"},
    "setting": {"key", "value"},
    # Audit log counts per teacher and coach (appliance.audit): numbers only.
    "audit": {"teacher_id", "coach_id", "counts"},
    # The kit's certificate signing request (public by nature: a public key and
    # a signature), base64 DER without PEM markers; the server decides the name.
    "tls": {"csr"},
    # Intervisie: that a share was made or withdrawn, and for which group (no title, names or text),
    # only where the school's setting intervisie_counts allows it.
    "intervisie": {"group_id"},
}
TLS_CSR = "tls.csr"
MAX_CSR_CHARS = 4096
_BASE64_RE = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
# The settings the school server may publish to kits: setting -> (type, low, high).
# Both sides check a value against this before they store or apply it; only
# these travel back up in setting.* events (the kit's admin page can store
# free text under other names).
SETTINGS: dict[str, tuple[type, Any, Any]] = {
    "retention_days": (int, 1, 3650),
    "close_trajectory_after_days": (int, 1, 3650),
    "sync_period_s": (int, 60, 86400),
    # Counts of intervisie shares made and withdrawn per group reach the school only where it asks.
    "intervisie_counts": (bool, False, True),
}
SYNCED_SETTINGS = set(SETTINGS)
RECIPIENT_RE = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")


def setting_ok(value: Any, spec: tuple[type, Any, Any]) -> bool:
    """
    >>> setting_ok(30, SETTINGS["retention_days"]), setting_ok(True, SETTINGS["retention_days"])
    (True, False)
    """
    kind, low, high = spec
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    return isinstance(value, kind)


def valid_recipient(text: Any) -> bool:
    """An X25519 ``age1…`` recipient as a roster may carry it.

    >>> valid_recipient("age1" + "q" * 58), valid_recipient("AGE-SECRET-KEY-1")
    (True, False)
    """
    return isinstance(text, str) and RECIPIENT_RE.match(text) is not None


# The one stats.* kind that travels without opted_in: true — the opt-out.
STATS_WITHDRAWN = "stats.withdrawn"
# Fields whose value may be a small object of numbers (statistics only).
NUMERIC_MAPS = {"counts", "per_minute", "ratios"}
KIND_RE = re.compile(r"^([a-z]+)\.[a-z_]{1,40}$")


def batch_name(first: int, last: int) -> str:
    return f"{first:0{SEQ_DIGITS}d}-{last:0{SEQ_DIGITS}d}.jsonl"


def parse_batch_name(name: str) -> tuple[int, int] | None:
    match = BATCH_NAME_RE.match(name)
    if not match:
        return None
    first, last = int(match.group(1)), int(match.group(2))
    if first < 1 or last < first:
        return None
    return first, last


def family(kind: str) -> str | None:
    match = KIND_RE.match(kind)
    if not match or match.group(1) not in ALLOWED_FIELDS:
        return None
    return match.group(1)


def text_ok(value: Any) -> bool:
    """Short printable text: no control, format (bidi, zero-width) or
    surrogate characters, nothing that looks like a key, a header or a path.

    >>> text_ok("2026-03-02T10:00:00Z"), text_ok("a\\nb"), text_ok("\\u202egpj.exe"), text_ok("/etc")
    (True, False, False, False)
    """
    return (isinstance(value, str) and len(value) <= MAX_STRING and value.isprintable()
            and not value.startswith("/") and _FORBIDDEN_RE.search(value) is None)


def _number_ok(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) < 2**53
    return isinstance(value, float) and math.isfinite(value) and abs(value) < 1e15


def _scalar_ok(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        return _number_ok(value)
    return text_ok(value)


_TYPE_WORDS = {ID: "an id (letters, digits, '._:-')", TEXT: "text", COUNT: "a whole number >= 0",
               NUMBER: "a number", BOOL: "true or false"}


def _typed_ok(name: str, value: Any) -> bool:
    kind = FIELD_TYPES.get(name)
    if value is None or kind is None:
        return True
    if kind == ID:
        return isinstance(value, str) and ID_RE.match(value) is not None
    if kind == TEXT:
        return isinstance(value, str)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == COUNT:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return _number_ok(value)  # NUMBER


def _numeric_map_ok(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) > 64:
        return False
    for key, item in value.items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z0-9_:]{1,40}", key):
            return False
        if not _number_ok(item):
            return False
    return True


def field_problem(kind: str, data: Any) -> str | None:
    """Why ``data`` may not travel as ``kind``, or None if it may."""
    fam = family(kind)
    if fam is None:
        return f"event kind {kind!r} is not on the allow-list"
    if not isinstance(data, dict):
        return f"event data of {kind} is not an object"
    allowed = ALLOWED_FIELDS[fam]
    for key, value in data.items():
        if key not in allowed:
            return f"field {key!r} is not allowed in {kind}"
        if kind == TLS_CSR and key == "csr":
            ok = isinstance(value, str) and len(value) <= MAX_CSR_CHARS and _BASE64_RE.match(value) is not None
        else:
            ok = _numeric_map_ok(value) if key in NUMERIC_MAPS else _scalar_ok(value)
        if not ok:
            return f"value of {kind}.{key} is not plain metadata"
        if not _typed_ok(key, value):
            return f"value of {kind}.{key} must be {_TYPE_WORDS[FIELD_TYPES[key]]}"
    if kind == STATS_WITHDRAWN:
        # The teacher switched sharing off: the server drops what it holds.
        if set(data) != {"recording_id", "opted_in"} or data["opted_in"] is not False:
            return "a withdrawal of lesson statistics carries only recording_id and opted_in: false"
    elif fam == "stats" and data.get("opted_in") is not True:
        return "lesson statistics without the teacher's opt-in"
    if fam == "tls" and (kind != TLS_CSR or set(data) != {"csr"}):
        return "a tls event is only tls.csr with its csr"
    if fam == "setting" and data.get("key") not in SYNCED_SETTINGS:
        return f"setting {str(data.get('key'))[:40]!r} does not leave the kit"
    return None


def filter_event(kind: str, payload: Any) -> dict | None:
    """What of an outbox event may leave the kit: allowed fields only, or None.

    Whole events are withheld when their kind is not allowed, when statistics
    lack the teacher's opt-in, or when any kept value still looks like more
    than metadata (a key, an age header, a path).
    """
    fam = family(kind)
    if fam is None or not isinstance(payload, dict):
        return None
    allowed = ALLOWED_FIELDS[fam]
    data = {k: v for k, v in payload.items() if k in allowed}
    if field_problem(kind, data) is not None:
        return None
    return data


def encode_batch(first: int, last: int, events: list[dict], created_at: str) -> bytes:
    """The bytes of one batch file; ``events`` are ``{seq, kind, at, data}``."""
    header = {"batch": FORMAT_VERSION, "first": first, "last": last,
              "count": len(events), "created_at": created_at}
    lines = [_ENCODER.encode(header)]
    lines += [_ENCODER.encode(e) for e in events]
    return ("\n".join(lines) + "\n").encode("utf-8")


class BatchRejected(ValueError):
    """A batch that must not be applied; the message is the quarantine reason."""


@dataclass
class Batch:
    first: int
    last: int
    events: list[dict] = field(default_factory=list)
    sha256: str = ""


_HEADER_KEYS = {"batch", "first", "last", "count", "created_at", "kit"}
_EVENT_KEYS = {"seq", "kind", "at", "data"}


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 20 else text[:20] + "…"


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**53


def _lines(raw: bytes) -> list[bytes]:
    if not raw.endswith(b"\n"):
        raise BatchRejected("incomplete file: last line has no newline")
    lines = raw[:-1].split(b"\n")
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE_BYTES:
            raise BatchRejected(f"line {number} is {len(line)} bytes, over the {MAX_LINE_BYTES}-byte line limit")
    return lines


def _parse_line(number: int, line: bytes) -> Any:
    try:
        return strictjson.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BatchRejected(f"line {number} is not UTF-8 at byte {exc.start}") from None
    except strictjson.Refused as exc:
        raise BatchRejected(f"line {number} is not JSON: {exc}") from None


def validate_batch(name: str, raw: bytes, kit_id: str) -> Batch:
    """Parse a received batch as hostile input; raise BatchRejected with the reason.

    ``kit_id`` comes from the directory the file arrived in. A header naming
    another kit is refused, never believed. Each line is at most
    ``MAX_LINE_BYTES`` and is parsed as I-JSON (:mod:`sync.strictjson`).

    >>> validate_batch("000000000001-000000000001.jsonl", b'{"batch":1,"first":1,"last":1,"count":0,'
    ...                b'"created_at":"t","created_at":"u"}\\n', "kit-a")
    Traceback (most recent call last):
    sync.protocol.BatchRejected: line 1 is not JSON: duplicate member name 'created_at'
    """
    rng = parse_batch_name(name)
    if rng is None:
        raise BatchRejected(f"file name {name!r} is not <first>-<last>.jsonl")
    first, last = rng
    if last - first + 1 > MAX_BATCH_SPAN:
        raise BatchRejected(f"range {first}-{last} spans more than the {MAX_BATCH_SPAN} sequence numbers a batch may")
    parsed = [_parse_line(number, line) for number, line in enumerate(_lines(raw), 1)]
    header, lines = parsed[0], parsed[1:]
    if (not isinstance(header, dict) or set(header) - _HEADER_KEYS or type(header.get("batch")) is not int
            or header["batch"] != FORMAT_VERSION):
        raise BatchRejected("line 1 is not a version-1 batch header")
    if "kit" in header and header["kit"] != kit_id:
        raise BatchRejected(f"header claims kit {str(header['kit'])[:64]!r} but arrived in {kit_id!r}'s inbox")
    if header.get("first") != first or header.get("last") != last or not (
            _int(header["first"]) and _int(header["last"])):
        raise BatchRejected("header range does not match the file name")
    count = header.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count != len(lines):
        raise BatchRejected(f"header says {_brief(count)} events, file holds {len(lines)}")
    if "created_at" in header and not text_ok(header["created_at"]):
        raise BatchRejected("line 1: created_at must be short plain text")
    events = []
    previous = first - 1
    for number, event in enumerate(lines, 2):
        if not isinstance(event, dict) or set(event) != _EVENT_KEYS:
            raise BatchRejected(f"line {number} is not an event with seq, kind, at, data")
        seq = event["seq"]
        if not _int(seq) or seq <= previous or seq > last:
            raise BatchRejected(f"line {number}: sequence number {_brief(seq)} out of order or outside {first}-{last}")
        previous = seq
        if not isinstance(event["kind"], str) or not text_ok(event["at"]) or len(event["at"]) > 40:
            raise BatchRejected(f"line {number}: kind and at must be short strings")
        if isinstance(event["data"], dict) and {"kit", "kit_id"} & set(event["data"]):
            raise BatchRejected(f"line {number}: an event may not name a kit")
        problem = field_problem(event["kind"], event["data"])
        if problem:
            raise BatchRejected(f"line {number}: {problem}")
        events.append(event)
    return Batch(first, last, events, hashlib.sha256(raw).hexdigest())


def scan_forbidden(data: bytes) -> list[str]:
    """Signatures of things that must never reach the server, found in ``data``."""
    found = []
    for marker, label in ((b"age-encryption.org", "age header"), (b"AGE-SECRET-KEY", "age secret key"),
                          (b"ftyp", "MP4 box"), (b"moof", "MP4 fragment"), (b"mdat", "MP4 media data"),
                          (b"\x00\x00\x00\x01\x67", "H.264 SPS"), (b"\x00\x00\x00\x01\x65", "H.264 IDR slice"),
                          (b"OPENSSH PRIVATE KEY", "ssh private key")):
        if marker in data:
            found.append(label)
    return found


def iter_jsonl(lines: Iterable[str]) -> Iterable[Any]:
    for line in lines:
        if line.strip():
            yield json.loads(line)
