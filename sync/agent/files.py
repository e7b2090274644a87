"""JSON state files of the sync agent, written with :mod:`appliance.durable`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from appliance.durable import fsync_dir, write_atomic

__all__ = ["fsync_dir", "write_atomic", "write_json", "read_json"]


def write_json(path: Path, value: Any) -> None:
    write_atomic(path, (json.dumps(value, indent=1, sort_keys=True) + "\n").encode())


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default
