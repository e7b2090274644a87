"""Button and LEDs through gpiozero; ``MockFactory`` pins when not on a Pi.

>>> from appliance.config import KitConfig
>>> controls = Controls(KitConfig(simulate=True))
>>> controls.set_recording(True); controls.red.value
1
>>> controls.close()
"""

from __future__ import annotations

import threading
import time
from typing import Any

from appliance.config import KitConfig

from .button import ButtonGestures
from .patterns import PATTERNS, Pattern, markdown_table
from .player import PatternPlayer


def mock_factory() -> Any:
    from gpiozero.pins.mock import MockFactory

    return MockFactory()


class Controls:
    """The kit's button and two LEDs. Red is on exactly while recording."""

    def __init__(self, config: KitConfig, pin_factory: Any | None = None) -> None:
        from gpiozero import LED, Button

        if pin_factory is None and config.simulate:
            pin_factory = mock_factory()
        self.simulated = pin_factory is not None and type(pin_factory).__name__ == "MockFactory"
        self.pin_factory = pin_factory
        self.red = LED(config.red_led_pin, pin_factory=pin_factory)
        self.green = LED(config.green_led_pin, pin_factory=pin_factory)
        self.button = Button(config.button_pin, pull_up=True, bounce_time=None,
                             pin_factory=pin_factory)
        self.gestures = ButtonGestures(self.button, config.stop_hold_s, config.shutdown_hold_s)
        self.green_player = PatternPlayer(self.green)
        self._press_lock = threading.Lock()

    def bind(self, *, short_press: Any = None, hold_stop: Any = None, hold_shutdown: Any = None) -> None:
        """Connect the three button gestures to what they do (the controller's actions)."""
        self.gestures.on_short_press = short_press
        self.gestures.on_hold_stop = hold_stop
        self.gestures.on_hold_shutdown = hold_shutdown

    def set_recording(self, recording: bool) -> None:
        self.red.value = 1 if recording else 0

    def show(self, pattern: str) -> None:
        self.green_player.play(pattern)

    @property
    def pattern(self) -> str:
        return self.green_player.current

    # -- simulation: what `kit button press|hold` does to the mock pin -------

    def simulate_press(self, seconds: float = 0.1) -> None:
        """Press the (mock) button for ``seconds``; only possible with mock pins."""
        if not self.simulated:
            from appliance.errors import KitError

            raise KitError("the button can only be simulated when the kit runs with --simulate")
        with self._press_lock:
            pin = self.button.pin
            pin.drive_low()
            try:
                time.sleep(seconds)
            finally:
                pin.drive_high()

    def close(self) -> None:
        self.gestures.close()
        self.green_player.close()
        for device in (self.button, self.red, self.green):
            device.close()


__all__ = ["Controls", "PATTERNS", "Pattern", "PatternPlayer", "ButtonGestures", "markdown_table"]
