"""Just enough ISO-BMFF box handling to cut a fragmented MP4 byte stream.

>>> boxes = []
>>> splitter = BoxSplitter(lambda kind, data: boxes.append((kind, len(data))))
>>> _ = splitter.write(b"\\x00\\x00\\x00\\x10ftypisom\\x00\\x00\\x00\\x00\\x00\\x00")
>>> _ = splitter.write(b"\\x00\\x08free")
>>> boxes
[('ftyp', 16), ('free', 8)]
"""

from __future__ import annotations

import struct
from typing import Callable, Iterator


class BoxSplitter:
    """A writable sink that hands over each complete top-level box."""

    def __init__(self, on_box: Callable[[str, bytes], None]) -> None:
        self._on_box = on_box
        self._buf = bytearray()
        self.total = 0

    def write(self, data: bytes | memoryview) -> int:
        self._buf += data
        self.total += len(data)
        self._drain()
        return len(data)

    def _drain(self) -> None:
        buf = self._buf
        start = 0
        while len(buf) - start >= 8:
            size, kind = struct.unpack_from(">I4s", buf, start)
            header = 8
            if size == 1:
                if len(buf) - start < 16:
                    break
                (size,) = struct.unpack_from(">Q", buf, start + 8)
                header = 16
            if size < header:
                raise ValueError(f"malformed MP4 box of size {size}")
            if len(buf) - start < size:
                break
            self._on_box(kind.decode("latin-1"), bytes(buf[start:start + size]))
            start += size
        if start:
            del buf[:start]

    @property
    def pending(self) -> int:
        """Bytes of an unfinished box still held."""
        return len(self._buf)


def iter_boxes(data: bytes, offset: int = 0, end: int | None = None) -> Iterator[tuple[str, int, int]]:
    """(type, start of payload, end of box) for each box in ``data[offset:end]``."""
    end = len(data) if end is None else end
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            raise ValueError("truncated MP4 box")
        yield kind.decode("latin-1"), offset + header, offset + size
        offset += size


def base_decode_times(fragment: bytes) -> dict[int, int]:
    """track_ID -> baseMediaDecodeTime (``tfdt``) of each track in a moof."""
    times: dict[int, int] = {}
    for kind, body, end in iter_boxes(fragment):
        if kind != "moof":
            continue
        for sub, sbody, send in iter_boxes(fragment, body, end):
            if sub != "traf":
                continue
            track = None
            decode_time = None
            for leaf, lbody, _ in iter_boxes(fragment, sbody, send):
                if leaf == "tfhd":
                    (track,) = struct.unpack_from(">I", fragment, lbody + 4)
                elif leaf == "tfdt":
                    version = fragment[lbody]
                    fmt = ">Q" if version == 1 else ">I"
                    (decode_time,) = struct.unpack_from(fmt, fragment, lbody + 4)
            if track is not None and decode_time is not None:
                times[track] = decode_time
    return times
