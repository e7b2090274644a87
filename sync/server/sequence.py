"""Where a valid batch stands against what its kit has applied so far.

Batches apply strictly in sequence. One that starts right after
``applied_through`` applies; an exact second copy of an applied batch is
dropped; anything else overlapping the applied range is refused. A batch
beyond a gap waits for the missing range — but only a little beyond: an
honest kit pushes its batches in order, so a gap is at most a few batches a
transfer has not delivered yet. A batch further ahead is refused at once.
Left waiting, it would sit in the inbox under a name the kit's own batch
needs later (pushes never overwrite), and be applied in that batch's place
once the sequence got there.

>>> place(1, 10, applied=0, max_gap=100, duplicate=False).action
'apply'
>>> place(11, 20, applied=0, max_gap=100, duplicate=False).action
'wait'
>>> p = place(999_999_999, 999_999_999, applied=20, max_gap=100, duplicate=False)
>>> p.action, p.reason
('refuse', 'sequence jumps ahead: starts at 999999999 but 21 is next and at most 100 may be missing')
>>> place(1, 10, applied=10, max_gap=100, duplicate=True).action
'drop'
>>> place(5, 12, applied=10, max_gap=100, duplicate=False).reason[:27]
'repeated sequence numbers: '
"""

from __future__ import annotations

from dataclasses import dataclass

APPLY, DROP, WAIT, REFUSE = "apply", "drop", "wait", "refuse"


@dataclass(frozen=True)
class Placement:
    action: str
    reason: str = ""


def place(first: int, last: int, *, applied: int, max_gap: int, duplicate: bool) -> Placement:
    """What to do with batch ``first``-``last`` when ``applied`` is the kit's applied_through.

    ``duplicate``: the server already applied exactly this range with these bytes.
    """
    if duplicate:
        return Placement(DROP)
    if first <= applied:
        return Placement(REFUSE, f"repeated sequence numbers: {first}-{last} overlaps what was already applied "
                                 f"(through {applied}) and differs from it")
    if first == applied + 1:
        return Placement(APPLY)
    if first - (applied + 1) > max_gap:
        return Placement(REFUSE, f"sequence jumps ahead: starts at {first} but {applied + 1} is next "
                                 f"and at most {max_gap} may be missing")
    return Placement(WAIT)
