"""A real recording from the simulated camera, catalogued as the kit catalogues one.

For the demo, tests and benchmarks: the same camera, recorder, sealing and
catalogue rows as a lesson recorded on the kit, produced as fast as the
disk takes it instead of in real time.
"""

from __future__ import annotations

import threading
from pathlib import Path

from appliance import age
from appliance.camera import SimulatedCamera
from appliance.footage.recorder import SegmentRecorder
from appliance.paths import KitPaths


def record_simulated_lesson(catalogue, data_dir: Path | str, teacher: dict, coach: dict, seconds: float, *,
                            width: int = 320, height: int = 180, timeout_s: float = 300,
                            projection: str = "flat", keyframe_seconds: float = 2.0) -> str:
    """Record ``seconds`` for ``teacher`` and ``coach`` (rows with ``id`` and ``recipient``); the recording's id."""
    recipients = [teacher["recipient"], coach["recipient"]]
    row = catalogue.create_recording(teacher["id"], coach["id"], recipients, projection=projection)
    enough = threading.Event()

    def on_segment(seg) -> None:
        catalogue.add_segment(row["id"], seg.index, seg.start_s, seg.duration_s, seg.bytes)
        if seg.index > 0 and seg.start_s + seg.duration_s >= seconds:
            enough.set()

    recorder = SegmentRecorder(SimulatedCamera(width, height, fps=30, realtime=False,
                                                keyframe_seconds=keyframe_seconds, projection=projection), segment_seconds=2.0)
    recorder.start(KitPaths(data_dir).recording(row["id"]), [age.parse_recipient(r) for r in recipients],
                   on_segment=on_segment)
    enough.wait(timeout_s)
    recorder.stop()
    catalogue.finish_recording(row["id"])
    return row["id"]
