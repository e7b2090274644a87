"""``kit run``: the one long-running process of the kit, and its composition root.

It recovers from a power cut, builds the catalogue (with its clock), the
camera, the controls and the controller, opens the control socket, builds
the sync service and the review app and hands each what it needs, starts the
housekeeping, tells systemd it is ready, and then keeps the LEDs honest until
SIGTERM, SIGINT or a 5-second button hold. No part looks another up by
itself: what a part uses, it is given here.
"""

from __future__ import annotations

import faulthandler
import logging
import shlex
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable, TextIO

from appliance.catalogue import Catalogue
from appliance.clock import system_clock_synchronized
from appliance.config import KitConfig
from appliance.daemon import systemd
from appliance.daemon.control import ControlServer
from appliance.daemon.controller import KitController
from appliance.daemon.hardware import make_camera, make_controls
from appliance.talk.live import LiveTalk
from appliance.talk.vad import load_vad
from appliance.errors import KitError
from appliance.footage import store
from appliance.retention.service import start_housekeeping
from appliance.tls import TlsStore
from appliance.tls.context import ServingContexts
from kit.demo import ensure_demo
from kit.web_server import Listener, http_listener, https_listener
from sync.agent.service import SyncService
from ui.app import create_app
from ui.redirect import redirect_app

log = logging.getLogger("kit.run")
#: How often the served certificate is checked against what the store holds.
TLS_CHECK_S = 30.0


def recover_interrupted(config: KitConfig, catalogue: Catalogue) -> list[str]:
    """Recordings left in state ``recording`` by a power cut become ``interrupted``."""
    recovered = []
    for row in catalogue.list_recordings(state="recording"):
        directory = config.paths.recording(row["id"])
        store.recover(directory)
        catalogue.mark_interrupted(row["id"], store.sealed_sizes(directory), config.segment_seconds)
        log.warning("recording %s was interrupted (power cut?); its sealed segments are kept",
                    row["id"])
        recovered.append(row["id"])
    return recovered


class Kit:
    """Everything `kit run` starts, in the order it starts and stops them."""

    def __init__(self, config: KitConfig, out: TextIO = sys.stdout) -> None:
        self.config = config
        self.out = out
        self.stop_event = threading.Event()
        self.catalogue: Catalogue | None = None
        self.controller: KitController | None = None
        self.controls: Any = None
        self.control: ControlServer | None = None
        self.web: Listener | None = None
        self.redirect: Listener | None = None
        self.tls: ServingContexts | None = None
        self.sync: SyncService | None = None
        self.tls_store: TlsStore | None = None
        self.housekeeping: Any = None  # appliance.retention.service: trajectory steps, retention
        self.watchdog: systemd.Watchdog | None = None
        self.review_url: str | None = None
        self.shutdown_by_button = False

    # -- start -------------------------------------------------------------

    def start(self, demo: bool = False) -> None:
        config = self.config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        config.recordings_dir.mkdir(parents=True, exist_ok=True)
        self.catalogue = catalogue = Catalogue(config.catalogue_path)
        catalogue.restore_clock()
        for recording_id in recover_interrupted(config, catalogue):
            self._say(f"Recovered interrupted recording {recording_id}.")
        demo_people = ensure_demo(config, catalogue) if demo else []
        camera = make_camera(config)
        self.controls = make_controls(config)
        self.controller = KitController(config, catalogue, camera, self.controls,
                                        on_shutdown=self._on_button_shutdown,
                                        talk_factory=partial(LiveTalk, vad_factory=partial(load_vad, config.live_talk_vad))
                                        if config.live_talk else None)
        self.control = ControlServer(config.socket_path, self._handlers())
        self.control.start()
        self.tls_store = TlsStore(config.paths.tls, config.kit_id)
        self.tls_store.ensure()  # the kit's TLS key is made here on a fresh data directory
        self.sync = SyncService(data_dir=config.data_dir, catalogue=catalogue,
                                on_status=self.controller.on_sync_status, tls=self.tls_store)
        self._start_web()
        self._start_sync()
        self.housekeeping = start_housekeeping(catalogue, config.data_dir)
        self.watchdog = systemd.Watchdog(healthy=lambda: not self.stop_event.is_set())
        self.watchdog.start()
        systemd.notify("READY=1")
        self._banner(demo_people)

    def _handlers(self) -> dict[str, Callable[..., Any]]:
        controller = self.controller
        assert controller is not None
        return {
            "status": controller.status,
            "start": lambda: {"recording_id": controller.start_recording(source="cli")},
            "stop": lambda: controller.stop_recording(),
            "bookmark": controller.bookmark,
            "button": self._press_button,
            "trust_time": self._trust_time,
        }

    def _press_button(self, seconds: float = 0.1) -> dict:
        assert self.controls is not None and self.controller is not None
        self.controls.simulate_press(float(seconds))
        # A short press acts on release, synchronously; a hold may have begun a
        # stop on its timer thread: answer once that has finished.
        self.controller.settle()
        status = self.controller.status()
        status["shutdown"] = self.controller.shutdown_requested.is_set()
        return status

    def _trust_time(self, epoch: float, source: str = "cli") -> dict:
        assert self.catalogue is not None
        corrected = self.catalogue.trust_time(float(epoch), source=source)
        return {"corrected": corrected}

    def _start_web(self) -> None:
        if not self.config.serve_review:
            return
        config = self.config
        self.tls = ServingContexts(self.tls_store)
        try:
            app = create_app(controller=self.controller, data_dir=config.data_dir, config=config,
                             catalogue=self.catalogue, sync_service=self.sync, tls=self.tls.store)
        except Exception as exc:  # a broken review app must never stop the recorder
            log.exception("review app failed to start")
            self._say(f"Review page unavailable ({type(exc).__name__}: {exc}); recording works.")
            return
        self.web = https_listener(app, config.host, config.effective_port, self.tls).start()
        self.redirect = http_listener(
            redirect_app(self.web.port, default_host=self._default_host,
                         known_host=lambda host: host in (self.tls.issued.info.names if self.tls.issued else ())),
            config.host, config.effective_http_port).start()
        port = "" if self.web.port == 443 else f":{self.web.port}"
        self.review_url = f"https://{self._default_host()}{port}/"

    def _default_host(self) -> str:
        """Where the plain-HTTP listener sends a browser that named no known host."""
        if self.tls is not None and (name := self.tls.public_name()):
            return name
        return "localhost" if self.config.simulate else "10.42.0.1"

    def _start_sync(self) -> None:
        assert self.sync is not None
        try:
            self.sync.start()
        except Exception as exc:  # sync is optional for recording: never block it
            log.error("sync service did not start: %s", exc)
            self.sync = None

    def _banner(self, demo_people: list[tuple[str, str, str]]) -> None:
        assert self.controller is not None
        lines = ["", f"Lesson kit is running (data in {self.config.data_dir})."]
        for name, role, passphrase in demo_people:
            lines.append(f"  demo {role:<7} {name:<10} passphrase: {passphrase}")
        status = self.controller.status()
        if self.controls is not None and self.controls.simulated and not self.config.simulate:
            lines.append("  No GPIO on this machine: the button and LEDs are simulated "
                         "(use `kit button press`).")
        if status["state"] == "cannot_record":
            lines.append(f"  Cannot record yet: {status['message']}")
        if self.config.simulate:
            # The exact commands for this kit: with its --data unless it is `make run`'s ./data.
            kit = ".venv/bin/kit" if Path(".venv/bin/kit").exists() else "kit"
            data = self.config.data_dir
            opt = "" if data.resolve() == Path("data").resolve() else f" --data {shlex.quote(str(data))}"
            lines.append(f"  Press the button:  {kit} button press{opt}"
                         f"      (again = bookmark; `{kit} button hold 2{opt}` = stop)")
            lines.append(f"  Or:                {kit} record start|stop|status|bookmark{opt}")
        if self.review_url:
            lines.append(f"  Review page:       {self.review_url}")
            if self.tls is not None:
                served = self.tls.issued or self.tls.self_signed
                assert served is not None
                lines.append(f"  Certificate:       {served.issuer}, SHA-256 {served.info.fingerprint}")
        lines.append("  Stop the kit with Ctrl+C.")
        self._say("\n".join(lines) + "\n")

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    # -- run ---------------------------------------------------------------

    def _on_button_shutdown(self) -> None:
        self.shutdown_by_button = True
        self.stop_event.set()

    def wait(self) -> None:
        """Keep LEDs and clock up to date until asked to stop."""
        assert self.controller is not None and self.catalogue is not None
        next_tls_check = time.monotonic() + TLS_CHECK_S
        while not self.stop_event.wait(1.0):
            try:
                self.controller.refresh()
                if self.watchdog is not None:
                    self.watchdog.beat()
                if self.catalogue.clock.offset is None and system_clock_synchronized():
                    self.catalogue.trust_time(time.time(), source="ntp")
                if self.tls is not None and time.monotonic() >= next_tls_check:
                    # A certificate from the last sync, or an expiry while offline.
                    next_tls_check = time.monotonic() + TLS_CHECK_S
                    if self.tls.refresh():
                        log.info("now serving the %s certificate", (self.tls.issued or self.tls.self_signed).issuer)
            except Exception:  # one bad tick must not end the kit
                log.exception("periodic refresh failed")

    def stop(self) -> None:
        systemd.notify("STOPPING=1")
        if self.controller is not None:
            self.controller.close()
        if self.sync is not None:
            try:
                self.sync.stop()
            except Exception:
                log.exception("stopping sync failed")
        if self.housekeeping is not None:
            self.housekeeping.stop()
        for listener in (self.redirect, self.web):
            if listener is not None:
                listener.stop()
        if self.control is not None:
            self.control.stop()
        if self.watchdog is not None:
            self.watchdog.stop()
        if self.controls is not None:
            self.controls.close()
        if self.catalogue is not None:
            self.catalogue.close()


def run(config: KitConfig, demo: bool = False, out: TextIO = sys.stdout) -> int:
    kit = Kit(config, out)

    def _signal(signum: int, _frame: Any) -> None:
        kit.stop_event.set()

    previous = {s: signal.signal(s, _signal) for s in (signal.SIGTERM, signal.SIGINT)}
    # `kill -USR1` dumps every thread's stack to the log: how to see a hang on a kit.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        try:
            kit.start(demo=demo)
        except OSError as exc:  # the data directory cannot be used
            hint = " (try sudo, or --data DIR)" if isinstance(exc, PermissionError) else ""
            raise KitError(f"cannot start: {exc.strerror or exc}: {exc.filename}{hint}") from None
        kit.wait()
    finally:
        kit.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if kit.shutdown_by_button:
        if config.simulate:
            print("Safe shutdown requested with the button (simulation: not powering off).",
                  file=out, flush=True)
        else:
            subprocess.run(["systemctl", "poweroff"], check=False)
    return 0
