"""Apply the batches kits pushed, in sequence order, treating each as hostile.

For every kit, every entry in its inbox is one of:

* an rsync transfer still in flight (``.<name>.XXXXXX``): left alone, or
  quarantined once older than ``stale_temp_s``;
* refused: not a regular file, an odd name, over the size limit, failing
  :func:`sync.protocol.validate_batch`, or failing to apply — moved to
  ``quarantine/<kit>/`` with a one-line ``.reason`` (:mod:`.quarantine`), and
  nothing of it reaches the database;
* placed against what the kit has applied (:mod:`.sequence`): a second copy
  of an applied batch is dropped, an overlap with different bytes refused,
  the next batch applied in one transaction and archived, a batch a little
  beyond a gap left waiting, one far beyond refused.

The kit is whoever owns the inbox directory; nothing in a file can change
that, and every row a batch writes is keyed by that kit. Each kit is
ingested on its own: whatever goes wrong with one kit's files is reported
for that kit and the run goes on with the next. Afterwards the inbox is
kept within its cap and quarantine pruned. Running ingest twice, or after a
crash between commit and move, is harmless.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import sqlite3
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from appliance.durable import write_atomic
from sync import protocol

from . import db, quarantine as quarantine_dir, sequence
from .layout import Layout
from .publish import publish_ack


@dataclass
class KitReport:
    applied: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    events: int = 0
    # Set when this kit's run stopped early; the other kits were not affected.
    error: str | None = None


class _Raced(RuntimeError):
    """Another ingest moved applied_through: not the file's fault, stop this kit."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(exc: BaseException) -> str:
    return quarantine_dir.one_line(f"{type(exc).__name__}: {exc}")


def quarantine(layout: Layout, kit_id: str, path: Path, reason: str) -> Path:
    return quarantine_dir.put(layout.quarantine / kit_id, path, reason)


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
        db.upsert_trajectory(conn, kit_id, data, event["at"])
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
            raise _Raced("applied_through moved under us")  # a concurrent ingest
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


def _examine(layout: Layout, kit_id: str, entry: os.DirEntry, conf: dict, now: float,
             report: KitReport) -> protocol.Batch | None:
    """The valid batch an inbox entry holds, or None (quarantined or still arriving)."""
    path = Path(entry.path)
    st = entry.stat(follow_symlinks=False)
    limit = int(conf["max_batch_bytes"])
    if protocol.RSYNC_TEMP_RE.match(entry.name) and stat.S_ISREG(st.st_mode):
        # ctime, not mtime: a transfer in progress keeps it fresh, and no
        # client can set it (rsync -t sets mtime to whatever the kit says).
        if now - st.st_ctime > conf["stale_temp_s"]:
            _q(layout, kit_id, path, "an interrupted transfer left this partial file behind", report)
        else:
            report.in_flight.append(entry.name)
        return None
    if not stat.S_ISREG(st.st_mode):
        _q(layout, kit_id, path, "not a regular file (directory, link or device)", report)
        return None
    if protocol.parse_batch_name(entry.name) is None:
        _q(layout, kit_id, path, "file name is not <first>-<last>.jsonl with 12-digit sequence numbers", report)
        return None
    if st.st_size > limit:
        _q(layout, kit_id, path, f"file is {st.st_size} bytes, over the {limit}-byte limit", report)
        return None
    try:
        return protocol.validate_batch(entry.name, _read_nofollow(path, limit), kit_id)
    except protocol.BatchRejected as exc:
        _q(layout, kit_id, path, str(exc), report)
    except Exception as exc:
        # validate_batch should say why in its own words; this is the net
        # under it, so that a file it trips over is refused, not fatal.
        _q(layout, kit_id, path, f"could not be read as a batch: {_describe(exc)}", report)
    return None


def _scan(layout: Layout, kit_id: str, conf: dict, now: float, report: KitReport) -> list[tuple]:
    candidates = []
    for entry in sorted(os.scandir(layout.inbox(kit_id)), key=lambda e: e.name):
        try:
            batch = _examine(layout, kit_id, entry, conf, now, report)
        except FileNotFoundError:
            continue  # renamed by a finishing rsync or gone: the next run sees it
        if batch is not None:
            candidates.append((batch, Path(entry.path)))
    return candidates


def _archive(layout: Layout, kit_id: str, path: Path, batch: protocol.Batch) -> None:
    target = layout.archive(kit_id) / path.name
    if target.exists():
        path.unlink()
    else:
        os.rename(path, target)
    withdrawn = {e["data"]["recording_id"] for e in batch.events if e["kind"] == protocol.STATS_WITHDRAWN}
    if withdrawn:
        redact_archive(layout, kit_id, withdrawn)


def _apply_in_order(layout: Layout, conn, kit_id: str, conf: dict, candidates: list[tuple],
                    report: KitReport) -> None:
    applied = conn.execute("SELECT applied_through FROM kits WHERE id = ?", (kit_id,)).fetchone()[0]
    for batch, path in sorted(candidates, key=lambda c: (c[0].first, c[0].last)):
        known = conn.execute("SELECT last, sha256 FROM batches WHERE kit_id = ? AND first = ?",
                             (kit_id, batch.first)).fetchone()
        placement = sequence.place(
            batch.first, batch.last, applied=applied, max_gap=int(conf["max_gap"]),
            duplicate=bool(known and known["sha256"] == batch.sha256 and known["last"] == batch.last))
        if placement.action == sequence.DROP:
            path.unlink()
            report.duplicates.append(path.name)
        elif placement.action == sequence.REFUSE:
            _q(layout, kit_id, path, placement.reason, report)
        elif placement.action == sequence.WAIT:
            report.waiting.append(path.name)
        else:
            try:
                _apply(conn, kit_id, path.name, batch)
            except (_Raced, sqlite3.OperationalError, OSError):
                raise  # busy, full or broken database: not the file's fault, try again next run
            except Exception as exc:  # e.g. a value SQLite will not store: the file's fault
                _q(layout, kit_id, path, f"could not be applied: {_describe(exc)}", report)
                continue
            applied = batch.last
            report.applied.append(path.name)
            report.events += len(batch.events)
            _archive(layout, kit_id, path, batch)


def _cap_inbox(layout: Layout, kit_id: str, conf: dict, report: KitReport) -> None:
    """Refuse the waiting batches furthest ahead while the inbox is over its cap.

    The gate refuses a push into a full inbox, but a session in progress can
    overshoot; what is left waiting here must not keep the kit's next batch out.
    """
    inbox = layout.inbox(kit_id)
    sizes = {}
    for path in inbox.iterdir():
        try:
            sizes[path.name] = path.lstat().st_size
        except FileNotFoundError:
            continue
    total, count = sum(sizes.values()), len(sizes)
    max_bytes, max_files = int(conf["inbox_max_bytes"]), int(conf["inbox_max_files"])
    waiting = sorted(report.waiting, key=lambda n: protocol.parse_batch_name(n) or (0, 0), reverse=True)
    for name in waiting:
        if total <= max_bytes and count <= max_files:
            break
        _q(layout, kit_id, inbox / name,
           f"inbox over its cap of {max_bytes} bytes and {max_files} files; this batch waited furthest ahead",
           report)
        report.waiting.remove(name)
        total -= sizes.get(name, 0)
        count -= 1


def _prune_quarantine(layout: Layout, kit_id: str, conf: dict, report: KitReport) -> None:
    report.pruned = quarantine_dir.prune(
        layout.quarantine / kit_id, max_bytes=int(conf["quarantine_max_bytes"]),
        max_files=int(conf["quarantine_max_files"]),
        max_age_s=float(conf["quarantine_max_age_days"]) * 86400)


def ingest_kit(layout: Layout, conn, kit_id: str, conf: dict, now: float | None = None) -> KitReport:
    """Ingest one kit's inbox. Never raises for what the kit sent: a failure
    ends this kit's run with ``report.error`` set, and leaves the database as
    the last committed batch left it."""
    report = KitReport()
    if not layout.inbox(kit_id).is_dir():
        return report
    now = time.time() if now is None else now
    try:
        candidates = _scan(layout, kit_id, conf, now, report)
        _apply_in_order(layout, conn, kit_id, conf, candidates, report)
        _cap_inbox(layout, kit_id, conf, report)
        _prune_quarantine(layout, kit_id, conf, report)
    except Exception as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        report.error = _describe(exc)
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
            write_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"), mode=stat.S_IMODE(path.stat().st_mode))
            rewritten += 1
    return rewritten


def _q(layout: Layout, kit_id: str, path: Path, reason: str, report: KitReport) -> None:
    quarantine(layout, kit_id, path, reason)
    report.quarantined.append((path.name, quarantine_dir.one_line(reason)))


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
                try:
                    publish_ack(layout, conn, kit_id)
                except Exception as exc:  # the kit learns next run; the other kits go on
                    report.error = report.error or f"ack not published: {_describe(exc)}"
    finally:
        conn.close()
        lock.close()
    return reports
