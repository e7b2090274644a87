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


FRAME = 512  # feature frames: 32 ms at 16 kHz, the Silero frame


@dataclass
class FrameFeatures:
    """Per 32 ms frame: RMS and band powers; enough to describe any segment
    later without keeping the audio (live analysis keeps only these)."""

    rms: np.ndarray
    low: np.ndarray  # power 100 Hz – 1 kHz
    high: np.ndarray  # power ≥ 2 kHz
    cent_num: np.ndarray  # Σ power × frequency
    cent_den: np.ndarray  # Σ power

    @classmethod
    def empty(cls) -> "FrameFeatures":
        z = np.zeros(0)
        return cls(z, z, z, z, z)


_FREQS = np.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE)
_WINDOW = np.hanning(FRAME)


def frame_features(pcm: np.ndarray) -> FrameFeatures:
    n = len(pcm) // FRAME
    frames = pcm[: n * FRAME].reshape(n, FRAME).astype(np.float64)
    rms = np.sqrt(np.mean(frames ** 2, axis=1)) + 1e-10
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2 if n else np.zeros((0, len(_FREQS)))
    return FrameFeatures(
        rms=rms,
        low=power[:, (_FREQS >= 100) & (_FREQS < 1000)].sum(axis=1),
        high=power[:, _FREQS >= 2000].sum(axis=1),
        cent_num=(power * _FREQS).sum(axis=1),
        cent_den=power.sum(axis=1),
    )


def _describe(f: FrameFeatures, a: int, b: int) -> tuple[float, float, float]:
    rms = f.rms[a:b]
    if len(rms) == 0:
        return -100.0, 0.0, 0.0
    loud = rms >= np.median(rms)
    dbfs = float(20 * np.log10(np.sqrt(np.mean(rms[loud] ** 2))))
    centroid = float(f.cent_num[a:b][loud].sum() / (f.cent_den[a:b][loud].sum() + 1e-20))
    hf = float(10 * np.log10((f.high[a:b][loud].sum() + 1e-20) / (f.low[a:b][loud].sum() + 1e-20)))
    return dbfs, centroid, hf


def refine_edges(spans: list[tuple[float, float]], f: FrameFeatures, *, over_noise_db: float = 10.0,
                 back_s: float = 0.6, forward_s: float = 0.3) -> list[tuple[float, float]]:
    """Move each span's edges out to where its sound really starts and ends.

    A detector decides on 32 ms frames and needs a few of them to be sure, so
    a soft onset (a quiet pupil far away) starts late. From each edge, walk
    outwards while the frame level stays ``over_noise_db`` above the lesson's
    noise floor (10th percentile of frame levels), at most ``back_s`` before
    and ``forward_s`` after, never into the neighbouring span.
    """
    if not spans or len(f.rms) == 0:
        return spans
    frame_s = FRAME / SAMPLE_RATE
    level = 20 * np.log10(f.rms)
    loud = level > np.percentile(level, 10) + over_noise_db
    out = []
    for i, (a, b) in enumerate(spans):
        lo = spans[i - 1][1] if i else 0.0
        hi = spans[i + 1][0] if i + 1 < len(spans) else len(f.rms) * frame_s
        k = int(a / frame_s)
        stop = max(int(np.ceil(lo / frame_s)), k - int(back_s / frame_s))
        while k - 1 >= stop and loud[k - 1]:
            k -= 1
        j = int(np.ceil(b / frame_s))
        stop = min(int(hi / frame_s), j + int(forward_s / frame_s), len(loud))
        while j < stop and loud[j]:
            j += 1
        out.append((round(min(a, k * frame_s), 3), round(max(b, j * frame_s), 3)))
    return out


def segments_from(source: "np.ndarray | FrameFeatures", spans: list[tuple[float, float]], *,
                  max_segment_s: float = 4.0) -> list[Segment]:
    """Segments with level and spectral cue, from PCM or from its frame features."""
    f = source if isinstance(source, FrameFeatures) else frame_features(source)
    frame_s = FRAME / SAMPLE_RATE
    out: list[Segment] = []
    for a, b in spans:
        pieces = max(1, int(np.ceil((b - a) / max_segment_s)))
        step = (b - a) / pieces
        for k in range(pieces):
            s, e = a + k * step, a + (k + 1) * step if k < pieces - 1 else b
            dbfs, centroid, hf = _describe(f, int(s / frame_s), max(int(s / frame_s) + 1, int(e / frame_s)))
            out.append(Segment(round(s, 3), round(e, 3), round(dbfs, 2), round(centroid, 1), round(hf, 2)))
    return out
