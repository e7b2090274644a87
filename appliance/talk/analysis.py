"""Run the talk chain: audio → VAD → segments → near/far → a talk timeline.

The timeline is a plain dict (what ``talk.json.age`` holds)::

    {"version": 1, "vad": "silero", "duration_s": …,
     "segments": [{"start_s", "end_s", "voice", "confidence", "dbfs", "hf_ratio_db"}]}
"""

from __future__ import annotations

from typing import Any, BinaryIO

import numpy as np

from appliance.talk import SAMPLE_RATE
from appliance.talk.segments import FrameFeatures, frame_features, refine_edges, segments_from, speech_spans
from appliance.talk.vad import load_vad
from appliance.talk.voices import label

VERSION = 1


def analyse_pcm(pcm: np.ndarray, vad=None) -> dict[str, Any]:
    """The talk timeline of 16 kHz mono float32 PCM."""
    vad = vad or load_vad()
    return timeline(vad, vad.probabilities(pcm), frame_features(pcm), len(pcm) / SAMPLE_RATE)


def timeline(vad, prob: np.ndarray, features: FrameFeatures, duration_s: float) -> dict[str, Any]:
    """The timeline from per-frame speech probabilities and frame features
    (the same path for a whole recording and for live audio)."""
    frame_s = vad.frame_samples / SAMPLE_RATE
    spans = refine_edges(speech_spans(prob, frame_s, vad.threshold), features)
    voiced = label(segments_from(features, spans))
    return {
        "version": VERSION,
        "vad": vad.name,
        "duration_s": round(float(duration_s), 3),
        "segments": [v.as_dict() for v in voiced],
    }


def decode_blocks(source: str | BinaryIO, rate: int = SAMPLE_RATE):
    """Blocks of mono float32 at ``rate`` from the first audio stream of a
    container (file name or file-like, e.g. decrypted fMP4). Nothing is
    written to disk."""
    import av

    with av.open(source) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1).astype(np.float32)
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1).astype(np.float32)


def decode_audio(source: str | BinaryIO, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The whole first audio stream as one array (``decode_blocks`` joined)."""
    chunks = list(decode_blocks(source, rate))
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
