"""Footage for the browser: HLS playlists from the catalogue and segments
decrypted on the fly.

Each request opens the segment's age file, builds a random-access reader
with the unlocked identity and streams only the byte range asked for; the
plaintext exists in this process's memory, one 64 KiB chunk at a time, and
is never written anywhere.
"""

from __future__ import annotations

import math
import re
import threading
from pathlib import Path
from typing import Any, Iterator, Sequence

from appliance.catalogue.views import Recording, Segment
from appliance.footage.store import SegmentReader, open_segment, segment_name

CHUNK = 64 * 1024
#: Bytes handed to the server per write: several age chunks, so that Python
#: overhead per block stays small next to the decryption itself.
STREAM_BLOCK = 4 * CHUNK
RECORDING_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


def segment_url_name(idx: int) -> str:
    """The name a segment has in playlists and URLs: its file's, without ``.age``.

    >>> segment_url_name(7), segment_url_name(0)
    ('seg-000007.m4s', 'init.mp4')
    """
    return segment_name(idx).removesuffix(".age")


def valid_recording_id(recording_id: str) -> bool:
    """
    >>> [valid_recording_id(x) for x in ("20260101-0900-ab", "..", "a/b", "")]
    [True, False, False, False]
    """
    return bool(RECORDING_ID_RE.match(recording_id)) and ".." not in recording_id


def media_segments(segments: Sequence[Segment]) -> list[Segment]:
    """The playable segments (index 0 is the init segment, not media)."""
    return [s for s in segments if s.idx >= 1]


def hls_playlist(segments: Sequence[Segment], live: bool) -> str:
    """An HLS media playlist (fMP4) for the given segments.

    >>> from appliance.catalogue.views import Segment
    >>> print(hls_playlist([Segment(1, 0.0, 2.0, 10), Segment(2, 2.0, 1.5, 9)], live=False))
    #EXTM3U
    #EXT-X-VERSION:7
    #EXT-X-TARGETDURATION:2
    #EXT-X-MEDIA-SEQUENCE:0
    #EXT-X-PLAYLIST-TYPE:VOD
    #EXT-X-INDEPENDENT-SEGMENTS
    #EXT-X-MAP:URI="init.mp4"
    #EXTINF:2.000,
    seg-000001.m4s
    #EXTINF:1.500,
    seg-000002.m4s
    #EXT-X-ENDLIST
    <BLANKLINE>
    """
    media = media_segments(segments)
    target = max([1, *(math.ceil(s.duration_s - 1e-6) for s in media)])
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        f"#EXT-X-PLAYLIST-TYPE:{'EVENT' if live else 'VOD'}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-MAP:URI="init.mp4"',
    ]
    for seg in media:
        lines.append(f"#EXTINF:{seg.duration_s:.3f},")
        lines.append(segment_url_name(seg.idx))
    if not live:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end_exclusive)`` for a single ``bytes=`` range, ``None`` for the whole.

    >>> parse_range("bytes=0-99", 1000), parse_range("bytes=900-", 1000), parse_range("bytes=-10", 1000)
    ((0, 100), (900, 1000), (990, 1000))
    >>> parse_range("bytes=0-1,5-6", 1000) is None
    True

    Numbers of any length mean what they say, without converting thousands
    of digits (Python refuses strings over 4,300 digits with a ValueError):

    >>> parse_range("bytes=0-" + "9" * 5000, 1000), parse_range("bytes=-" + "9" * 5000, 1000)
    ((0, 1000), (0, 1000))
    >>> parse_range("bytes=99999999999999999999999-", 1000)
    Traceback (most recent call last):
    ...
    ui.media.RangeNotSatisfiable
    """
    if not header:
        return None
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m:
        return None  # multiple or malformed ranges: answer with the whole body
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        length = _byte_count(last)
        if length == 0:
            raise RangeNotSatisfiable()
        return (max(0, size - length), size)
    start = _byte_count(first)
    end = min(size, _byte_count(last) + 1) if last else size
    if start >= size or end <= start:
        raise RangeNotSatisfiable()
    return (start, end)


#: Larger than any file the kit serves; a longer digit string stands for it.
_BEYOND_ANY_FILE = 10**18


def _byte_count(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return _BEYOND_ANY_FILE if len(digits) > 18 else int(digits)


def stream_range(seg: SegmentReader, start: int, end: int) -> Iterator[bytes]:
    """Decrypted bytes ``[start, end)`` of ``seg``, then close it (and drop its cache)."""
    try:
        seg.seek(start)
        remaining = end - start
        while remaining > 0:
            block = seg.read(min(STREAM_BLOCK, remaining))
            if not block:
                break
            remaining -= len(block)
            yield block
    finally:
        seg.close()


class PlainSizes:
    """Plaintext sizes of segments, learnt once per (recording, index).

    A whole-recording byte range needs the size of every part before it;
    opening 3,600 age headers per request would be wasteful, and sizes are
    not secret (the ciphertext sizes already tell them).
    """

    def __init__(self) -> None:
        self._sizes: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def get(self, recording_id: str, idx: int, path: Path, identities: list[Any]) -> int:
        key = (recording_id, idx)
        with self._lock:
            if key in self._sizes:
                return self._sizes[key]
        seg = open_segment(path, identities)
        try:
            size = int(seg.size)
        finally:
            seg.close()
        with self._lock:
            self._sizes[key] = size
        return size


def concatenated(
    directory: Path,
    recording: Recording,
    parts: Sequence[int],
    identities: list[Any],
    sizes: PlainSizes,
) -> tuple[int, "ConcatView"]:
    """A virtual file: init + the given segments, decrypted, for Range requests."""
    layout = []
    offset = 0
    for idx in parts:
        size = sizes.get(recording.id, idx, directory / segment_name(idx), identities)
        layout.append((idx, offset, size))
        offset += size
    return offset, ConcatView(directory, layout, identities)


class ConcatView:
    def __init__(self, directory: Path, layout: list[tuple[int, int, int]], identities: list[Any]):
        self.directory = directory
        self.layout = layout
        self.identities = identities

    def stream(self, start: int, end: int) -> Iterator[bytes]:
        for idx, offset, size in self.layout:
            lo, hi = max(start, offset), min(end, offset + size)
            if lo >= hi:
                continue
            seg = open_segment(self.directory / segment_name(idx), self.identities)
            yield from stream_range(seg, lo - offset, hi - offset)
