"""Talk time and wait time for the review app: the API document and the
statistics cards, computed when shown from the sealed talk timeline and the
recording's coded questions."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app

from appliance.sealed import DamagedDocument
from appliance.talk.measures import corrected, summary
from appliance.talk.recording import read_timeline
from ui import web


def jobs() -> Any:
    return current_app.extensions["kit_talk"]


def talk_path(rec: Any):
    return current_app.config["KIT_PATHS"].talk(rec.id)


SUMMARY_FIELDS = ("totals", "wait_times", "shares", "longest_near_s", "turns", "mean_wait_s", "long_wait_share",
                  "mean_wait2_s", "long_wait2_share", "median_answer_s", "mean_answer_s", "by_category",
                  "window", "windows", "suggestions")


def view(rec: Any, doc: dict[str, Any], window: tuple[float, float] | None = None) -> dict[str, Any]:
    """``{state, segments, totals, wait_times, …}`` for one recording;
    ``window`` (start, end) limits the figures to that part of the lesson."""
    state, error = jobs().state(rec.id)
    out: dict[str, Any] = {"state": state, "segments": [], "totals": None, "wait_times": []}
    if error:
        out["error"] = error
    if state in ("done", "failed"):
        try:
            timeline = read_timeline(talk_path(rec), web.identities())
        except DamagedDocument:
            timeline = None
        if timeline is None:
            return out
        out["state"] = "done"
        out.pop("error", None)
        timeline = with_corrections(timeline, doc)
        s = summary(timeline, doc.get("codes", []), window)
        out["segments"] = [
            {k: seg[k] for k in ("start_s", "end_s", "voice", "confidence")} | {"corrected": bool(seg.get("corrected"))}
            for seg in timeline["segments"]
        ]
        out.update({k: s[k] for k in SUMMARY_FIELDS})
        out["duration_s"] = timeline.get("duration_s")
    return out


def summary_for_sharing(rec: Any, doc: dict[str, Any]) -> dict[str, Any] | None:
    """The measured talk summary (for the teacher's shared statistics), or None."""
    try:
        timeline = read_timeline(talk_path(rec), web.identities())
    except DamagedDocument:
        return None
    return summary(with_corrections(timeline, doc), doc.get("codes", [])) if timeline else None


def with_corrections(timeline: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """The analysed timeline as the coach corrected it (corrections live in the annotations)."""
    return {**timeline, "segments": corrected(timeline.get("segments", []), doc.get("talk_corrections", []))}


def segment_starts(rec: Any) -> set[float]:
    """Where the analysed segments start (a correction must name one); empty without a timeline."""
    try:
        timeline = read_timeline(talk_path(rec), web.identities())
    except DamagedDocument:
        return set()
    return {round(float(s["start_s"]), 3) for s in (timeline or {}).get("segments", [])}


def start(rec: Any) -> str:
    if rec.state == "recording":
        abort(409, description="the recording is still running")
    directory = current_app.config["KIT_PATHS"].recording(rec.id)
    if not directory.is_dir():
        abort(404)
    return jobs().start(rec.id, directory, web.identities(), list(rec.recipients))


NEAR_COLOUR = "#1f77b4"
FAR_COLOUR = "#ff7f0e"


def strip_svg(title: str, duration_s: float, segments: list[dict], width: int = 640, *,
              margin: int = 10, labels: bool = True) -> str:
    """A strip of who speaks when: near above, far below, silence empty
    (``margin=0, labels=False``: under the player's timeline, edge to edge)."""
    from markupsafe import escape

    length = max(float(duration_s or 0), 1.0)
    x_of = lambda t: margin + t / length * (width - 2 * margin)  # noqa: E731
    height = 44 if labels else 34
    parts = [f'<svg class="chart talk-strip" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line x1="{margin}" y1="18" x2="{width - margin}" y2="18" stroke="#ccc"/>']
    for seg in segments:
        xa, xb = x_of(seg["start_s"]), x_of(seg["end_s"])
        y = 4 if seg["voice"] == "near" else 20
        colour = NEAR_COLOUR if seg["voice"] == "near" else FAR_COLOUR
        fixed = " corrected" if seg.get("corrected") else ""
        parts.append(f'<rect class="talk-{seg["voice"]}{fixed}" data-start="{float(seg["start_s"]):.3f}" '
                     f'data-end="{float(seg["end_s"]):.3f}" x="{xa:.1f}" y="{y}" width="{max(1.0, xb - xa):.1f}" '
                     f'height="14" fill="{colour}"/>')
    for i in range(0, 11 if labels else 0):
        t = length * i / 10
        parts.append(f'<text x="{x_of(t):.1f}" y="43" font-size="8" text-anchor="middle">{int(t // 60)}:{int(t % 60):02d}</text>')
    parts.append("</svg>")
    return "".join(parts)
