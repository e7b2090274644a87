"""The agent's own progress, kept next to the batches (``DATA/sync/state.json``).

``exported_through``: last outbox seq written into a batch file.
``pushed_through``: last seq in a batch rsync reported fully delivered.
``acked_through``: last seq the server says it has applied (from ``ack.json``).
"""

from __future__ import annotations

from .config import SyncPaths
from .files import read_json, write_json

DEFAULT = {
    "exported_through": 0, "pushed_through": 0, "acked_through": 0,
    "last_success_at": None, "last_attempt_at": None, "last_error": None,
    "last_health": None,
}


def load(paths: SyncPaths) -> dict:
    state = dict(DEFAULT)
    state.update(read_json(paths.state_file, {}) or {})
    return state


def save(paths: SyncPaths, state: dict) -> None:
    paths.ensure()
    write_json(paths.state_file, state)
