"""A camera that replays packets encoded earlier: the pipeline without an encoder.

Benchmarks use it to measure only what the kit does after the camera
(mux, segment, encrypt, write); tests use it to feed exact packet sequences.

>>> from appliance.camera.base import VideoFormat
>>> cam = ReplayCamera(VideoFormat(16, 16, 30, 1000, 60), None, [])
>>> cam.start(); list(cam.packets())
[]
"""

from __future__ import annotations

import threading
from typing import Iterator, Sequence

from appliance.camera.base import AudioFormat, Camera, EncodedPacket, PacketQueue, VideoFormat


class ReplayCamera(Camera):
    def __init__(self, video: VideoFormat, audio: AudioFormat | None, packets: Sequence[EncodedPacket]) -> None:
        self.video, self.audio = video, audio
        self._packets = packets
        self._queue: PacketQueue | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        self._stop.clear()
        self._queue = PacketQueue(maxsize=256, blocking=True, give_up=self._stop.is_set)
        self._thread = threading.Thread(target=self._run, args=(self._queue,), name="replay-camera", daemon=True)
        self._thread.start()

    def _run(self, queue: PacketQueue) -> None:
        for packet in self._packets:
            if self._stop.is_set():
                break
            queue.put(packet)
        queue.finish()

    def packets(self) -> Iterator[EncodedPacket]:
        if self._queue is None:
            raise RuntimeError("camera not started")
        return iter(self._queue)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
