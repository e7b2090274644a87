"""Frames for the simulated camera: moving colour bars with a burnt-in clock.

Drawn straight into YUV 4:2:0 planes with numpy, so no colour conversion and
no font files are needed (FFmpeg's ``drawtext`` needs fontconfig, which a
minimal image does not have).

>>> pattern = TestPattern(64, 48)
>>> planes = pattern.frame(0, "12:34")
>>> planes.shape
(72, 64)
"""

from __future__ import annotations

import numpy as np

from appliance.camera.glyphs import draw_text

# (Y, U, V) of the classic 75% colour bars.
_BARS = [(180, 128, 128), (162, 44, 142), (131, 156, 44), (112, 72, 58),
         (84, 184, 198), (65, 100, 212), (35, 212, 114), (16, 128, 128)]


class TestPattern:
    """Produces one planar yuv420p frame (as PyAV's ``from_ndarray`` wants it) per call."""

    __test__ = False  # not a pytest class

    def __init__(self, width: int, height: int, grain: int = 0) -> None:
        if width % 2 or height % 2:
            raise ValueError("width and height must be even for 4:2:0")
        self.width, self.height = width, height
        bar_w = max(1, width // len(_BARS))
        columns = np.minimum(np.arange(width) // bar_w, len(_BARS) - 1)
        y_row = np.array([_BARS[c][0] for c in columns], dtype=np.uint8)
        # Bars scroll by repeating them twice and slicing a moving window.
        self._y_row = np.concatenate([y_row, y_row])
        u_row = np.array([_BARS[c][1] for c in columns[::2]], dtype=np.uint8)
        v_row = np.array([_BARS[c][2] for c in columns[::2]], dtype=np.uint8)
        self._u_row = np.concatenate([u_row, u_row])
        self._v_row = np.concatenate([v_row, v_row])
        self._buffer = np.empty((height * 3 // 2, width), dtype=np.uint8)
        self._scale = max(1, height // 120)
        # Optional film grain: noise the encoder must spend bits on, so the
        # stream reaches a camera-like bitrate (a flat pattern needs ~1/5).
        self._grain = None
        if grain:
            rng = np.random.default_rng(1)
            self._grain = rng.integers(0, min(grain, 255), size=(2 * height, width), dtype=np.uint8)
        self._box = max(4, height // 8) & ~1

    def frame(self, index: int, clock: str) -> np.ndarray:
        w, h = self.width, self.height
        buf = self._buffer
        shift = (index * 2 * max(1, w // 480)) % w
        buf[:h] = self._y_row[shift:shift + w]
        # PyAV's planar layout: U then V, each h/2 rows of w/2 packed two to
        # a row of the buffer, so one buffer row holds the same U row twice.
        half = shift // 2
        u = self._u_row[half:half + w // 2]
        v = self._v_row[half:half + w // 2]
        buf[h:h + h // 4, : w // 2] = u
        buf[h:h + h // 4, w // 2:] = u
        buf[h + h // 4:, : w // 2] = v
        buf[h + h // 4:, w // 2:] = v
        if self._grain is not None:
            offset = (index * 7919) % h
            np.bitwise_xor(buf[:h], self._grain[offset:offset + h], out=buf[:h])
        self._draw_box(index)
        self._draw_text(clock)
        return buf

    def _draw_box(self, index: int) -> None:
        # A white square bouncing left and right: motion the encoder must code.
        w, h, size = self.width, self.height, self._box
        span = max(1, w - size)
        pos = index * max(2, w // 120) % (2 * span)
        x = pos if pos < span else 2 * span - pos
        y = (h - size) // 2
        self._buffer[y:y + size, x:x + size] = 235
        self._neutral_chroma(x, y, size, size)

    def _neutral_chroma(self, x: int, y: int, width: int, height: int) -> None:
        # Grey chroma under white and black areas, so they are not tinted.
        w, h = self.width, self.height
        chroma = self._buffer[h:].reshape(h, w // 2)  # U rows then V rows
        x0, x1 = x // 2, (x + width + 1) // 2
        y0, y1 = y // 2, (y + height + 1) // 2
        chroma[y0:y1, x0:x1] = 128
        chroma[h // 2 + y0:h // 2 + y1, x0:x1] = 128

    def _draw_text(self, text: str) -> None:
        s = self._scale
        x0, y0 = 2 * s, 2 * s
        width = min(len(text) * 6 * s + 2 * s, self.width - x0)
        height = min(11 * s, self.height - y0)
        self._buffer[y0:y0 + height, x0:x0 + width] = 16
        self._neutral_chroma(x0, y0, width, height)
        draw_text(self._buffer[:self.height], x0 + s, y0 + 2 * s, text, s)
