"""First boot's writes, through :mod:`appliance.durable`.

First boot writes to the boot partition (FAT) and the root and data file
systems alike; it hands in text as often as bytes and may name a directory
that does not exist yet.
"""

from __future__ import annotations

from pathlib import Path

from appliance.durable import fsync_dir, write_atomic

__all__ = ["fsync_dir", "write_file"]


def write_file(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    """Replace ``path`` atomically: readers see the old content or the new, never half.

    On FAT rename is not atomic in the strict sense, but the temp name is
    never read by anything, which is what matters there.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, mode=mode, temp=path.with_name(f".{path.name}.tmp"))
