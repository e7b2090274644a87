"""A recording's audio, decrypted in memory only, and its sealed talk timeline.

``RecordingAudio`` is a read-only, forward-only file object over init +
media segments of a recording, each opened with ``footage.store.open_segment``
(the unlocked person's identity) and read 64 KiB at a time: PyAV demuxes the
AAC from it while the plaintext never leaves this process's memory — no temp
file, no cache. The timeline (``analysis``) is sealed to the recording's
recipients (teacher and coach) next to the footage as ``talk.json.age``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Iterable

from appliance.footage.store import list_segments, open_segment
from appliance.sealed import read_sealed_json, write_sealed_json
from appliance.talk.analysis import decode_blocks
from appliance.talk.vad import load_vad


class RecordingAudio(io.RawIOBase):
    def __init__(self, directory: Path | str, identities: Iterable[Any]) -> None:
        super().__init__()
        self._paths = list_segments(directory)
        self._identities = list(identities)
        self._current = None
        self._next = 0
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        while True:
            if self._current is None:
                if self._next >= len(self._paths):
                    return 0
                self._current = open_segment(self._paths[self._next], self._identities)
                self._next += 1
            n = self._current.readinto(view)
            if n:
                self._pos += n
                return n
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()


def analyse_recording(directory: Path | str, identities: Iterable[Any], vad=None) -> dict[str, Any]:
    """The talk timeline of a sealed recording: its audio decrypted, decoded
    and analysed block by block in memory; only frame features are kept, so
    memory stays small for a long lesson."""
    from appliance.talk.live import StreamingAnalyser

    analyser = StreamingAnalyser(vad or load_vad())
    with RecordingAudio(directory, identities) as raw:
        for block in decode_blocks(io.BufferedReader(raw, 256 * 1024)):
            analyser.add(block)
    return analyser.result()


def seal_timeline(path: Path, timeline: dict[str, Any], recipients: Iterable[str]) -> None:
    write_sealed_json(path, timeline, recipients)


def read_timeline(path: Path, identities: list[Any]) -> dict[str, Any] | None:
    if not Path(path).exists():
        return None
    return read_sealed_json(path, identities)
