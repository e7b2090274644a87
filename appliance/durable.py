"""Writes that survive a power cut: temp file, fsync, rename, fsync the directory.

The kit has no battery and no clean shutdown guarantee, so every file it
writes appears under its real name either complete or not at all. One
helper serves the footage, the catalogue's neighbours, the sync batches and
first boot alike.

>>> import pathlib, tempfile
>>> target = pathlib.Path(tempfile.mkdtemp()) / "state.json"
>>> write_atomic(target, b'{"ok": true}')
>>> target.read_bytes()
b'{"ok": true}'
>>> try:
...     write_atomic(target, b"again", exclusive=True)
... except FileExistsError:
...     print("kept")
kept
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO, Iterator


def fsync_dir(directory: Path | str) -> None:
    """Make a rename or unlink inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(
    path: Path | str,
    *,
    exclusive: bool = False,
    mode: int = 0o644,
    temp: Path | None = None,
) -> Iterator[BinaryIO]:
    """Write ``path`` through the yielded file so that it is either absent, old, or complete and durable.

    The one temp-name and permission scheme of the kit. ``exclusive=True``
    never replaces an existing file (hard link instead of rename, so it fails
    with :class:`FileExistsError`): that keeps sync batches and append-only
    logs immutable. ``temp`` names the in-between file (default, with a random part
    ``.<name>.<pid>.<random>.tmp`` beside the target); encrypted files use
    ``<name>.partial`` so recovery and scans recognise them. On any error,
    inside the block or while committing, the temp file is removed, which
    frees the space a full disk needs.

    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.bin"
    >>> with atomic_file(target, mode=0o600) as out:
    ...     _ = out.write(b"first half, ")
    ...     _ = out.write(b"second half")
    >>> target.read_bytes(), oct(target.stat().st_mode & 0o777)
    (b'first half, second half', '0o600')
    """
    path = Path(path)
    if temp is not None:
        tmp = Path(temp)
        tmp.unlink(missing_ok=True)  # a leftover of a cut write; never reused as it is
    else:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    # Always a new file of our own: a file, hard link or symlink planted at the
    # temp name must not receive the data or lend its owner to the result.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb", buffering=0) as out:
            yield out  # type: ignore[misc]
            try:
                os.fchmod(fd, mode)  # O_CREAT's mode is masked by the umask
            except OSError:
                pass  # FAT (the boot partition) has no modes
            os.fsync(fd)
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_atomic(
    path: Path | str,
    data: bytes,
    *,
    exclusive: bool = False,
    mode: int = 0o644,
    temp: Path | None = None,
) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_file`."""
    with atomic_file(path, exclusive=exclusive, mode=mode, temp=temp) as out:
        view = memoryview(data)
        while view:
            view = view[os.write(out.fileno(), view):]


def write_file(path: Path | str, data: bytes | str, mode: int = 0o644) -> None:
    """Replace ``path`` atomically (text is UTF-8), making its directory if needed.

    First boot writes to the boot partition (FAT), where a rename is not
    atomic in the strict sense; but the temp name is never read by anything,
    which is what matters there.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, mode=mode)
