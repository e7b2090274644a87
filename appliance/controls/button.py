"""One push button, three gestures.

* short press (released before ``stop_hold_s``) -> ``on_short_press``
* held ``stop_hold_s`` -> ``on_hold_stop`` (fires while still held; it
  returns True when it acted, which ends the gesture so that the same hold
  cannot go on to request a shutdown)
* held ``shutdown_hold_s`` -> ``on_hold_shutdown`` (idle only; decided by
  the controller)

Gestures are recognised on our own timers rather than gpiozero's
``when_held`` so that both hold thresholds work on one button.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

Callback = Callable[[], object]


def _noop() -> None:
    return None


class ButtonGestures:
    def __init__(self, button: Any, stop_hold_s: float = 2.0, shutdown_hold_s: float = 5.0) -> None:
        self.button = button
        self.stop_hold_s = stop_hold_s
        self.shutdown_hold_s = shutdown_hold_s
        self.on_short_press: Callback = _noop
        self.on_hold_stop: Callback = _noop
        self.on_hold_shutdown: Callback = _noop
        self._lock = threading.Lock()
        self._action = threading.RLock()
        self._press_id = 0
        self._fired: set[str] = set()
        self._pressed_at: float | None = None
        self._timers: list[threading.Timer] = []
        button.when_pressed = self._pressed
        button.when_released = self._released

    def _pressed(self) -> None:
        with self._lock:
            self._press_id += 1
            press = self._press_id
            self._fired: set[str] = set()
            self._pressed_at = time.monotonic()
            self._cancel_timers()
            self._timers = [
                threading.Timer(self.stop_hold_s, self._held, args=(press, "stop")),
                threading.Timer(self.shutdown_hold_s, self._held, args=(press, "shutdown")),
            ]
            for timer in self._timers:
                timer.daemon = True
                timer.start()

    def _claim(self, press: int, which: str) -> bool:
        """Mark a threshold of this press as handled; False if it already was."""
        with self._lock:
            if press != self._press_id or which in self._fired or "done" in self._fired:
                return False
            self._fired.add(which)
            return True

    def _held(self, press: int, which: str) -> None:
        with self._lock:
            if self._pressed_at is None:
                return
        self._fire(press, which)

    def _fire(self, press: int, which: str) -> None:
        # One gesture action at a time, claimed under the same lock: a release
        # that races a hold timer either runs the hold itself or waits for it.
        with self._action:
            if not self._claim(press, which):
                return
            if which == "stop":
                if self.on_hold_stop():
                    with self._lock:
                        self._fired.add("done")  # the same hold cannot go on to shut down
                        if press == self._press_id:
                            self._cancel_timers()
            else:
                self.on_hold_shutdown()

    def _released(self) -> None:
        with self._lock:
            if self._pressed_at is None:
                return
            held = time.monotonic() - self._pressed_at
            press = self._press_id
            self._pressed_at = None
            self._cancel_timers()
        if held < self.stop_hold_s:
            with self._action:
                if self._claim(press, "short"):
                    self.on_short_press()
            return
        # Released just as a threshold passed, before its timer ran: the hold
        # still counts (a 2-second hold must always stop).
        self._fire(press, "stop")
        if held >= self.shutdown_hold_s:
            self._fire(press, "shutdown")

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers = []

    def close(self) -> None:
        with self._lock:
            self._cancel_timers()
