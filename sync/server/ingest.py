"""Apply the batches kits pushed, in sequence order, treating each as hostile.

For every kit, every entry in its inbox is one of:

* an rsync transfer still in flight (``.<name>.XXXXXX``): left alone, or
  quarantined once older than ``stale_temp_s``;
* refused: not a regular file, an odd name, over the size limit, or failing
  :func:`sync.protocol.validate_batch` — moved to ``quarantine/<kit>/`` with a
  ``.reason`` file, and nothing of it reaches the database;
* a second copy of a batch already applied (same range, same bytes): dropped;
* overlapping a range already applied with different bytes: quarantined;
* next in sequence: applied in one transaction, then moved to the archive;
* beyond a gap: left waiting until the missing range arrives.

The kit is whoever owns the inbox directory; nothing in a file can change that.
Running ingest twice, or after a crash between commit and move, is harmless.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from sync import protocol

from . import db
from .layout import Layout
from .publish import publish_ack


@dataclass
class KitReport:
    applied: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    events: int = 0


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "_"


def quarantine(layout: Layout, kit_id: str, path: Path, reason: str) -> Path:
    target_dir = layout.quarantine / kit_id
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    target = target_dir / f"{stamp}-{_safe(path.name)}"
    try:
        size = path.lstat().st_size
    except OSError:
        size = -1
    (target_dir / (target.name + ".reason")).write_text(
        f"{reason}\noriginal name: {path.name!r}\nsize: {size}\nquarantined: {_now()}\n")
    os.rename(path, target)
    return target


def _read_nofollow(path: Path, limit: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise protocol.BatchRejected("not a regular file")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise protocol.BatchRejected(f"larger than the {limit}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _project(conn, kit_id: str, event: dict) -> None:
    kind, data = event["kind"], event["data"]
    fam = kind.split(".", 1)[0]
    if fam == "recording" and data.get("recording_id"):
        cols = ["teacher_id", "coach_id", "started_at", "duration_s", "segments", "bytes", "state",
                "retention_until"]
        present = [c for c in cols if c in data]
        conn.execute(
            f"INSERT INTO recordings (kit_id, id{''.join(', ' + c for c in present)}) "
            f"VALUES (?, ?{', ?' * len(present)}) ON CONFLICT(kit_id, id) DO UPDATE SET "
            + (", ".join(f"{c} = excluded.{c}" for c in present) or "id = id"),
            (kit_id, data["recording_id"], *[data[c] for c in present]))
    elif fam == "deletion" and data.get("recording_id"):
        conn.execute(
            "INSERT INTO recordings (kit_id, id, state, deleted_at) VALUES (?, ?, 'deleted', ?) "
            "ON CONFLICT(kit_id, id) DO UPDATE SET state = 'deleted', deleted_at = excluded.deleted_at",
            (kit_id, data["recording_id"], data.get("deleted_at") or event["at"]))
    elif fam == "trajectory" and data.get("trajectory_id"):
        conn.execute(
            "INSERT INTO trajectories (id, kit_id, teacher_id, coach_id, state, phase, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET kit_id = excluded.kit_id, "
            "teacher_id = COALESCE(excluded.teacher_id, teacher_id), coach_id = COALESCE(excluded.coach_id, coach_id), "
            "state = COALESCE(excluded.state, state), phase = COALESCE(excluded.phase, phase), "
            "updated_at = excluded.updated_at",
            (data["trajectory_id"], kit_id, data.get("teacher_id"), data.get("coach_id"), data.get("state"),
             data.get("phase") or data.get("step"), event["at"]))
    elif kind == protocol.STATS_WITHDRAWN:
        # The teacher stopped sharing this lesson's statistics: the rows stay
        # (the event log has no gaps) but the numbers they carried go.
        conn.execute(
            "UPDATE events SET data = ? WHERE kit_id = ? AND kind LIKE 'stats.%' AND kind != ? "
            "AND json_extract(data, '$.recording_id') = ?",
            (json.dumps(_withdrawn_data(data["recording_id"]), sort_keys=True),
             kit_id, protocol.STATS_WITHDRAWN, data["recording_id"]))
    elif kind == "kit.health":
        conn.execute("UPDATE kits SET health = ?, health_at = ? WHERE id = ?",
                     (json.dumps(data, sort_keys=True), event["at"], kit_id))


def _apply(conn, kit_id: str, name: str, batch: protocol.Batch) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT applied_through FROM kits WHERE id = ?", (kit_id,)).fetchone()
        if row["applied_through"] != batch.first - 1:
            raise RuntimeError("applied_through moved under us")  # a concurrent ingest
        for event in batch.events:
            conn.execute("INSERT INTO events (kit_id, seq, kind, at, data) VALUES (?, ?, ?, ?, ?)",
                         (kit_id, event["seq"], event["kind"], event["at"],
                          json.dumps(event["data"], sort_keys=True)))
            _project(conn, kit_id, event)
        conn.execute("INSERT INTO batches (kit_id, first, last, name, sha256, events, applied_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (kit_id, batch.first, batch.last, name, batch.sha256, len(batch.events), _now()))
        conn.execute("UPDATE kits SET applied_through = ?, last_sync_at = ?, waiting_for = NULL WHERE id = ?",
                     (batch.last, _now(), kit_id))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def ingest_kit(layout: Layout, conn, kit_id: str, conf: dict, now: float | None = None) -> KitReport:
    report = KitReport()
    inbox = layout.inbox(kit_id)
    if not inbox.is_dir():
        return report
    limit = int(conf["max_batch_bytes"])
    now = time.time() if now is None else now
    candidates: list[tuple[protocol.Batch, Path]] = []
    for entry in sorted(os.scandir(inbox), key=lambda e: e.name):
        path = Path(entry.path)
        st = entry.stat(follow_symlinks=False)
        if protocol.RSYNC_TEMP_RE.match(entry.name) and stat.S_ISREG(st.st_mode):
            if now - st.st_mtime > conf["stale_temp_s"]:
                _q(layout, kit_id, path, "an interrupted transfer left this partial file behind", report)
            else:
                report.in_flight.append(entry.name)
            continue
        if not stat.S_ISREG(st.st_mode):
            _q(layout, kit_id, path, "not a regular file (directory, link or device)", report)
            continue
        if protocol.parse_batch_name(entry.name) is None:
            _q(layout, kit_id, path, "file name is not <first>-<last>.jsonl with 12-digit sequence numbers",
               report)
            continue
        if st.st_size > limit:
            _q(layout, kit_id, path, f"file is {st.st_size} bytes, over the {limit}-byte limit", report)
            continue
        try:
            raw = _read_nofollow(path, limit)
            batch = protocol.validate_batch(entry.name, raw, kit_id)
        except protocol.BatchRejected as exc:
            _q(layout, kit_id, path, str(exc), report)
            continue
        candidates.append((batch, path))

    applied = conn.execute("SELECT applied_through FROM kits WHERE id = ?", (kit_id,)).fetchone()[0]
    for batch, path in sorted(candidates, key=lambda c: (c[0].first, c[0].last)):
        known = conn.execute("SELECT last, sha256, name FROM batches WHERE kit_id = ? AND first = ?",
                             (kit_id, batch.first)).fetchone()
        if known and known["sha256"] == batch.sha256 and known["last"] == batch.last:
            path.unlink()
            report.duplicates.append(path.name)
        elif batch.first <= applied:
            _q(layout, kit_id, path,
               f"repeated sequence numbers: {batch.first}-{batch.last} overlaps what was already applied "
               f"(through {applied}) and differs from it", report)
        elif batch.first == applied + 1:
            _apply(conn, kit_id, path.name, batch)
            applied = batch.last
            report.applied.append(path.name)
            report.events += len(batch.events)
            target = layout.archive(kit_id) / path.name
            if target.exists():
                path.unlink()
            else:
                os.rename(path, target)
            withdrawn = {e["data"]["recording_id"] for e in batch.events if e["kind"] == protocol.STATS_WITHDRAWN}
            if withdrawn:
                redact_archive(layout, kit_id, withdrawn)
        else:
            report.waiting.append(path.name)
    return report


def _withdrawn_data(recording_id: str) -> dict:
    return {"recording_id": recording_id, "withdrawn": True}


def redact_archive(layout: Layout, kit_id: str, recording_ids: set[str]) -> int:
    """Drop the numbers of withdrawn lesson statistics from archived batches too.

    The database rows were blanked in the batch's transaction; the archive
    keeps each batch as received otherwise, so only those events' ``data``
    changes (temp file, fsync, rename). Returns how many files were rewritten.
    """
    rewritten = 0
    for path in sorted(layout.archive(kit_id).glob("*.jsonl")):
        raw = path.read_bytes()
        if b'"stats.' not in raw:
            continue
        lines = raw.decode("utf-8").splitlines()
        changed = False
        for i, line in enumerate(lines[1:], 1):
            event = json.loads(line)
            data = event.get("data") or {}
            if (event.get("kind", "").startswith("stats.") and event["kind"] != protocol.STATS_WITHDRAWN
                    and data.get("recording_id") in recording_ids and data != _withdrawn_data(data["recording_id"])):
                event["data"] = _withdrawn_data(data["recording_id"])
                lines[i] = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                changed = True
        if changed:
            temp = path.with_name("." + path.name + ".redact")
            with open(temp, "wb") as f:
                f.write(("\n".join(lines) + "\n").encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, path)
            rewritten += 1
    if rewritten:
        dir_fd = os.open(layout.archive(kit_id), os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return rewritten


def _q(layout: Layout, kit_id: str, path: Path, reason: str, report: KitReport) -> None:
    quarantine(layout, kit_id, path, reason)
    report.quarantined.append((path.name, reason))


def ingest(layout: Layout, kit_ids: list[str] | None = None) -> dict[str, KitReport]:
    """Ingest every kit's inbox (or only ``kit_ids``); one run at a time per server."""
    layout.require()
    conf = layout.config()
    lock = open(layout.root / "ingest.lock", "a")
    # A cron run overlapping the previous one waits instead of racing it.
    fcntl.flock(lock, fcntl.LOCK_EX)
    conn = db.connect(layout.db)
    reports = {}
    try:
        ids = kit_ids or [row[0] for row in conn.execute("SELECT id FROM kits ORDER BY id")]
        for kit_id in ids:
            report = ingest_kit(layout, conn, kit_id, conf)
            reports[kit_id] = report
            if report.applied:
                publish_ack(layout, conn, kit_id)
    finally:
        conn.close()
        lock.close()
    return reports
