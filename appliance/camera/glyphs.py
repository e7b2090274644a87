"""A 5×7 pixel font for pictures the simulated cameras draw themselves.

No font files: a minimal image has no fontconfig, and FFmpeg's ``drawtext``
needs it. Digits and the punctuation of a clock, and the capitals the
simulated classroom's labels use.

>>> import numpy as np
>>> luma = np.zeros((9, 13), dtype=np.uint8)
>>> draw_text(luma, 1, 1, "1:", 1)
>>> print("\\n".join("".join("#" if v else "." for v in row) for row in luma[1:8, 1:12]))
..#.........
.##....##...
..#....##...
..#.........
..#....##...
..#....##...
.###........
"""

from __future__ import annotations

import numpy as np

# One string of five bits per row.
_GLYPHS = {
    "0": ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    "1": ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    "2": ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    "3": ("11111", "00010", "00100", "00010", "00001", "10001", "01110"),
    "4": ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    "5": ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    "6": ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    "7": ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    "8": ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    "9": ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
    ":": ("00000", "01100", "01100", "00000", "01100", "01100", "00000"),
    ".": ("00000", "00000", "00000", "00000", "00000", "01100", "01100"),
    " ": ("00000",) * 7,
    "A": ("01110", "10001", "10001", "11111", "10001", "10001", "10001"),
    "B": ("11110", "10001", "10001", "11110", "10001", "10001", "11110"),
    "D": ("11100", "10010", "10001", "10001", "10001", "10010", "11100"),
    "E": ("11111", "10000", "10000", "11110", "10000", "10000", "11111"),
    "K": ("10001", "10010", "10100", "11000", "10100", "10010", "10001"),
    "M": ("10001", "11011", "10101", "10101", "10001", "10001", "10001"),
    "N": ("10001", "10001", "11001", "10101", "10011", "10001", "10001"),
    "O": ("01110", "10001", "10001", "10001", "10001", "10001", "01110"),
    "R": ("11110", "10001", "10001", "11110", "10100", "10010", "10001"),
    "S": ("01111", "10000", "10000", "01110", "00001", "00001", "11110"),
    "T": ("11111", "00100", "00100", "00100", "00100", "00100", "00100"),
    "U": ("10001", "10001", "10001", "10001", "10001", "10001", "01110"),
    "W": ("10001", "10001", "10001", "10101", "10101", "10101", "01010"),
    "Z": ("11111", "00001", "00010", "00100", "01000", "10000", "11111"),
}
_BITMAPS = {
    ch: np.array([[bit == "1" for bit in row] for row in rows], dtype=bool)
    for ch, rows in _GLYPHS.items()
}

#: Width of one character cell (glyph plus a column of space), in glyph pixels.
CELL = 6


def text_width(text: str, scale: int) -> int:
    return len(text) * CELL * scale


def draw_text(luma: np.ndarray, x: int, y: int, text: str, scale: int, value: int = 235) -> None:
    """Set the glyphs' pixels of ``text`` to ``value`` in the 2-D ``luma`` plane, top-left at (x, y).

    Characters without a glyph are blank; what does not fit is left out.
    """
    height, width = luma.shape
    for i, ch in enumerate(text):
        big = np.kron(_BITMAPS.get(ch, _BITMAPS[" "]), np.ones((scale, scale), dtype=bool))
        left = x + i * CELL * scale
        if left + big.shape[1] > width or y + big.shape[0] > height or left < 0 or y < 0:
            break
        region = luma[y:y + big.shape[0], left:left + big.shape[1]]
        region[big] = value
