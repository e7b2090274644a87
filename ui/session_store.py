"""Server-side review sessions: who is unlocked, with which key.

The browser holds only a random session id (an HttpOnly, SameSite=Strict
cookie). The unwrapped identity lives in this process's memory, in the entry
for that id, and nowhere else: it is dropped on lock, on logout and when the
session has been idle longer than the timeout. Python cannot scrub memory,
so "dropped" means every reference is released; nothing is ever written out.

Only someone who unlocked (or the admin who logged in) gets an entry here
(a browser that locks keeps its entry, without the key, until it goes idle):
before that a visitor's form carries a signed token (``ui.web``) and costs
the store nothing, so a flood of strangers cannot push anyone out. Each
client address holds at most ``max_per_owner`` entries; its own least
recently used goes first, never someone else's.

>>> store = SessionStore(idle_timeout_s=60, clock=lambda: 0.0, max_per_owner=2)
>>> s = store.create()
>>> store.get(s.sid) is s
True
>>> store.destroy(s.sid); store.get(s.sid) is None
True
>>> mine = [store.create(owner="10.42.0.7") for _ in range(3)]; theirs = store.create(owner="10.42.0.9")
>>> [store.get(x.sid) is not None for x in (*mine, theirs)]
[False, True, True, True]
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class ReviewSession:
    sid: str
    csrf_token: str
    last_seen: float
    #: ``"person"`` once unlocked, ``"admin"`` for the admin account, else ``None``.
    role: str | None = None
    person_id: str | None = None
    person_name: str | None = None
    recipient: str | None = None
    #: Every key she holds, the current one first (more than one after she renewed it).
    identities: tuple[Any, ...] = field(default=(), repr=False)
    #: The client address that unlocked it (the per-address limit counts these).
    owner: str | None = None
    #: Locked by the kit, not by her here (her key renewed from another device): the page unlocks in place.
    ended_by_kit: bool = False

    @property
    def identity(self) -> Any:
        """Her current key: what she signs consent with."""
        return self.identities[0] if self.identities else None

    @property
    def recipients(self) -> tuple[str, ...]:
        """The public halves of all her keys: what opens her recordings, old and new."""
        return tuple(str(i.recipient) for i in self.identities)

    @property
    def unlocked(self) -> bool:
        return self.role == "person" and bool(self.identities)

    def forget_key(self) -> None:
        self.identities = ()
        self.role = None
        self.person_id = self.person_name = self.recipient = None


class SessionStore:
    def __init__(
        self,
        idle_timeout_s: float,
        max_sessions: int = 500,
        clock: Callable[[], float] = time.monotonic,
        sweep_every_s: float | None = 30.0,
        max_per_owner: int | None = None,
    ) -> None:
        self.idle_timeout_s = idle_timeout_s
        self.max_sessions = max_sessions
        self.max_per_owner = max_per_owner
        self._clock = clock
        self._sessions: dict[str, ReviewSession] = {}
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        self._sweep_every_s = sweep_every_s
        self._closed = threading.Event()

    def _start_sweeper(self) -> None:
        # Keys of sessions nobody touches again must go too, not only when
        # their browser comes back: a daemon thread sweeps every half minute.
        if self._sweep_every_s is None or self._sweeper is not None:
            return
        self._sweeper = threading.Thread(target=self._sweep_loop, name="review-session-sweeper", daemon=True)
        self._sweeper.start()

    def _sweep_loop(self) -> None:
        while not self._closed.wait(self._sweep_every_s):
            self.sweep()

    def sweep(self) -> None:
        """Forget every session (and its key) idle longer than the timeout."""
        with self._lock:
            self._expire(self._clock())

    def close(self) -> None:
        self._closed.set()
        self.forget_all()

    def create(self, owner: str | None = None) -> ReviewSession:
        session = ReviewSession(sid="", csrf_token="", last_seen=self._clock(), owner=owner)
        return self.rotate(session)

    def get(self, sid: str | None) -> ReviewSession | None:
        """The live session for ``sid``, touched; ``None`` if unknown or idle too long."""
        if not sid:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if now - session.last_seen > self.idle_timeout_s:
                session.forget_key()
                del self._sessions[sid]
                return None
            session.last_seen = now
            return session

    def rotate(self, session: ReviewSession) -> ReviewSession:
        """A fresh id and CSRF token for a session whose privilege changes; stores it if it was not."""
        now = self._clock()
        with self._lock:
            self._sessions.pop(session.sid, None)
            session.sid = secrets.token_urlsafe(32)
            session.csrf_token = secrets.token_urlsafe(32)
            session.last_seen = now
            self._admit(session, now)
        self._start_sweeper()
        return session

    def destroy(self, sid: str) -> None:
        with self._lock:
            session = self._sessions.pop(sid, None)
        if session is not None:
            session.forget_key()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def unlocked_count(self) -> int:
        with self._lock:
            return sum(1 for s in self._sessions.values() if s.unlocked)

    def lock_person(self, person_id: str, keep: str | None = None) -> int:
        """Forget the person's key in all her sessions but ``keep`` (the one that renewed it);
        returns how many were locked."""
        with self._lock:
            others = [s for sid, s in self._sessions.items()
                      if sid != keep and s.role == "person" and s.person_id == person_id]
            for session in others:
                session.forget_key()
                session.ended_by_kit = True
        return len(others)

    def forget_all(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.forget_key()
            self._sessions.clear()

    def _expire(self, now: float) -> None:
        stale = [sid for sid, s in self._sessions.items() if now - s.last_seen > self.idle_timeout_s]
        for sid in stale:
            self._sessions.pop(sid).forget_key()

    def _admit(self, session: ReviewSession, now: float) -> None:
        self._expire(now)
        if self.max_per_owner is not None and session.owner is not None:
            own = [s for s in self._sessions.values() if s.owner == session.owner]
            if len(own) >= self.max_per_owner:
                self._evict_one(own)
        if len(self._sessions) >= self.max_sessions:
            self._evict_one(list(self._sessions.values()))
        self._sessions[session.sid] = session

    def _evict_one(self, candidates: list[ReviewSession]) -> None:
        # Anonymous sessions go first so that nobody is logged out while a
        # locked one is left; among equals the least recently used.
        victims = sorted(candidates, key=lambda s: (s.role is not None, s.last_seen))
        if victims:
            self._sessions.pop(victims[0].sid).forget_key()
