"""What a recording directory holds on disk: the sealed (complete) age files."""

from __future__ import annotations

import re
from pathlib import Path

_SEGMENT = re.compile(r"^seg-(\d{6})\.m4s\.age$")


def sealed_files(directory: Path) -> list[tuple[int, Path]]:
    """``(index, path)`` of sealed files, init (index 0) first; ``*.partial`` ignored."""
    found: list[tuple[int, Path]] = []
    if not directory.is_dir():
        return found
    for path in directory.iterdir():
        if path.name == "init.mp4.age":
            found.append((0, path))
        elif match := _SEGMENT.match(path.name):
            found.append((int(match.group(1)), path))
    return sorted(found)


def sealed_sizes(directory: Path) -> list[tuple[int, int]]:
    return [(idx, path.stat().st_size) for idx, path in sealed_files(directory)]
