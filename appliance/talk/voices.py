"""Near / far: two clusters per lesson on level and spectral tilt.

The teacher is close to the kit's microphone, the pupils are further away:
their speech arrives quieter and duller (air and the room take the highs).
Per lesson, segments are split into two clusters with k-means on the
standardised level (dBFS) and high/low band ratio (weight ½); the louder
cluster is "near". Confidence is how much closer a segment is to its own
cluster than to the other (0.5 = on the border, 1 = on its centre). When the
two clusters are less than ``MIN_GAP_DB`` apart in level, the lesson has one
voice distance only and everything is "near" with confidence 0.5.

The labels are what the microphone can tell: "leraar (dichtbij)" and
"leerlingen (verder weg)" — a pupil next to the kit counts as near.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.talk.segments import Segment

MIN_GAP_DB = 5.0
SPECTRAL_WEIGHT = 0.5


@dataclass
class Voiced:
    start_s: float
    end_s: float
    voice: str  # "near" | "far"
    confidence: float
    dbfs: float
    hf_ratio_db: float

    def as_dict(self) -> dict:
        return {
            "start_s": self.start_s,
            "end_s": self.end_s,
            "voice": self.voice,
            "confidence": self.confidence,
            "dbfs": self.dbfs,
            "hf_ratio_db": self.hf_ratio_db,
        }


def label(segments: list[Segment]) -> list[Voiced]:
    """Label each segment near/far.

    >>> from appliance.talk.segments import Segment as S
    >>> out = label([S(0, 1, -20, 0, -10), S(2, 3, -40, 0, -25), S(4, 5, -21, 0, -11)])
    >>> [v.voice for v in out]
    ['near', 'far', 'near']
    """
    if not segments:
        return []
    level = np.array([s.dbfs for s in segments])
    tilt = np.array([s.hf_ratio_db for s in segments])
    duration = np.array([max(s.duration_s, 1e-3) for s in segments])

    def z(x: np.ndarray) -> np.ndarray:
        sd = x.std()
        return (x - x.mean()) / sd if sd > 1e-9 else x * 0

    points = np.stack([z(level), SPECTRAL_WEIGHT * z(tilt)], axis=1)
    centres = np.stack([points[level.argmax()], points[level.argmin()]])
    assign = np.zeros(len(segments), dtype=int)
    for _ in range(50):
        d = np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=2)
        new = d.argmin(axis=1)
        for k in (0, 1):
            if (new == k).any():
                w = duration[new == k]
                centres[k] = (points[new == k] * w[:, None]).sum(axis=0) / w.sum()
        if (new == assign).all() and _ > 0:
            break
        assign = new
    d = np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=2)
    assign = d.argmin(axis=1)

    means = [level[assign == k].mean() if (assign == k).any() else -np.inf for k in (0, 1)]
    near = int(np.argmax(means))
    single = not (assign == 1 - near).any() or abs(means[0] - means[1]) < MIN_GAP_DB

    out = []
    for i, s in enumerate(segments):
        if single:
            voice, conf = "near", 0.5
        else:
            own, other = d[i, assign[i]], d[i, 1 - assign[i]]
            voice = "near" if assign[i] == near else "far"
            conf = float(other / (own + other)) if own + other > 0 else 0.5
        out.append(Voiced(s.start_s, s.end_s, voice, round(conf, 3), s.dbfs, s.hf_ratio_db))
    return merge(out)


def merge(voiced: list[Voiced], gap_s: float = 0.0) -> list[Voiced]:
    """Join touching pieces of one voice (a long segment cut in pieces)."""
    out: list[Voiced] = []
    for v in voiced:
        if out and out[-1].voice == v.voice and v.start_s - out[-1].end_s <= gap_s + 1e-6:
            prev = out[-1]
            a, b = prev.end_s - prev.start_s, v.end_s - v.start_s
            out[-1] = Voiced(
                prev.start_s, v.end_s, v.voice,
                round((prev.confidence * a + v.confidence * b) / (a + b), 3),
                round(max(prev.dbfs, v.dbfs), 2), round((prev.hf_ratio_db * a + v.hf_ratio_db * b) / (a + b), 2),
            )
        else:
            out.append(v)
    return out
