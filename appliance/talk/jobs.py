"""On-demand talk analysis of recordings, one at a time, at low priority.

``TalkJobs.start(recording_id, directory, identities, recipients)`` queues
the analysis of a finished recording for a person who unlocked it; one
worker thread (nice 10, so playback and recording come first) decrypts the
audio in memory, analyses it and seals ``talk.json.age`` to the recipients.
The job holds the person's identity only until it has finished.
``state(recording_id)``: ``"pending"`` while queued or running,
``"failed"`` (with the reason) when the last attempt failed, ``"done"``
once the sealed timeline exists, ``"none"`` before anyone asked.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

from appliance.talk.recording import analyse_recording, seal_timeline

log = logging.getLogger(__name__)


class TalkJobs:
    def __init__(self, talk_path: Callable[[str], Path], *, analyse: Callable[..., dict] = analyse_recording,
                 on_done: Callable[[str, dict, list], None] | None = None) -> None:
        """``on_done(recording_id, timeline, identities)``: after a timeline was
        sealed, while the job still holds the key (the teacher's shared
        statistics follow the new measures)."""
        self._talk_path = talk_path
        self._on_done = on_done
        self._analyse = analyse
        self._queue: queue.Queue = queue.Queue()
        self._pending: set[str] = set()
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._worker: threading.Thread | None = None

    def state(self, recording_id: str) -> tuple[str, str | None]:
        with self._lock:
            if recording_id in self._pending:
                return "pending", None
            if recording_id in self._failed:
                return "failed", self._failed[recording_id]
        return ("done", None) if self._talk_path(recording_id).exists() else ("none", None)

    def start(self, recording_id: str, directory: Path, identities: Iterable[Any], recipients: Iterable[str]) -> str:
        with self._lock:
            if recording_id in self._pending:
                return "pending"
            self._pending.add(recording_id)
            self._failed.pop(recording_id, None)
            self._queue.put((recording_id, Path(directory), list(identities), list(recipients)))
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="talk-analysis", daemon=True)
                self._worker.start()
        return "pending"

    def wait(self, timeout: float | None = None) -> bool:
        """Until no job is queued or running (tests, ``kit`` commands)."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    def _run(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (OSError, AttributeError):
            pass
        while True:
            try:
                recording_id, directory, identities, recipients = self._queue.get(timeout=5)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._worker = None
                        return
                continue
            error = None
            try:
                timeline = self._analyse(directory, identities)
                timeline["recording_id"] = recording_id
                seal_timeline(self._talk_path(recording_id), timeline, recipients)
                if self._on_done is not None:
                    try:
                        self._on_done(recording_id, timeline, identities)
                    except Exception as exc:  # the timeline is sealed; sharing catches up on the next save
                        log.warning("after talk analysis of %s: %s", recording_id, exc)
            except Exception as exc:  # reported to the person who asked, not fatal to the kit
                log.warning("talk analysis of %s failed: %s", recording_id, exc)
                error = str(exc) or type(exc).__name__
            finally:
                identities.clear()  # forget the key as soon as the job is over
            with self._lock:
                self._pending.discard(recording_id)
                if error:
                    self._failed[recording_id] = error
                self._idle.notify_all()
