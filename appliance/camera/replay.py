"""A camera that replays packets encoded earlier: the pipeline without an encoder.

Benchmarks use it to measure only what the kit does after the camera
(mux, segment, encrypt, write); tests use it to feed exact packet sequences.

>>> from appliance.camera.base import VideoFormat
>>> cam = ReplayCamera(VideoFormat(16, 16, 30, 1000, 60), None, [])
>>> cam.start(); list(cam.packets())
[]
"""

from __future__ import annotations

from typing import Sequence

from appliance.camera.base import AudioFormat, EncodedPacket, PacketQueue, ThreadedCamera, VideoFormat


class ReplayCamera(ThreadedCamera):
    def __init__(self, video: VideoFormat, audio: AudioFormat | None, packets: Sequence[EncodedPacket]) -> None:
        super().__init__()
        self.video, self.audio = video, audio
        self._packets = packets

    def start(self) -> None:
        self._stop.clear()
        queue = PacketQueue(maxsize=256, blocking=True, give_up=self._stop.is_set)
        self._launch(queue, self._run, (), "replay-camera")

    def _run(self, queue: PacketQueue) -> None:
        for packet in self._packets:
            if self._stop.is_set():
                break
            queue.put(packet)
        queue.finish()
