"""The sealed files of one recording directory: listing, recovery, reading.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> for n in ["seg-000002.m4s.age", "init.mp4.age", "seg-000001.m4s.age", "seg-000003.m4s.age.partial"]:
...     _ = (d / n).write_bytes(b"")
>>> [p.name for p in list_segments(d)]
['init.mp4.age', 'seg-000001.m4s.age', 'seg-000002.m4s.age']
>>> [p.name for p in recover(d)], sorted(p.name for p in d.iterdir())[-1]
(['init.mp4.age', 'seg-000001.m4s.age', 'seg-000002.m4s.age'], 'seg-000002.m4s.age')
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import BinaryIO, Iterable

from appliance import age
from appliance.durable import fsync_dir
from appliance.sealed import PARTIAL_SUFFIX

INIT_NAME = "init.mp4.age"
_SEGMENT_RE = re.compile(r"^seg-(\d{6,})\.m4s\.age$")


def segment_name(index: int) -> str:
    """``0`` is the init segment, ``n >= 1`` a media segment."""
    return INIT_NAME if index == 0 else f"seg-{index:06d}.m4s.age"


def segment_index(path: Path | str) -> int | None:
    name = Path(path).name
    if name == INIT_NAME:
        return 0
    match = _SEGMENT_RE.match(name)
    return int(match.group(1)) if match else None


def list_segments(directory: Path | str) -> list[Path]:
    """Sealed files in playback order (init first); ``*.partial`` is never listed."""
    directory = Path(directory)
    found = []
    if not directory.is_dir():
        return []
    for entry in os.scandir(directory):
        index = segment_index(entry.name)
        if index is not None and entry.is_file():
            found.append((index, directory / entry.name))
    return [path for _, path in sorted(found)]


def recover(directory: Path | str) -> list[Path]:
    """After a power cut: delete unfinished ``*.partial`` files, return what is sealed.

    A ``.partial`` file is at most one segment (~2 s) that was being written
    when the power went; it is not a complete age file, so nothing in it can
    be trusted or played.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = False
    for entry in os.scandir(directory):
        if entry.name.endswith(PARTIAL_SUFFIX):
            os.unlink(entry.path)
            removed = True
    if removed:
        fsync_dir(directory)
    return list_segments(directory)


def sealed_sizes(directory: Path | str) -> list[tuple[int, int]]:
    """``(index, bytes)`` of every sealed file, init (0) first."""
    return [(segment_index(path) or 0, path.stat().st_size) for path in list_segments(directory)]


class SegmentReader(age.RandomAccessReader):
    """A random-access reader that owns (and closes) its file."""

    def __init__(self, stream: BinaryIO, identities: Iterable, cache_chunks: int = 8) -> None:
        self._owned = stream
        super().__init__(stream, identities, cache_chunks)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._owned.close()


def open_segment(path: Path | str, identities: Iterable) -> SegmentReader:
    """Seekable plaintext of one sealed segment; decrypts only the chunks read."""
    stream = open(path, "rb")
    try:
        return SegmentReader(stream, list(identities))
    except BaseException:
        stream.close()
        raise
