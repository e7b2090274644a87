"""The kit's settings: one dataclass, defaults for a Pi, overridable from a file.

``$LESSONKIT_CONFIG`` (``/etc/lessonkit/kit.toml`` on the kit) and then
``DATA/kit.toml`` (both optional) may set any field, e.g.::

    button_pin = 17
    red_led_pin = 22
    green_led_pin = 27
    min_minutes_left = 10

>>> cfg = KitConfig(data_dir=Path("/tmp/x"), simulate=True)
>>> cfg.effective_port, cfg.effective_http_port, cfg.socket_path.name
(8443, 8080, 'kit.sock')
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.errors import KitError
from appliance.paths import KitPaths

# The data partition is mounted at /var/lib/lessonkit; the kit keeps its data one
# level down, beside what first boot writes there (identity, ssh, provisioned).
DEFAULT_DATA_DIR = Path("/var/lib/lessonkit/data")


CAMERAS = ("picamera", "uvc", "theta", "simulated", "360-simulated")


@dataclass
class KitConfig:
    data_dir: Path = DEFAULT_DATA_DIR
    simulate: bool = False
    port: int | None = None            # HTTPS; None: 8443 in simulation, 443 on the kit
    http_port: int | None = None       # plain HTTP, redirects only; None: 8080 in simulation, 80 on the kit
    host: str = "0.0.0.0"
    serve_review: bool = True          # the review app (ui package) on `port`

    # GPIO (BCM numbering); the button connects the pin to ground.
    button_pin: int = 17
    red_led_pin: int = 22
    green_led_pin: int = 27
    stop_hold_s: float = 2.0           # hold while recording -> stop
    shutdown_hold_s: float = 5.0       # hold while idle -> safe shutdown

    # Camera: "picamera" (the Pi camera module), "uvc" (a USB webcam at
    # uvc_device; a 360° one with projection = "equirectangular"), "theta"
    # (Ricoh Theta live streaming, theta_mode "2K" or "4K"), or in
    # simulation "simulated" / "360-simulated" (--simulate picks these).
    camera: str = "picamera"
    uvc_device: str = "/dev/video0"
    projection: str = "flat"
    theta_mode: str = "2K"
    # Picture size. None: 1920x1080 on the kit, 1280x720 in simulation
    # (1920x960 for the simulated 360° camera).
    width: int | None = None
    height: int | None = None
    fps: int = 30
    realtime: bool = True              # simulated camera paced like a real one
    segment_seconds: float = 2.0
    # Used for the storage estimate before the recorder knows its real rate.
    estimated_bytes_per_second: float = 10_000_000 / 8 + 16_000

    # Storage guard.
    min_minutes_left: float = 10.0     # refuse to start below this
    reserve_bytes: int = 64 * 1024 * 1024  # never written into
    stop_margin_segments: float = 3.0  # stop when this many segments' worth remains

    # Talk time while recording: the VAD on the raw audio, on its own thread.
    live_talk: bool = True
    # The detector while recording: WebRTC costs about 2 % of the recording
    # pipeline's CPU and little memory, Silero about 5x the pipeline (bench
    # talk); both meet the accuracy targets. On-demand analysis uses Silero.
    live_talk_vad: str = "webrtc"
    sim_audio: str | None = None       # simulation: record this sound file instead of the tone

    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.camera not in CAMERAS:
            raise KitError(f"camera = {self.camera!r}: choose one of {', '.join(CAMERAS)}")
        if self.projection not in ("flat", "equirectangular"):
            raise KitError(f"projection = {self.projection!r}: choose flat or equirectangular")
        if self.theta_mode not in ("2K", "4K"):
            raise KitError(f"theta_mode = {self.theta_mode!r}: choose 2K or 4K")

    @property
    def camera_kind(self) -> str:
        """The camera actually used: in simulation always a simulated one."""
        if self.simulate:
            return "360-simulated" if self.camera in ("360-simulated", "theta") or \
                self.projection == "equirectangular" else "simulated"
        return self.camera

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 8443 if self.simulate else 443

    @property
    def effective_http_port(self) -> int:
        if self.http_port is not None:
            return self.http_port
        return 8080 if self.simulate else 80

    @property
    def kit_id(self) -> str:
        """First boot's ``[kit] id`` (``lk-…``); a simulated kit is ``lk-simulated``."""
        kit = self.extra.get("kit")
        if isinstance(kit, dict) and isinstance(kit.get("id"), str) and kit["id"]:
            return kit["id"]
        return "lk-simulated"

    @property
    def paths(self) -> KitPaths:
        return KitPaths(self.data_dir)

    @property
    def socket_path(self) -> Path:
        return self.paths.socket

    @property
    def catalogue_path(self) -> Path:
        return self.paths.catalogue

    @property
    def identities_dir(self) -> Path:
        return self.paths.identities

    @property
    def recordings_dir(self) -> Path:
        return self.paths.recordings

    def replace(self, **changes: Any) -> "KitConfig":
        return dataclasses.replace(self, **changes)

    @classmethod
    def load(cls, data_dir: Path | str, **overrides: Any) -> "KitConfig":
        """Defaults, then ``DATA/kit.toml``, then ``overrides`` (command-line options)."""
        data_dir = Path(data_dir).absolute()
        values: dict[str, Any] = {}
        # What first boot decided ($LESSONKIT_CONFIG), then the data directory's own file.
        paths = [Path(p) for p in [os.environ.get("LESSONKIT_CONFIG")] if p]
        for path in [*paths, KitPaths(data_dir).settings_file]:
            if not path.is_file():
                continue
            try:
                values.update(tomllib.loads(path.read_text()))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise KitError(f"{path}: not valid TOML ({exc})") from None
            except OSError as exc:
                raise KitError(f"cannot read {path}: {exc.strerror}") from None
        known = {f.name for f in dataclasses.fields(cls)}
        extra = {k: v for k, v in values.items() if k not in known}
        values = {k: v for k, v in values.items() if k in known and k != "data_dir"}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(data_dir=data_dir, extra=extra, **values)
