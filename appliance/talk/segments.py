"""Frame decisions → speech segments with a level and a spectral cue.

Hysteresis: speech starts at a frame over the detector's threshold and ends
after ``min_silence_s`` of frames under it; segments shorter than
``min_speech_s`` are dropped. Each segment carries its RMS level in dBFS
(the loudest 50 % of its 32 ms frames, so pauses inside do not lower it) and
the spectral centroid in Hz and the high (≥ 2 kHz) to low (100 Hz–1 kHz)
band energy ratio in dB; long segments are cut at ``max_segment_s``
so a teacher and a pupil speaking without a pause are still told apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.talk import SAMPLE_RATE


@dataclass
class Segment:
    start_s: float
    end_s: float
    dbfs: float
    centroid_hz: float
    hf_ratio_db: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def speech_spans(prob: np.ndarray, frame_s: float, threshold: float = 0.5, *,
                 min_silence_s: float = 0.25, min_speech_s: float = 0.12,
                 release: float = 0.15) -> list[tuple[float, float]]:
    """(start_s, end_s) of speech from per-frame probabilities.

    Speech starts at ``threshold`` and goes on while the probability stays
    over ``threshold - release`` (Silero's own hysteresis).

    >>> speech_spans(np.array([0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0.]), 0.05)
    [(0.05, 0.25), (0.65, 0.85)]
    """
    on = prob >= threshold
    keep = prob >= threshold - release
    hang = max(1, int(round(min_silence_s / frame_s)))
    spans: list[tuple[float, float]] = []
    start = None
    quiet = 0
    for i in range(len(prob)):
        if on[i] or (start is not None and keep[i]):
            if start is None:
                start = i
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet >= hang:
                spans.append((start, i - quiet + 1))
                start, quiet = None, 0
    if start is not None:
        spans.append((start, len(prob) - quiet))
    return [
        (round(a * frame_s, 3), round(b * frame_s, 3))
        for a, b in spans
        if (b - a) * frame_s >= min_speech_s
    ]


def _features(pcm: np.ndarray) -> tuple[float, float, float]:
    frame = 512
    n = len(pcm) // frame
    if n == 0:
        return -100.0, 0.0, 0.0
    frames = pcm[: n * frame].reshape(n, frame).astype(np.float64)
    rms = np.sqrt(np.mean(frames ** 2, axis=1)) + 1e-10
    loud = rms >= np.median(rms)
    dbfs = float(20 * np.log10(np.sqrt(np.mean(rms[loud] ** 2))))
    spectrum = np.abs(np.fft.rfft(frames[loud] * np.hanning(frame), axis=1)) ** 2
    power = spectrum.sum(axis=0) + 1e-20
    freqs = np.fft.rfftfreq(frame, 1 / SAMPLE_RATE)
    centroid = float((power * freqs).sum() / power.sum())
    high = power[freqs >= 2000].sum()
    low = power[(freqs >= 100) & (freqs < 1000)].sum()
    return dbfs, centroid, float(10 * np.log10(high / low))


def segments_from(pcm: np.ndarray, spans: list[tuple[float, float]], *, max_segment_s: float = 4.0) -> list[Segment]:
    out: list[Segment] = []
    for a, b in spans:
        pieces = max(1, int(np.ceil((b - a) / max_segment_s)))
        step = (b - a) / pieces
        for k in range(pieces):
            s, e = a + k * step, a + (k + 1) * step if k < pieces - 1 else b
            chunk = pcm[int(s * SAMPLE_RATE):int(e * SAMPLE_RATE)]
            dbfs, centroid, hf = _features(chunk)
            out.append(Segment(round(s, 3), round(e, 3), round(dbfs, 2), round(centroid, 1), round(hf, 2)))
    return out
