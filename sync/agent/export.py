"""Outbox rows → immutable batch files in ``DATA/sync/outgoing``.

Each call turns the outbox rows after the last exported sequence number into
one or more batch files. A batch is written to a temporary name, fsynced and
hard-linked to its final name (which fails rather than replace an existing
file), so a batch on disk is always complete and never changes. Rows the
allow-list withholds are left out, but the batch's range still covers them,
so consecutive batches leave no gaps for the server to wait on.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sync import protocol

from . import state as state_mod
from .config import SyncPaths
from .files import write_atomic

MAX_EVENTS_PER_BATCH = 2000


def existing_batches(outgoing: Path) -> list[tuple[int, int, Path]]:
    found = []
    for path in outgoing.iterdir():
        rng = protocol.parse_batch_name(path.name)
        if rng:
            found.append((rng[0], rng[1], path))
    return sorted(found)


def exported_through(paths: SyncPaths, state: dict) -> int:
    """The state file, corrected by what is on disk (a crash after the rename)."""
    on_disk = existing_batches(paths.outgoing)
    return max([state["exported_through"]] + [last for _, last, _ in on_disk])


def export(catalogue, paths: SyncPaths, *, max_events: int = MAX_EVENTS_PER_BATCH) -> list[Path]:
    """Write batch files for everything new in the outbox; return the new files."""
    paths.ensure()
    for leftover in paths.outgoing.glob(".*.tmp"):
        leftover.unlink()  # a write cut off by a crash or a full disk; never a batch
    state = state_mod.load(paths)
    done = exported_through(paths, state)
    written: list[Path] = []
    while True:
        rows = catalogue.outbox(after_seq=done, limit=max_events)
        if not rows:
            break
        first, last = done + 1, rows[-1]["seq"]
        events = []
        for row in rows:
            data = protocol.filter_event(row["kind"], row["payload"])
            if data is not None:
                events.append({"seq": row["seq"], "kind": row["kind"], "at": row["created_at"], "data": data})
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        path = paths.outgoing / protocol.batch_name(first, last)
        write_atomic(path, protocol.encode_batch(first, last, events, now), exclusive=True)
        written.append(path)
        done = last
        state["exported_through"] = done
        state_mod.save(paths, state)
    return written


def pending(paths: SyncPaths, state: dict) -> list[Path]:
    """Batches not yet reported delivered, in sequence order."""
    return [p for first, last, p in existing_batches(paths.outgoing) if last > state["pushed_through"]]


def prune(paths: SyncPaths, acked_through: int, keep: int = 20) -> None:
    """Drop local batches the server has applied, keeping the newest few."""
    acked = [p for _, last, p in existing_batches(paths.outgoing) if last <= acked_through]
    for path in acked[:-keep] if keep else acked:
        path.unlink(missing_ok=True)


def parse_last(path: Path) -> int:
    rng = protocol.parse_batch_name(path.name)
    assert rng is not None
    return rng[1]
