"""The green LED's vocabulary: one distinct pattern per thing the kit must say.

A pattern is a list of ``(on, seconds)`` steps, played once or repeated.
Counted blinks tell the "cannot record" reasons apart without a manual
next to the kit: 2 = no teacher/coach assigned, 3 = disk nearly full,
4 = no camera, 5 = the teacher has not confirmed the coach. The README's table is generated from ``PATTERNS``.
"""

from __future__ import annotations

from dataclasses import dataclass

SHORT = 0.15
GAP = 0.25
PAUSE = 1.5


@dataclass(frozen=True)
class Pattern:
    name: str
    steps: tuple[tuple[bool, float], ...]
    repeat: bool
    meaning: str
    looks: str


def _blinks(n: int) -> tuple[tuple[bool, float], ...]:
    steps: list[tuple[bool, float]] = []
    for _ in range(n):
        steps += [(True, SHORT), (False, GAP)]
    steps[-1] = (False, PAUSE)
    return tuple(steps)


PATTERNS: dict[str, Pattern] = {
    p.name: p
    for p in [
        Pattern("ready", ((True, 1.0),), True, "ready to record", "steady on"),
        Pattern("recording", ((False, 1.0),), True, "recording (red LED on)", "off"),
        Pattern("bookmark", ((False, 0.2), (True, 0.4), (False, 0.2)), False,
                "bookmark saved", "one flash"),
        Pattern("no_assignment", _blinks(2), True,
                "cannot record: no teacher and coach assigned", "2 blinks, pause"),
        Pattern("disk_low", _blinks(3), True,
                "cannot record: less than 10 minutes of space left", "3 blinks, pause"),
        Pattern("no_camera", _blinks(4), True, "cannot record: no camera", "4 blinks, pause"),
        Pattern("no_consent", _blinks(5), True,
                "cannot record: the teacher has not confirmed this coach (or withdrew)", "5 blinks, pause"),
        Pattern("syncing", ((True, 1.0), (False, 1.0)), True, "syncing with the school server",
                "slow blink (1 s on, 1 s off)"),
        Pattern("sync_done", ((True, 0.1), (False, 0.1)) * 2 + ((True, 3.0),), False,
                "sync finished", "double flash, then on for 3 s"),
        Pattern("sync_failed", ((True, 0.6), (False, 0.2), (True, 0.1), (False, 0.2)) * 3, False,
                "sync failed (will retry)", "long-short, three times"),
        Pattern("error", ((True, 0.08), (False, 0.08)), True,
                "error: see the review page or the log", "rapid flicker"),
        Pattern("shutdown", ((True, 0.5), (False, 0.5)) * 3, False, "shutting down",
                "three even blinks, then off"),
    ]
}


def markdown_table() -> str:
    rows = ["| green LED | meaning |", "|---|---|"]
    for p in PATTERNS.values():
        rows.append(f"| {p.looks} | {p.meaning} |")
    return "\n".join(rows)
