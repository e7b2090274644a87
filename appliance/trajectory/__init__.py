"""Coaching trajectories: intake, baseline, recordings with review meetings, closing.

See ``store.Trajectories`` (storage and assignment) and ``states`` (the
state machine).
"""

from .states import ACTIONS, METHODS, STATES, InvalidTransition, Position, advance
from .store import Trajectories, UnknownTrajectory

__all__ = ["ACTIONS", "METHODS", "STATES", "InvalidTransition", "Position", "Trajectories",
           "UnknownTrajectory", "advance"]
