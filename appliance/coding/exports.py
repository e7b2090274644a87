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


#: The CSV is for Excel with Dutch regional settings: that Excel splits on
#: ``;`` (the comma is the decimal separator), reads UTF-8 only after a BOM,
#: and the coach reads Dutch words in it whatever language the page is in.
CSV_HEADER = ["soort", "begin (s)", "eind (s)", "code", "vraagcategorie", "toon", "niveau", "voortgang", "titel"]
CSV_WORDS = {
    "code": "codering", "clip": "fragment",
    "instruction": "aanwijzing", "question": "vraag", "feedback": "feedback",
    "pearl": "parel", "puzzle": "puzzel",
    "positive": "positief", "negative": "negatief",
    "content": "inhoud", "strategy": "strategie", "modus": "modus", "personal": "persoonlijke kwaliteiten",
}
BOM = "\ufeff"


def _nl_seconds(value: float) -> str:
    """
    >>> _nl_seconds(3.2), _nl_seconds(125)
    ('3,200', '125,000')
    """
    return f"{float(value):.3f}".replace(".", ",")


def csv_text(doc: dict[str, Any], _: Callable[[str], str] = lambda s: s) -> str:
    r"""Codes and clips for Dutch Excel: ``;``-separated, BOM first, Dutch words, decimal comma.

    >>> text = csv_text({"codes": [{"t": 2.5, "kind": "feedback", "valence": "negative",
    ...                             "level": "personal", "progress": True}],
    ...                  "clips": [{"in": 1, "out": 4.25, "kind": "pearl", "title": "=1+1"}]})
    >>> text.startswith(BOM)
    True
    >>> print(text[1:].replace("\r\n", "\n"), end="")
    soort;begin (s);eind (s);code;vraagcategorie;toon;niveau;voortgang;titel
    codering;2,500;;feedback;;negatief;persoonlijke kwaliteiten;ja;
    fragment;1,000;4,250;parel;;;;;'=1+1
    """
    word = lambda key: CSV_WORDS.get(str(key), _csv_safe(str(key))) if key else ""  # noqa: E731
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for c in sorted(doc["codes"], key=lambda c: c["t"]):
        w.writerow([word("code"), _nl_seconds(c["t"]), "", word(c["kind"]), c.get("category", ""),
                    word(c.get("valence")), word(c.get("level")) if c["kind"] == "feedback" else "",
                    "ja" if c.get("progress") else "", ""])
    for k in sorted(doc["clips"], key=lambda k: k["in"]):
        w.writerow([word("clip"), _nl_seconds(k["in"]), _nl_seconds(k["out"]), word(k["kind"]), "", "", "", "",
                    _csv_safe(k.get("title") or "")])
    return BOM + buf.getvalue()


def _csv_safe(text: str) -> str:
    r"""A spreadsheet runs a cell starting with ``= + - @`` (or a tab or CR before one) as a formula.

    >>> _csv_safe("=SUM(A1)"), _csv_safe("\t=1"), _csv_safe("@x"), _csv_safe("goed")
    ("'=SUM(A1)", "'\t=1", "'@x", 'goed')
    """
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


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
