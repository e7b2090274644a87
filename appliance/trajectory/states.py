"""The trajectory state machine, with no storage: what may follow what.

A trajectory walks ``planned → intake_done → baseline_recorded →
(recorded → reviewed) × n → closed``; ``paused`` and ``stopped`` can be
reached from any open state, and a paused trajectory resumes where it was.
``step`` counts the recordings: 0 is the baseline, 1..n the coaching
recordings (each followed by a review meeting).

>>> s = Position("planned", 0, 3)
>>> s = advance(s, "intake"); s = advance(s, "recorded"); s.state
'baseline_recorded'
>>> s = advance(s, "recorded"); (s.state, s.step)
('recorded', 1)
>>> try: advance(s, "close")
... except InvalidTransition as exc: print(exc)
cannot close a trajectory that is recorded (step 1 of 3)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from appliance.errors import KitError

STATES = ("planned", "intake_done", "baseline_recorded", "recorded", "reviewed", "closed", "paused", "stopped")
OPEN_STATES = ("planned", "intake_done", "baseline_recorded", "recorded", "reviewed")
FINAL_STATES = ("closed", "stopped")
METHODS = ("beeldcoaching", "didactisch_coachen", "other")
ACTIONS = ("intake", "recorded", "review", "close", "pause", "resume", "stop")
DEFAULT_RECORDINGS = 3
MIN_RECORDINGS, MAX_RECORDINGS = 1, 5


class InvalidTransition(KitError):
    pass


@dataclass(frozen=True)
class Position:
    state: str
    step: int
    planned: int
    paused_from: str | None = None

    def describe(self) -> str:
        return f"{self.state} (step {self.step} of {self.planned})"

    @property
    def expects_recording(self) -> int | None:
        """The step a new recording belongs to now, or None when none is expected."""
        if self.state == "intake_done":
            return 0
        if self.state == "baseline_recorded":
            return 1
        if self.state == "recorded":
            return self.step          # a retake before the review meeting
        if self.state == "reviewed" and self.step < self.planned:
            return self.step + 1
        return None


def check_planned(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not MIN_RECORDINGS <= count <= MAX_RECORDINGS:
        raise InvalidTransition(
            f"the number of recordings must be {MIN_RECORDINGS} to {MAX_RECORDINGS}, not {count!r}")
    return count


def advance(pos: Position, action: str) -> Position:
    """The position after ``action``; InvalidTransition when it may not happen now."""
    def refuse() -> InvalidTransition:
        return InvalidTransition(f"cannot {action} a trajectory that is {pos.describe()}")

    if action not in ACTIONS:
        raise InvalidTransition(f"unknown trajectory action {action!r}")
    state = pos.state
    if action == "intake":
        if state != "planned":
            raise refuse()
        return replace(pos, state="intake_done")
    if action == "recorded":
        step = pos.expects_recording
        if step is None:
            raise refuse()
        if step == 0:
            return replace(pos, state="baseline_recorded", step=0)
        return replace(pos, state="recorded", step=step)
    if action == "review":
        if state != "recorded":
            raise refuse()
        return replace(pos, state="reviewed")
    if action == "close":
        if state != "reviewed" or pos.step < pos.planned:
            raise refuse()
        return replace(pos, state="closed")
    if action == "pause":
        if state not in OPEN_STATES:
            raise refuse()
        return replace(pos, state="paused", paused_from=state)
    if action == "resume":
        if state != "paused" or pos.paused_from is None:
            raise refuse()
        return replace(pos, state=pos.paused_from, paused_from=None)
    # stop
    if state in FINAL_STATES:
        raise refuse()
    return replace(pos, state="stopped", paused_from=None)
