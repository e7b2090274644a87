"""A stand-in for the ``picamera2`` package, installed into ``sys.modules``.

It records every call the kit makes and, once recording, feeds the output
object real H.264 from libx264 the way the Pi's encoder does: Annex-B with
parameter sets at each keyframe, a keyframe every ``iperiod`` frames, and
microsecond timestamps on the boot clock, paced in real time.
"""

from __future__ import annotations

import sys
import threading
import time
import types
from fractions import Fraction

import av

from appliance.camera.test_pattern import TestPattern


class StandIn:
    def __init__(self, cameras: int = 1, cable_pulled_after: int | None = None) -> None:
        self.calls: list[tuple] = []
        self.cameras = cameras
        # After this many frames the "sensor" goes quiet without an error,
        # as when the ribbon cable comes loose.
        self.cable_pulled_after = cable_pulled_after
        self.encoders: list = []
        self.frames_sent = 0
        self._modules = self._build()

    def install(self, monkeypatch) -> "StandIn":
        for name, module in self._modules.items():
            monkeypatch.setitem(sys.modules, name, module)
        return self

    def _build(self) -> dict[str, types.ModuleType]:
        stand_in = self

        class Output:
            def __init__(self, pts=None):
                self.recording = False

            def start(self):
                self.recording = True

            def stop(self):
                self.recording = False

            def outputframe(self, frame, keyframe=True, timestamp=None, packet=None, audio=False):
                pass

        class H264Encoder:
            def __init__(self, bitrate=None, repeat=False, iperiod=None, framerate=None, qp=None, profile=None):
                stand_in.calls.append(("H264Encoder", {"bitrate": bitrate, "repeat": repeat, "iperiod": iperiod}))
                self.bitrate, self.repeat, self.iperiod = bitrate, repeat, iperiod
                stand_in.encoders.append(self)

        class Picamera2:
            @staticmethod
            def global_camera_info():
                stand_in.calls.append(("global_camera_info",))
                return [{"Model": "imx708", "Num": i} for i in range(stand_in.cameras)]

            def __init__(self, camera_num=0):
                stand_in.calls.append(("Picamera2", camera_num))
                self._config = None
                self._stop = threading.Event()
                self._thread = None

            def create_video_configuration(self, main=None, controls=None, **kwargs):
                stand_in.calls.append(("create_video_configuration", main, controls))
                return {"main": dict(main or {}), "controls": dict(controls or {})}

            def configure(self, config):
                stand_in.calls.append(("configure", config))
                self._config = config

            def start_recording(self, encoder, output, **kwargs):
                stand_in.calls.append(("start_recording", type(encoder).__name__, isinstance(output, Output)))
                output.start()
                self._thread = threading.Thread(target=self._feed, args=(encoder, output), daemon=True)
                self._thread.start()

            def stop_recording(self):
                stand_in.calls.append(("stop_recording",))
                self._stop.set()
                if self._thread:
                    self._thread.join()

            def close(self):
                stand_in.calls.append(("close",))

            def _feed(self, encoder, output):
                width, height = self._config["main"]["size"]
                fps = int(self._config["controls"].get("FrameRate", 30))
                ctx = av.CodecContext.create("libx264", "w")
                ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
                ctx.time_base = Fraction(1, fps)
                ctx.bit_rate = encoder.bitrate
                gop = encoder.iperiod
                ctx.options = {"preset": "ultrafast", "tune": "zerolatency",
                               "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0"}
                ctx.open()
                pattern = TestPattern(width, height)
                started = time.monotonic()
                index = 0
                while not self._stop.is_set():
                    if stand_in.cable_pulled_after is not None and index >= stand_in.cable_pulled_after:
                        self._stop.wait()
                        break
                    delay = started + index / fps - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    frame = av.VideoFrame.from_ndarray(pattern.frame(index, f"{index:05d}"), format="yuv420p")
                    frame.pts = index
                    for packet in ctx.encode(frame):
                        # The Pi hands over a memoryview of the encoder buffer.
                        # Timestamps count from the first frame, as recent picamera2 does.
                        output.outputframe(memoryview(bytes(packet)), packet.is_keyframe,
                                           packet.pts * 1_000_000 // fps)
                        stand_in.frames_sent += 1
                    index += 1

        root = types.ModuleType("picamera2")
        root.Picamera2 = Picamera2
        encoders = types.ModuleType("picamera2.encoders")
        encoders.H264Encoder = H264Encoder
        outputs = types.ModuleType("picamera2.outputs")
        outputs.Output = Output
        root.encoders, root.outputs = encoders, outputs
        return {"picamera2": root, "picamera2.encoders": encoders, "picamera2.outputs": outputs}
