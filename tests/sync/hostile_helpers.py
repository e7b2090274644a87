"""A server with a hostile kit and a healthy one, and a per-kit view of its rows."""

from __future__ import annotations

from sync import protocol
from sync.server import db, ingest, kits

KEY_EVIL = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3Xq1Lq9zYbqgq3yqSxq6gM9E0x5Kx0b1Hx3o4v3kDa"
KEY_GOOD = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3Xq1Lq9zYbqgq3yqSxq6gM9E0x5Kx0b1Hx3o4v3kDb"
AT = "2026-03-02T10:00:00Z"

# Every table that holds something a kit reported, and the column naming the kit.
KIT_TABLES = {"kits": "id", "batches": "kit_id", "events": "kit_id", "recordings": "kit_id",
              "trajectories": "kit_id"}


def kit_rows(layout, kit_id: str) -> dict[str, list[tuple]]:
    """Every row the server holds for ``kit_id``, table by table, in a stable order."""
    conn = db.connect(layout.db)
    try:
        return {table: [tuple(r) for r in conn.execute(
                    f"SELECT * FROM {table} WHERE {column} = ? ORDER BY 1, 2", (kit_id,))]
                for table, column in KIT_TABLES.items()}
    finally:
        conn.close()


def batch(first: int, items: list[tuple[str, dict]], last: int | None = None) -> tuple[str, bytes]:
    """(name, bytes) of a well-formed batch of ``items`` [(kind, data)] from seq ``first``."""
    events = [{"seq": first + i, "kind": k, "at": AT, "data": d} for i, (k, d) in enumerate(items)]
    last = last if last is not None else first + len(items) - 1
    return protocol.batch_name(first, last), protocol.encode_batch(first, last, events, AT)


def put(layout, kit_id: str, name: str, raw: bytes):
    """Place a file in a kit's inbox as rsync leaves it: written under a temp
    name in the inbox, then renamed to its final name."""
    inbox = layout.inbox(kit_id)
    temp = inbox / f".{name}.Xy12Zq"
    temp.write_bytes(raw)
    temp.rename(inbox / name)
    return inbox / name


def reasons(layout, kit_id: str) -> list[str]:
    directory = layout.quarantine / kit_id
    return sorted(p.read_text() for p in directory.glob("*.reason")) if directory.is_dir() else []


def make_server(layout):
    kits.add_kit(layout, "kit-evil", KEY_EVIL)
    kits.add_kit(layout, "kit-good", KEY_GOOD)
    # Both kits have a history the server already holds.
    for kit_id, rid in (("kit-evil", "r-evil1"), ("kit-good", "r-good1")):
        put(layout, kit_id, *batch(1, [
            ("recording.finished", {"recording_id": rid, "teacher_id": "p-anna", "bytes": 10,
                                    "duration_s": 60.0, "state": "complete"}),
            ("trajectory.changed", {"trajectory_id": "t-1", "teacher_id": "p-anna", "state": "open",
                                    "phase": "baseline"}),
        ]))
    ingest.ingest(layout)
    return layout
