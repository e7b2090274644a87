"""Removing every file of a recording so nothing of it can be read again.

Each file is an age file: its header holds the only copies of the file key,
wrapped to the teacher's and the coach's keys. The header is overwritten
with random bytes and fsynced before the file is unlinked, so even a copy of
the card's blocks taken afterwards holds only payload whose key is gone
(crypto-shredding; an SD card's wear levelling may still keep an older
physical copy of a header, which opens only with the teacher's or coach's key).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from appliance.durable import fsync_dir

HEADER_LIMIT = 64 * 1024


@dataclass
class Shredded:
    files: int = 0
    bytes: int = 0


def _header_length(fd: int, size: int) -> int:
    """Bytes up to the end of the age header's MAC line; the whole file if none is found."""
    head = os.pread(fd, min(size, HEADER_LIMIT), 0)
    mark = head.find(b"\n--- ")
    if mark < 0:
        return min(size, HEADER_LIMIT)
    end = head.find(b"\n", mark + 1)
    return (end + 1) if end >= 0 else len(head)


def shred_file(path: Path) -> int:
    """Overwrite the header, fsync, unlink; returns the file's size."""
    fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    try:
        size = os.fstat(fd).st_size
        length = _header_length(fd, size)
        if length:
            os.pwrite(fd, os.urandom(length), 0)
            os.fsync(fd)
    finally:
        os.close(fd)
    os.unlink(path)
    return size


def shred_tree(directory: Path) -> Shredded:
    """Shred every regular file under ``directory`` and remove the directories.

    Idempotent: a second call after a power cut finishes what the first began.
    """
    done = Shredded()
    if not directory.exists():
        return done
    for root, dirs, files in os.walk(directory, topdown=False, followlinks=False):
        root_path = Path(root)
        for name in files:
            path = root_path / name
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                done.bytes += shred_file(path)
            else:
                os.unlink(path)
            done.files += 1
        for name in dirs:
            sub = root_path / name
            if os.path.islink(sub):
                os.unlink(sub)
            else:
                os.rmdir(sub)
        fsync_dir(root_path)
    os.rmdir(directory)
    fsync_dir(directory.parent)
    return done
