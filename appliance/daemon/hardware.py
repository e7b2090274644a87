"""Choosing the hardware side: real camera and GPIO on a Pi, simulated elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from appliance.config import KitConfig

log = logging.getLogger("kit.hardware")


def make_camera(config: KitConfig) -> Any | None:
    """The camera, or None (the kit then says "no camera" instead of recording)."""
    from appliance.camera import CameraUnavailable

    try:
        kind = config.camera_kind
        if kind in ("simulated", "360-simulated"):
            from appliance.camera import SimulatedCamera

            samples = None
            if config.sim_audio:
                from appliance.talk.analysis import decode_audio

                samples = decode_audio(str(config.sim_audio), rate=48000)
            spherical = kind == "360-simulated"
            return SimulatedCamera(
                width=config.width or (1920 if spherical else 1280),
                height=config.height or (960 if spherical else 720), fps=config.fps,
                realtime=config.realtime, keyframe_seconds=config.segment_seconds,
                audio_samples=samples, projection="equirectangular" if spherical else "flat",
            )
        if kind == "uvc":
            from appliance.camera.uvc_camera import UvcCamera

            return UvcCamera(config.uvc_device, width=config.width or 1920, height=config.height or 1080,
                             fps=config.fps, keyframe_seconds=config.segment_seconds,
                             projection=config.projection)
        if kind == "theta":
            from appliance.camera.theta_camera import ThetaCamera

            return ThetaCamera(config.theta_mode)
        from appliance.camera import Picamera2Camera

        return Picamera2Camera(width=config.width or 1920, height=config.height or 1080,
                               fps=config.fps, keyframe_seconds=config.segment_seconds)
    except (CameraUnavailable, ImportError, OSError, RuntimeError) as exc:
        log.error("no camera: %s", exc)
        return None


def make_controls(config: KitConfig) -> Any:
    from appliance.controls import Controls, mock_factory

    if config.simulate:
        return Controls(config, pin_factory=mock_factory())
    try:
        return Controls(config)
    except Exception as exc:  # no GPIO here (not a Pi): keep working, say so
        log.error("no GPIO (%s); using simulated pins", exc)
        return Controls(config, pin_factory=mock_factory())
