"""Refused files: kept for a look, each with a one-line reason, within a cap.

A refused inbox entry moves to ``quarantine/<kit>/<stamp>-<name>`` and gets
``<that>.reason`` beside it: one line saying why, what it was called and how
big it was. The stamp (UTC, microseconds) is the server's own clock, so the
oldest entry is the first name in sort order whatever times the kit set on
its files. Quarantine is evidence, not storage: :func:`prune` drops
anything older than a maximum age and, beyond a byte and file cap, empties
the oldest entries down to their reasons (and drops the oldest reasons too
if they alone are over), so a kit that keeps sending rubbish cannot fill the
server's disk.

>>> one_line("bad\\nline\\x00 two")
'bad\\\\nline\\\\x00 two'
>>> safe_name("../x\\n.jsonl"), safe_name("a.reason")
('.._x_.jsonl', 'a.reason_')
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

REASON_SUFFIX = ".reason"
STAMP_FORMAT = "%Y%m%dT%H%M%S%f"
MAX_REASON_CHARS = 300


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def one_line(text: str) -> str:
    """``text`` as one printable line: controls escaped, length capped."""
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
    return escaped[:MAX_REASON_CHARS]


def safe_name(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "_"
    # Never end like a reason file, so an entry and its reason always pair up.
    return safe + "_" if safe.endswith(REASON_SUFFIX) else safe


def put(directory: Path, path: Path, reason: str, now: dt.datetime | None = None) -> Path:
    """Move ``path`` into ``directory`` with its ``.reason``; returns the new path."""
    directory.mkdir(parents=True, exist_ok=True)
    now = now or _utc_now()
    base = f"{now.strftime(STAMP_FORMAT)}-{safe_name(path.name)}"
    target, n = directory / base, 0
    while os.path.lexists(target) or os.path.lexists(str(target) + REASON_SUFFIX):
        n += 1
        target = directory / f"{base}-{n}"
    try:
        size = path.lstat().st_size
    except OSError:
        size = -1
    line = (f"{one_line(reason)} (arrived as {one_line(repr(path.name))}, {size} bytes, "
            f"quarantined {now.strftime('%Y-%m-%dT%H:%M:%SZ')})\n")
    Path(str(target) + REASON_SUFFIX).write_text(line)
    os.rename(path, target)
    return target


@dataclass
class Entry:
    name: str
    paths: list[Path]
    bytes: int
    files: int
    at: dt.datetime | None


def _tree_size(path: Path) -> tuple[int, int]:
    """(bytes, files) of a path without following links; a directory counts all it holds."""
    try:
        st = path.lstat()
    except OSError:
        return 0, 0
    if not path.is_dir() or path.is_symlink():
        return st.st_size, 1
    total, files = st.st_size, 1
    for root, dirs, names in os.walk(path, followlinks=False):
        for name in dirs + names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
            files += 1
    return total, files


def _stamp(name: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(name[:21], STAMP_FORMAT).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def entries(directory: Path) -> list[Entry]:
    """What a quarantine directory holds, oldest first; a reason and its file are one entry."""
    if not directory.is_dir():
        return []
    grouped: dict[str, list[Path]] = {}
    for path in directory.iterdir():
        key = path.name[:-len(REASON_SUFFIX)] if path.name.endswith(REASON_SUFFIX) else path.name
        grouped.setdefault(key, []).append(path)
    found = []
    for key, paths in grouped.items():
        sizes = [_tree_size(p) for p in paths]
        found.append(Entry(key, paths, sum(s[0] for s in sizes), sum(s[1] for s in sizes), _stamp(key)))
    return sorted(found, key=lambda e: e.name)


def usage(directory: Path) -> tuple[int, int]:
    """(bytes, files) held in ``directory``, reasons included."""
    all_entries = entries(directory)
    return sum(e.bytes for e in all_entries), sum(e.files for e in all_entries)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _drop_content(entry: Entry) -> None:
    for path in entry.paths:
        if path.name.endswith(REASON_SUFFIX):
            line = path.read_text(errors="replace").rstrip("\n")
            path.write_text(line + " [content dropped: quarantine over its cap]\n")
        else:
            _remove(path)
    entry.paths = [p for p in entry.paths if p.name.endswith(REASON_SUFFIX)]
    entry.bytes, entry.files = (sum(_tree_size(p)[0] for p in entry.paths), len(entry.paths))


def prune(directory: Path, *, max_bytes: int, max_files: int, max_age_s: float,
          now: dt.datetime | None = None) -> list[str]:
    """Keep quarantine within its caps; returns the names of entries that lost something.

    Entries older than ``max_age_s`` go entirely. Then, oldest first, whole
    entries go while their reasons alone would not fit the caps, and after
    that entries lose their content and keep their one-line reason (what was
    refused and why is what a coordinator asks about) until everything fits.
    An entry without a readable stamp counts as oldest: nothing the server
    wrote looks like that.
    """
    now = now or _utc_now()
    held = sorted(entries(directory), key=lambda e: (e.at is not None, e.name))
    touched: list[str] = []

    def reason_sizes(entry: Entry) -> tuple[int, int]:
        paths = [p for p in entry.paths if p.name.endswith(REASON_SUFFIX)]
        return sum(_tree_size(p)[0] for p in paths), len(paths)

    def remove(entry: Entry) -> None:
        for path in entry.paths:
            _remove(path)
        held.remove(entry)
        touched.append(entry.name)

    for entry in [e for e in held if e.at is None or (now - e.at).total_seconds() > max_age_s]:
        remove(entry)
    reasons = {e.name: reason_sizes(e) for e in held}
    while held and (sum(r[0] for r in reasons.values()) > max_bytes or sum(r[1] for r in reasons.values()) > max_files):
        reasons.pop(held[0].name)
        remove(held[0])
    for entry in held:
        if sum(e.bytes for e in held) <= max_bytes and sum(e.files for e in held) <= max_files:
            break
        if any(not p.name.endswith(REASON_SUFFIX) for p in entry.paths):
            _drop_content(entry)
            touched.append(entry.name)
    return touched
