"""Find media that reached the disk unencrypted.

Looks, recursively, for fingerprints that survive in any plaintext MP4,
H.264 or JPEG file (a lesson's thumbnail is as personal as its footage)
but are vanishingly rare in ciphertext:

* ISO-BMFF boxes ``ftyp``, ``moov``, ``moof``, ``mdat`` with a size field
  that makes sense where it stands;
* H.264 Annex-B four-byte start codes followed by a valid NAL header: a
  sequence parameter set with a known profile, or several slice NALs;
* a JPEG start of image followed by two marker segments whose lengths lead
  from one marker to the next.

Used by the recorder's tests and by anyone who wants to show that a data
directory or a temp directory holds no plaintext footage.

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as d:
...     _ = (pathlib.Path(d) / "clip.mp4").write_bytes(b"\\x00\\x00\\x00\\x18ftypisom" + bytes(12))
...     [h.kind for h in scan_for_plaintext_media([d])]
['mp4:ftyp']
"""

from __future__ import annotations

import os
import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

_BOX_RE = re.compile(rb"ftyp|moov|moof|mdat")
_JPEG_RE = re.compile(rb"\xff\xd8\xff[\xc0-\xfe]")
_START_RE = re.compile(rb"\x00\x00\x00\x01[\x01-\x7f]")
_H264_PROFILES = {66, 77, 88, 100, 110, 122, 144, 244}
_CHUNK = 4 << 20
_OVERLAP = 1024  # a JPEG's first two marker segments fit in it
_SLICES_FOR_A_HIT = 3


@dataclass(frozen=True)
class Hit:
    path: Path
    offset: int
    kind: str  # "mp4:<box>", "h264:sps", "h264:slices" or "jpeg"

    def __str__(self) -> str:
        return f"{self.path}@{self.offset}: {self.kind}"


def scan_for_plaintext_media(paths: Iterable[Path | str]) -> list[Hit]:
    """Every plaintext-media fingerprint in the regular files under ``paths``."""
    hits: list[Hit] = []
    for path in paths:
        for file in _files(Path(path)):
            hits.extend(scan_file(file))
    return hits


def _files(root: Path) -> Iterable[Path]:
    try:
        mode = root.lstat().st_mode
    except OSError:
        return
    if stat.S_ISREG(mode):
        yield root
    elif stat.S_ISDIR(mode):
        for dirpath, _, filenames in os.walk(root, onerror=lambda e: None):
            for name in filenames:
                file = Path(dirpath) / name
                try:
                    if stat.S_ISREG(file.lstat().st_mode):
                        yield file
                except OSError:
                    continue


def scan_file(path: Path) -> list[Hit]:
    try:
        size = path.stat().st_size
        handle = open(path, "rb")
    except OSError:
        return []  # vanished or unreadable: nothing to report
    hits: list[Hit] = []
    seen: set[int] = set()
    slices: list[int] = []
    with handle:
        base = 0
        tail = b""
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                break
            data = tail + chunk
            origin = base - len(tail)
            for offset, kind in _scan(data, origin, size):
                if offset in seen:
                    continue
                seen.add(offset)
                if kind == "h264:slice":
                    slices.append(offset)
                else:
                    hits.append(Hit(path, offset, kind))
            base += len(chunk)
            tail = data[-_OVERLAP:]
    if len(slices) >= _SLICES_FOR_A_HIT:
        hits.append(Hit(path, slices[0], "h264:slices"))
    return sorted(hits, key=lambda h: h.offset)


def _scan(data: bytes, origin: int, file_size: int) -> Iterable[tuple[int, str]]:
    for match in _BOX_RE.finditer(data):
        at = match.start() - 4
        if at < 0:
            continue
        (box_size,) = struct.unpack_from(">I", data, at)
        name = match.group().decode()
        if _plausible_box(name, box_size, file_size - (origin + at)):
            yield origin + at, f"mp4:{name}"
    for match in _JPEG_RE.finditer(data):
        if _plausible_jpeg(data, match.start() + 2):
            yield origin + match.start(), "jpeg"
    for match in _START_RE.finditer(data):
        header = data[match.end() - 1]
        ref_idc, nal_type = header >> 5, header & 0x1F
        at = origin + match.start()
        if nal_type == 7 and ref_idc and match.end() < len(data):
            if data[match.end()] in _H264_PROFILES:
                yield at, "h264:sps"
        elif nal_type == 5 and ref_idc:
            yield at, "h264:slice"
        elif nal_type == 1:
            yield at, "h264:slice"


def _plausible_jpeg(data: bytes, at: int) -> bool:
    """Two marker segments (0xFF, marker, 16-bit length) chained from ``at``, then a marker."""
    for _ in range(2):
        if at + 4 > len(data) or data[at] != 0xFF or not 0xC0 <= data[at + 1] <= 0xFE:
            return False
        (length,) = struct.unpack_from(">H", data, at + 2)
        if length < 2:
            return False
        at += 2 + length
    return at < len(data) and data[at] == 0xFF


def _plausible_box(name: str, size: int, room: int) -> bool:
    if name == "ftyp":
        return 16 <= size <= 256 and size <= room
    # A 64-bit size (1) or "to the end" (0) is legal for mdat at any length.
    if name == "mdat" and size in (0, 1):
        return True
    return 8 <= size <= room
