"""Plays LED patterns on a gpiozero LED from one background thread.

A repeating pattern is the LED's *base* (ready, cannot record, syncing…);
a one-shot pattern (bookmark flash, sync done) plays over it and the base
resumes afterwards.
"""

from __future__ import annotations

import threading
from typing import Any

from .patterns import PATTERNS, Pattern


class PatternPlayer:
    def __init__(self, led: Any) -> None:
        self._led = led
        self._base: Pattern = PATTERNS["ready"]
        self._overlay: Pattern | None = None
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="led-pattern", daemon=True)
        self._thread.start()

    @property
    def current(self) -> str:
        with self._changed:
            return (self._overlay or self._base).name

    @property
    def base(self) -> str:
        with self._changed:
            return self._base.name

    def play(self, name: str) -> None:
        pattern = PATTERNS[name]
        with self._changed:
            if pattern.repeat:
                if pattern is self._base:
                    return
                self._base = pattern
            else:
                self._overlay = pattern
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._changed:
                if self._closed:
                    return
                pattern = self._overlay or self._base
            interrupted = False
            for on, seconds in pattern.steps:
                self._set(on)
                with self._changed:
                    # Wake early when a new pattern arrives (but let a one-shot finish).
                    self._changed.wait_for(
                        lambda: self._closed or (
                            (self._overlay or self._base) is not pattern and pattern.repeat
                        ),
                        timeout=seconds,
                    )
                    if self._closed:
                        self._set(False)
                        return
                    if (self._overlay or self._base) is not pattern and pattern.repeat:
                        interrupted = True
                        break
            if not interrupted and not pattern.repeat:
                with self._changed:
                    if self._overlay is pattern:
                        self._overlay = None

    def _set(self, on: bool) -> None:
        if bool(self._led.value) != on:
            self._led.value = 1 if on else 0
