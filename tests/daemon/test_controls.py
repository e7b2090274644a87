"""Button gestures and LED patterns on gpiozero mock pins."""

from __future__ import annotations

import threading

import pytest
from gpiozero import LED, Button
from gpiozero.pins.mock import MockFactory

from appliance.config import KitConfig
from appliance.controls import PATTERNS, ButtonGestures, Controls, PatternPlayer, markdown_table

from .helpers import pin_history, wait_for


@pytest.fixture
def factory():
    return MockFactory()


def test_every_message_has_its_own_pattern():
    signatures = {(p.steps, p.repeat) for p in PATTERNS.values()}
    assert len(signatures) == len(PATTERNS)
    # The three reasons a kit cannot record are told apart by counted blinks.
    blinks = {name: sum(on for on, _ in PATTERNS[name].steps)
              for name in ("no_assignment", "disk_low", "no_camera")}
    assert blinks == {"no_assignment": 2, "disk_low": 3, "no_camera": 4}
    for needed in ("ready", "bookmark", "syncing", "sync_done", "sync_failed", "error"):
        assert needed in PATTERNS
    table = markdown_table()
    assert all(p.looks in table for p in PATTERNS.values())


def test_pattern_player_blinks_and_one_shots_return_to_the_base(factory):
    led = LED(27, pin_factory=factory)
    player = PatternPlayer(led)
    try:
        player.play("no_assignment")
        wait_for(lambda: pin_history(led.pin).count(True) >= 3, what="blinks")
        assert player.base == "no_assignment"
        player.play("bookmark")
        assert player.current == "bookmark"
        wait_for(lambda: player.current == "no_assignment", what="back to the base pattern")
        player.play("ready")
        wait_for(lambda: led.value == 1, what="steady on")
    finally:
        player.close()
        led.close()


class Gestures:
    def __init__(self, factory, stop=0.3, shutdown=0.8):
        self.button = Button(17, pull_up=True, bounce_time=None, pin_factory=factory)
        self.g = ButtonGestures(self.button, stop, shutdown)
        self.events: list[str] = []
        self.done = threading.Event()
        self.recording = False

        def record(name, result=None):
            def callback():
                self.events.append(name)
                self.done.set()
                return result() if callable(result) else result
            return callback

        self.g.on_short_press = record("short")
        self.g.on_hold_stop = record("stop", lambda: self.recording)
        self.g.on_hold_shutdown = record("shutdown")

    def hold(self, until: str) -> None:
        pin = self.button.pin
        self.done.clear()
        pin.drive_low()
        wait_for(lambda: until in self.events, what=until)
        pin.drive_high()

    def close(self):
        self.g.close()
        self.button.close()


def test_short_press_is_reported_on_release(factory):
    g = Gestures(factory)
    try:
        g.button.pin.drive_low()
        assert g.events == []
        g.button.pin.drive_high()
        assert g.events == ["short"]
    finally:
        g.close()


def test_hold_while_recording_stops_and_never_goes_on_to_shutdown(factory):
    g = Gestures(factory)
    g.recording = True
    try:
        pin = g.button.pin
        pin.drive_low()
        wait_for(lambda: "stop" in g.events, what="stop")
        # Keep holding past the shutdown threshold: the hold already acted.
        done = threading.Event()
        done.wait(1.0)
        pin.drive_high()
        assert g.events == ["stop"]
    finally:
        g.close()


def test_long_hold_while_idle_requests_shutdown_and_is_not_a_press(factory):
    g = Gestures(factory)
    try:
        g.hold("shutdown")
        assert g.events == ["stop", "shutdown"]  # the idle controller ignores "stop"
    finally:
        g.close()


def test_controls_red_led_and_simulated_press(tmp_path):
    controls = Controls(KitConfig(data_dir=tmp_path, simulate=True, button_pin=5,
                                  red_led_pin=6, green_led_pin=13))
    try:
        pressed = []
        controls.bind(short_press=lambda: pressed.append(True))
        controls.simulate_press(0.05)
        assert pressed == [True]
        controls.set_recording(True)
        assert controls.red.value == 1
        controls.set_recording(False)
        assert pin_history(controls.red.pin) == [False, True, False]
    finally:
        controls.close()


def test_release_right_at_a_threshold_still_counts_as_the_hold(factory):
    # `kit button hold 2` releases at the very moment the 2 s timer is due;
    # whichever runs first, the hold must act exactly once.
    g = Gestures(factory, stop=0.3, shutdown=0.8)
    g.recording = True
    try:
        g.button.pin.drive_low()
        g.g._cancel_timers()          # as if the timer had not run yet
        g.g._pressed_at -= 0.3
        g.button.pin.drive_high()
        assert g.events == ["stop"]
        g.recording = False
        g.button.pin.drive_low()
        g.g._cancel_timers()
        g.g._pressed_at -= 0.8
        g.button.pin.drive_high()
        assert g.events == ["stop", "stop", "shutdown"]
    finally:
        g.close()


def test_readme_table_lists_every_led_pattern(project_root):
    readme = (project_root / "README.md").read_text()
    for row in markdown_table().splitlines()[2:]:
        assert row in readme, f"README.md lacks the LED row: {row}"
