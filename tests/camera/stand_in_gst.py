"""A stand-in for GStreamer's Python bindings (``gi``) with a Theta behind ``thetauvcsrc``.

It records the pipeline the kit asks for and, once playing, hands the
appsink what ``thetauvcsrc ! h264parse`` hands it from a real Theta: one
H.264 access unit per buffer (Annex-B, parameter sets at each keyframe),
equirectangular pictures (the simulated classroom), nanosecond timestamps,
``DELTA_UNIT`` on every buffer but keyframes, and a keyframe interval of
the camera's choosing (``gop_frames``), not the kit's.
"""

from __future__ import annotations

import sys
import threading
import types
from fractions import Fraction

import av

from appliance.camera.room_scene import RoomScene


class StandIn:
    def __init__(self, *, gop_frames: int = 30, plugin: bool = True, unplug_after: int | None = None,
                 size: tuple[int, int] = (1920, 960)) -> None:
        self.gop_frames = gop_frames
        self.plugin = plugin
        self.unplug_after = unplug_after
        self.size = size
        self.pipelines: list[str] = []
        self.states: list[str] = []
        self.frames_sent = 0

    def install(self, monkeypatch) -> "StandIn":
        gi, repository, gst = self._build()
        monkeypatch.setitem(sys.modules, "gi", gi)
        monkeypatch.setitem(sys.modules, "gi.repository", repository)
        monkeypatch.setitem(sys.modules, "gi.repository.Gst", gst)
        return self

    def _encoded(self):
        """Access units of the simulated room, encoded as the camera would."""
        width, height = self.size
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
        ctx.time_base, ctx.framerate = Fraction(1, 30), Fraction(30)
        g = self.gop_frames
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency",
                       "x264-params": f"keyint={g}:min-keyint={g}:scenecut=0:bframes=0:repeat-headers=1"}
        ctx.open()
        scene = RoomScene(width, height)
        index = 0
        while True:
            frame = av.VideoFrame.from_ndarray(scene.frame(index, "10:00:00"), format="yuv420p")
            frame.pts = index
            index += 1
            for packet in ctx.encode(frame):
                yield bytes(packet), int(packet.pts), bool(packet.is_keyframe)

    def _build(self):
        stand_in = self
        Gst = types.ModuleType("gi.repository.Gst")

        class State:
            NULL, PLAYING = "NULL", "PLAYING"

        class StateChangeReturn:
            SUCCESS, FAILURE = "SUCCESS", "FAILURE"

        class MapFlags:
            READ = 1

        class BufferFlags:
            DELTA_UNIT = 8192

        class MapInfo:
            def __init__(self, data):
                self.data = data

        class Buffer:
            def __init__(self, data, pts_ns, keyframe):
                self._data, self.pts, self.duration = data, pts_ns, 33_333_333
                self._flags = 0 if keyframe else BufferFlags.DELTA_UNIT

            def has_flags(self, flags):
                return bool(self._flags & flags)

            def map(self, flags):
                return True, MapInfo(self._data)

            def unmap(self, info):
                pass

        class Sample:
            def __init__(self, buffer):
                self._buffer = buffer

            def get_buffer(self):
                return self._buffer

        class AppSink:
            def __init__(self):
                self.playing = threading.Event()
                self.eos = False
                self._source = stand_in._encoded()

            def emit(self, signal, timeout_ns):
                assert signal == "try-pull-sample"
                if not self.playing.wait(timeout_ns / 1e9) or self.eos:
                    return None
                if stand_in.unplug_after is not None and stand_in.frames_sent >= stand_in.unplug_after:
                    self.eos = True
                    return None
                data, pts, keyframe = next(self._source)
                stand_in.frames_sent += 1
                # The camera's clock: some seconds after it was switched on.
                return Sample(Buffer(data, 7_000_000_000 + pts * 33_333_333, keyframe))

            def get_property(self, name):
                assert name == "eos"
                return self.eos

        class Pipeline:
            def __init__(self, description):
                self.sink = AppSink()

            def get_by_name(self, name):
                return self.sink if name == "sink" else None

            def set_state(self, state):
                stand_in.states.append(state)
                if state == State.PLAYING:
                    self.sink.playing.set()
                else:
                    self.sink.playing.clear()
                return StateChangeReturn.SUCCESS

        class ElementFactory:
            @staticmethod
            def find(name):
                return object() if name != "thetauvcsrc" or stand_in.plugin else None

        def parse_launch(description):
            stand_in.pipelines.append(description)
            return Pipeline(description)

        Gst.State, Gst.StateChangeReturn, Gst.MapFlags, Gst.BufferFlags = State, StateChangeReturn, MapFlags, BufferFlags
        Gst.ElementFactory, Gst.parse_launch, Gst.CLOCK_TIME_NONE = ElementFactory, parse_launch, 2**64 - 1
        Gst.init = lambda argv: None
        repository = types.ModuleType("gi.repository")
        repository.Gst = Gst
        gi = types.ModuleType("gi")
        gi.require_version = lambda name, version: None
        gi.repository = repository
        return gi, repository, Gst
