"""Intervisie: a teacher shares chosen clips with her peer group.

A *group* (:mod:`.groups`) only decides whom a teacher may choose; it gives
nobody footage. A *share* (:mod:`.shares`) is the filmed teacher's own act:
the clip is cut exactly, encrypted to her and the group's members (their
pinned keys; her coach only if he is a member) and kept under
``DATA/shares/<share-id>/`` with a sealed document and the members' sealed
comments. Who sees a share is who holds one of its keys, the same rule as
for recordings. Withdrawing it shreds every file; it never outlives its
recording.
"""

from .groups import Groups
from .shares import Changed, NotEnrolled, NotYours, Shares

__all__ = ["Changed", "Groups", "NotEnrolled", "NotYours", "Shares"]
