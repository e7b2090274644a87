"""Frames for the simulated 360° camera: a virtual classroom, unrolled.

An equirectangular picture is the whole sphere around the camera: the
horizontal axis is the compass direction (yaw, −180° at the left edge, 0°
in the middle, +180° at the right edge), the vertical axis the height
(pitch, +90° at the top, −90° at the bottom). The room is drawn in that
projection once (walls, ceiling, a floor grid one metre square below a
camera on a 1.2 m tripod, the board at north, the door at east, the
cupboard at south, the windows at west, each labelled with its compass
letter) and every frame adds what moves: a marker walking round the room
once every 20 seconds, like a teacher, and the burnt-in clock under the
board. Everything is written straight into YUV 4:2:0 planes.

>>> scene = RoomScene(192, 96)
>>> scene.frame(0, "09:00").shape
(144, 192)
>>> scene.column_of(0.0), scene.column_of(90.0), scene.column_of(-180.0)
(96, 144, 0)
"""

from __future__ import annotations

import numpy as np

from appliance.camera.glyphs import draw_text, text_width

#: (yaw from, yaw to, pitch from, pitch to, (Y, U, V), label, label pitch)
#: Yaw in degrees clockwise from the board; pitch up from the horizon.
FEATURES = [
    (-35.0, 35.0, -8.0, 22.0, (60, 100, 80), "N BORD", 14.0),     # a green chalkboard
    (75.0, 105.0, -30.0, 28.0, (70, 110, 160), "O DEUR", 18.0),    # a brown door
    (130.0, 188.0, -30.0, 12.0, (110, 140, 120), "Z KAST", 4.0),   # the cupboard
    (-130.0, -105.0, 0.0, 30.0, (190, 150, 110), "W RAAM", 20.0),  # windows
    (-75.0, -50.0, 0.0, 30.0, (190, 150, 110), "W RAAM", 20.0),
]
WALL = (150, 124, 134)
CEILING = (205, 128, 128)
FLOOR = (96, 120, 140)
GRID = (40, 128, 128)
MARKER = (82, 90, 240)  # red
CAMERA_HEIGHT_M = 1.2
MARKER_LAP_S = 20.0


class RoomScene:
    """One planar yuv420p frame of the classroom per call (as PyAV's ``from_ndarray`` wants it)."""

    def __init__(self, width: int, height: int, fps: int = 30, grain: int = 0) -> None:
        if width % 2 or height % 2:
            raise ValueError("width and height must be even for 4:2:0")
        self.width, self.height, self.fps = width, height, fps
        self._scale = max(1, height // 160)
        self._background = self._draw_room()
        self._buffer = np.empty_like(self._background)
        # Optional sensor noise, so the stream reaches a real camera's bit
        # rate (benchmarks); the same trick as the flat test pattern's.
        self._grain = None
        if grain:
            rng = np.random.default_rng(1)
            self._grain = rng.integers(0, min(grain, 255), size=(2 * height, width), dtype=np.uint8)

    def column_of(self, yaw_deg: float) -> int:
        """The picture column looking towards ``yaw_deg``."""
        return int(round((yaw_deg + 180.0) / 360.0 * self.width)) % self.width

    def row_of(self, pitch_deg: float) -> int:
        return min(self.height - 1, max(0, int(round((90.0 - pitch_deg) / 180.0 * self.height))))

    def frame(self, index: int, clock: str) -> np.ndarray:
        buf = self._buffer
        np.copyto(buf, self._background)
        if self._grain is not None:
            offset = (index * 7919) % self.height
            np.bitwise_xor(buf[:self.height], self._grain[offset:offset + self.height], out=buf[:self.height])
        yaw = (index / self.fps / MARKER_LAP_S * 360.0) % 360.0 - 180.0
        size = max(4, self.height // 24) & ~1
        x = self.column_of(yaw) & ~1
        y = self.row_of(-5.0) & ~1
        self._fill(x, y - size // 2, size, size, MARKER, wrap=True)
        s = max(1, self._scale // 2)
        label_w = text_width(clock, s) + 2 * s
        cx, cy = self.column_of(0.0) - label_w // 2, self.row_of(-12.0)
        self._fill(cx & ~1, cy & ~1, label_w + 2, 11 * s, (16, 128, 128))
        draw_text(buf[:self.height], (cx & ~1) + s, (cy & ~1) + 2 * s, clock, s)
        return buf

    # -- drawing ------------------------------------------------------------

    def _draw_room(self) -> np.ndarray:
        w, h = self.width, self.height
        self._buffer = buf = np.empty((h * 3 // 2, w), dtype=np.uint8)
        pitch = 90.0 - (np.arange(h) + 0.5) * 180.0 / h
        yaw = (np.arange(w) + 0.5) * 360.0 / w - 180.0
        self._rows(pitch >= 0, WALL)
        self._rows(pitch > 55, CEILING)
        floor = pitch < 0
        self._rows(floor, FLOOR)
        # Where each floor pixel's ray meets the floor, in metres: grid lines
        # every metre, so the floor curves as it does in a real 360° picture.
        p = np.radians(-pitch[floor])[:, None]
        t = np.radians(yaw)[None, :]
        dist = CAMERA_HEIGHT_M / np.tan(np.maximum(p, 1e-3))
        east, north = dist * np.sin(t), dist * np.cos(t)
        near_line = (np.abs(east - np.round(east)) < 0.03) | (np.abs(north - np.round(north)) < 0.03)
        near_line &= (dist > 0.4) & (dist < 12)
        luma = buf[:h]
        rows = np.nonzero(floor)[0]
        luma[rows[0]:rows[-1] + 1][near_line] = GRID[0]
        for yaw0, yaw1, pitch0, pitch1, colour, label, label_pitch in FEATURES:
            x0, x1 = self.column_of(yaw0), self.column_of(yaw1)
            y0, y1 = self.row_of(pitch1), self.row_of(pitch0)
            width = (x1 - x0) % w or w
            self._fill(x0 & ~1, y0 & ~1, width & ~1, (y1 - y0) & ~1, colour, wrap=True)
            centre = (yaw0 + yaw1) / 2
            s = self._scale
            lx = self.column_of(centre) - text_width(label, s) // 2
            draw_text(luma, lx, self.row_of(label_pitch), label, s)
        return buf.copy()

    def _rows(self, mask: np.ndarray, colour: tuple[int, int, int]) -> None:
        h = self.height
        buf = self._buffer
        buf[:h][mask] = colour[0]
        chroma = buf[h:].reshape(h, self.width // 2)
        half = mask[::2]
        chroma[: h // 2][half] = colour[1]
        chroma[h // 2:][half] = colour[2]

    def _fill(self, x: int, y: int, width: int, height: int, colour: tuple[int, int, int], wrap: bool = False) -> None:
        """A rectangle in all three planes; with ``wrap`` it continues across the left/right seam."""
        w, h = self.width, self.height
        y0, y1 = max(0, y), min(h, y + height)
        if y1 <= y0 or width <= 0:
            return
        spans = [(x, min(w, x + width))]
        if wrap and x + width > w:
            spans.append((0, x + width - w))
        buf = self._buffer
        chroma = buf[h:].reshape(h, w // 2)
        for a, b in spans:
            a = max(0, a)
            buf[y0:y1, a:b] = colour[0]
            chroma[y0 // 2:(y1 + 1) // 2, a // 2:(b + 1) // 2] = colour[1]
            chroma[h // 2 + y0 // 2:h // 2 + (y1 + 1) // 2, a // 2:(b + 1) // 2] = colour[2]

