"""SVG charts for the statistics page: drawn on the server, no script needed."""

from __future__ import annotations

from html import escape
from typing import Callable

COLOURS = {
    "instruction": "#7a5195",
    "question": "#1f77b4",
    "feedback": "#2ca02c",
    "positive": "#2ca02c",
    "negative": "#d62728",
    "pearl": "#2a9d8f",
    "puzzle": "#e76f51",
    "norm": "#222",
}


def bar_chart(title: str, bars: list[tuple[str, float, str]], norm: tuple[str, float] | None = None,
              width: int = 320, unit: str = "", number: Callable[[float], str] = lambda v: f"{v:g}") -> str:
    """Horizontal bars with an optional dashed norm line (accessible: title + text values).

    ``number`` formats the values shown beside the bars (the page's locale:
    a decimal comma in Dutch).
    """
    row_h, label_w, pad = 26, 110, 8
    height = pad * 2 + row_h * max(1, len(bars)) + (18 if norm else 0)
    top = max([v for _, v, _ in bars] + ([norm[1]] if norm else []) + [1e-9])
    scale = (width - label_w - 75) / top
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value, colour) in enumerate(bars):
        y = pad + i * row_h
        w = max(0.0, value * scale)
        parts.append(f'<text x="0" y="{y + 17}" font-size="13">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"/>')
        shown = f"{number(value)}{unit}"
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 17}" font-size="13">{escape(shown)}</text>')
    if norm:
        x = label_w + norm[1] * scale
        bottom = pad + row_h * len(bars)
        parts.append(f'<line x1="{x:.1f}" y1="{pad}" x2="{x:.1f}" y2="{bottom}" stroke="{COLOURS["norm"]}" '
                     'stroke-dasharray="4 3" stroke-width="2"/>')
        parts.append(f'<text x="{label_w}" y="{bottom + 14}" font-size="12">{escape(norm[0])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def timeline_chart(title: str, duration_s: float, marks: list[tuple[float, str]],
                   spans: list[tuple[float, float, str]], window: tuple[float, float], width: int = 640) -> str:
    start, end = window
    length = max(end - start, 1.0)
    height = 70
    x_of = lambda t: 10 + (t - start) / length * (width - 20)  # noqa: E731
    lanes = {"instruction": 12, "question": 26, "feedback": 40}
    parts = [f'<svg class="chart tl-chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line x1="10" y1="58" x2="{width - 10}" y2="58" stroke="#888"/>']
    for a, b, kind in spans:
        xa, xb = x_of(max(a, start)), x_of(min(b, end))
        parts.append(f'<rect class="span-{kind}" x="{xa:.1f}" y="4" width="{max(2.0, xb - xa):.1f}" height="50" '
                     f'fill="{COLOURS[kind]}" opacity="0.18"/>')
    for t, kind in marks:
        x = x_of(t)
        y = lanes.get(kind, 40)
        parts.append(f'<circle class="mark-{kind}" cx="{x:.1f}" cy="{y}" r="4" fill="{COLOURS[kind]}"/>')
    for i in range(0, 11):
        t = start + length * i / 10
        parts.append(f'<text x="{x_of(t):.1f}" y="69" font-size="9" text-anchor="middle">{int(t // 60)}:{int(t % 60):02d}</text>')
    parts.append("</svg>")
    return "".join(parts)


def spark_bars(title: str, labels: list[str], values: list[float | None], colour: str, width: int = 200,
               unit: str = "", number: Callable[[float], str] = lambda v: f"{v:g}") -> str:
    """Vertical bars of one figure across a few recordings, each labelled
    below and valued above; ``None`` (not measured) is drawn as a dash so it
    is not read as zero."""
    height, top_pad, label_h = 96, 30, 14
    n = max(1, len(values))
    slot = width / n
    bar_w = min(28.0, slot * 0.6)
    top = max([v for v in values if v is not None] + [1e-9])
    scale = (height - top_pad - label_h - 2) / top
    base = height - label_h
    parts = [f'<svg class="chart spark" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<text x="0" y="11" font-size="11">{escape(title)}</text>',
             f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="#888"/>']
    for i, (label, value) in enumerate(zip(labels, values)):
        mid = slot * i + slot / 2
        if value is None:
            shown, y = "–", base - 3
        else:
            h = max(0.0, value * scale)
            parts.append(f'<rect x="{mid - bar_w / 2:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}" fill="{colour}"/>')
            shown, y = f"{number(value)}{unit}", base - h - 3
        parts.append(f'<text x="{mid:.1f}" y="{y:.1f}" font-size="10" text-anchor="middle">{escape(shown)}</text>')
        parts.append(f'<text x="{mid:.1f}" y="{height - 3}" font-size="10" text-anchor="middle">'
                     f'{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
