"""Annotations in the formats other tools read: WebVTT, CSV and ELAN EAF.

The exports are produced for the unlocked person's download only; they are
streamed, never stored on the kit.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from typing import Any, Callable, Iterator
from xml.sax.saxutils import escape, quoteattr

CODE_SPAN_S = 2.0


def _ts(seconds: float, sep: str = ".") -> str:
    """
    >>> _ts(3723.5)
    '01:02:03.500'
    """
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def describe_code(code: dict[str, Any], _: Callable[[str], str] = lambda s: s) -> str:
    """
    >>> describe_code({"kind": "question", "category": 3})
    'question (category 3)'
    """
    if code["kind"] == "question":
        return _("question (category %(cat)s)").replace("%(cat)s", str(code.get("category")))
    if code["kind"] == "feedback":
        valence = _(code.get("valence", ""))
        level = _(code.get("level", ""))
        text = f"{_('feedback')} {valence}, {level}"
        return text + (f", {_('progress')}" if code.get("progress") else "")
    return _(code["kind"])


def _rows(doc: dict[str, Any], _: Callable[[str], str]) -> list[tuple[float, float, str, str]]:
    rows = [(float(c["t"]), float(c["t"]) + CODE_SPAN_S, "code", describe_code(c, _)) for c in doc["codes"]]
    for k in doc["clips"]:
        text = _(k["kind"]) + (f": {k['title']}" if k.get("title") else "")
        rows.append((float(k["in"]), float(k["out"]), "clip", text))
    return sorted(rows)


def webvtt(doc: dict[str, Any], _: Callable[[str], str] = lambda s: s) -> str:
    """
    >>> print(webvtt({"codes": [{"t": 1.0, "kind": "instruction"}], "clips": []}).strip())
    WEBVTT
    <BLANKLINE>
    1
    00:00:01.000 --> 00:00:03.000
    instruction
    """
    out = ["WEBVTT", ""]
    for n, (start, end, _kind, text) in enumerate(_rows(doc, _), 1):
        safe = text.replace("-->", "->").replace("\n", " ")
        out += [str(n), f"{_ts(start)} --> {_ts(end)}", safe, ""]
    return "\n".join(out)


def csv_text(doc: dict[str, Any], _: Callable[[str], str] = lambda s: s) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["type", "start_s", "end_s", "kind", "category", "valence", "level", "progress", "title"])
    for c in sorted(doc["codes"], key=lambda c: c["t"]):
        w.writerow(["code", f"{c['t']:.3f}", "", c["kind"], c.get("category", ""), c.get("valence", ""),
                    c.get("level", ""), "1" if c.get("progress") else "", ""])
    for k in sorted(doc["clips"], key=lambda k: k["in"]):
        w.writerow(["clip", f"{k['in']:.3f}", f"{k['out']:.3f}", k["kind"], "", "", "", "",
                    _csv_safe(k.get("title", ""))])
    return buf.getvalue()


def _csv_safe(text: str) -> str:
    # A spreadsheet would run a cell starting with = + - @ as a formula.
    """
    >>> _csv_safe("=SUM(A1)")
    "'=SUM(A1)"
    """
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def eaf(doc: dict[str, Any], media_name: str, _: Callable[[str], str] = lambda s: s) -> str:
    """An ELAN annotation document (EAF 3.0) with a tier for codes and one for clips."""
    slots: list[int] = []

    def slot(seconds: float) -> str:
        slots.append(int(round(seconds * 1000)))
        return f"ts{len(slots)}"

    tiers: dict[str, list[str]] = {"codes": [], "clips": []}
    for n, (start, end, kind, text) in enumerate(_rows(doc, _), 1):
        a, b = slot(start), slot(end)
        tiers["codes" if kind == "code" else "clips"].append(
            f'      <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a{n}" TIME_SLOT_REF1="{a}" '
            f'TIME_SLOT_REF2="{b}"><ANNOTATION_VALUE>{escape(text)}</ANNOTATION_VALUE>'
            f"</ALIGNABLE_ANNOTATION></ANNOTATION>"
        )
    date = datetime.now(timezone.utc).isoformat(timespec="seconds")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<ANNOTATION_DOCUMENT AUTHOR="" DATE="{date}" FORMAT="3.0" VERSION="3.0" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="http://www.mpi.nl/tools/elan/EAFv3.0.xsd">',
        '  <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">',
        f'    <MEDIA_DESCRIPTOR MEDIA_URL={quoteattr("file:///" + media_name)} MIME_TYPE="video/mp4"/>',
        "  </HEADER>",
        "  <TIME_ORDER>",
        *(f'    <TIME_SLOT TIME_SLOT_ID="ts{i}" TIME_VALUE="{ms}"/>' for i, ms in enumerate(slots, 1)),
        "  </TIME_ORDER>",
    ]
    for tier, annotations in tiers.items():
        lines.append(f'  <TIER LINGUISTIC_TYPE_REF="default-lt" TIER_ID="{tier}">')
        lines += annotations
        lines.append("  </TIER>")
    lines += [
        '  <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default-lt" TIME_ALIGNABLE="true"/>',
        "</ANNOTATION_DOCUMENT>",
        "",
    ]
    return "\n".join(lines)


class _Sink(io.RawIOBase):
    """A write-only file whose bytes are collected for a streaming response."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.pending.append(bytes(b))
        return len(b)

    def drain(self) -> bytes:
        out = b"".join(self.pending)
        self.pending.clear()
        return out


def encrypt_stream(plain: Iterator[bytes], recipients: list[Any]) -> Iterator[bytes]:
    """Re-encrypt a stream of plaintext to ``recipients`` as one age file, chunk by chunk."""
    from appliance import age

    sink = _Sink()
    writer = age.Encryptor(sink, recipients)
    try:
        for block in plain:
            writer.write(block)
            out = sink.drain()
            if out:
                yield out
        writer.close()
    finally:
        if hasattr(plain, "close"):
            plain.close()  # type: ignore[union-attr]
    yield sink.drain()
