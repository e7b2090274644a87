"""Camera backends: real (picamera2, only on a Pi) and simulated (PyAV).

Both deliver encoded H.264 + AAC packets through the :class:`Camera`
interface; the recorder muxes them without re-encoding.
"""

from appliance.camera.base import AudioFormat, Camera, CameraUnavailable, EncodedPacket, VideoFormat
from appliance.camera.simulated import SimulatedCamera

__all__ = [
    "AudioFormat",
    "Camera",
    "CameraUnavailable",
    "EncodedPacket",
    "Picamera2Camera",
    "SimulatedCamera",
    "VideoFormat",
]


def __getattr__(name: str):
    # picamera2 exists only on a Pi; import its backend only when asked for.
    if name == "Picamera2Camera":
        from appliance.camera.picamera2_camera import Picamera2Camera

        return Picamera2Camera
    raise AttributeError(name)
