"""Talk analysis while recording, on the audio before it is encoded.

The camera (or microphone) thread hands each block of raw samples to
``LiveTalk.feed``, which only copies it into a bounded queue and returns: it
never waits, so it can never delay a segment seal. When the queue is full
the block is dropped and counted, and the worker later inserts that much
silence so times stay right. One worker thread at nice 10 resamples to
16 kHz, runs the VAD continuously and keeps only per-frame speech
probabilities and frame features (a few hundred kB for a lesson), never the
audio. ``finish()`` returns the talk timeline, which the controller seals
next to the recording like the on-demand analysis does.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from appliance.talk import SAMPLE_RATE
from appliance.talk.analysis import timeline
from appliance.talk.segments import FRAME, FrameFeatures, frame_features
from appliance.talk.vad import load_vad

log = logging.getLogger(__name__)


class LiveTalk:
    def __init__(self, vad_factory: Callable[[], Any] = load_vad, max_queued_blocks: int = 256) -> None:
        self._vad_factory = vad_factory
        self._queue: queue.Queue = queue.Queue(max_queued_blocks)
        self.dropped_samples = 0
        self._dropped_rate = 0
        self._thread = threading.Thread(target=self._run, name="talk-live", daemon=True)
        self._result: dict | None = None
        self._error: BaseException | None = None
        self._thread.start()

    # -- the camera's thread ------------------------------------------------

    def feed(self, samples: np.ndarray, rate: int) -> None:
        """Never blocks: a full queue drops the block (counted)."""
        try:
            self._queue.put_nowait((np.array(samples, dtype=np.float32, copy=True).reshape(-1), int(rate)))
        except queue.Full:
            self.dropped_samples += len(samples)
            self._dropped_rate = rate

    # -- any thread ---------------------------------------------------------

    def finish(self, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the queued audio to be analysed; the talk timeline."""
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("talk analysis did not catch up")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    # -- the worker ---------------------------------------------------------

    def _run(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (OSError, AttributeError):
            pass
        try:
            self._result = self._analyse()
        except BaseException as exc:  # reported by finish()
            log.warning("live talk analysis failed: %s", exc)
            self._error = exc

    def _analyse(self) -> dict[str, Any]:
        import av

        analyser = StreamingAnalyser(self._vad_factory())
        resampler = None
        rate_in = None
        pts = 0
        while True:
            item = self._queue.get()
            if self.dropped_samples and self._dropped_rate:
                gap, self.dropped_samples = self.dropped_samples, 0
                analyser.add(np.zeros(int(gap * SAMPLE_RATE / self._dropped_rate), np.float32))
            if item is None:
                break
            samples, rate = item
            if rate == SAMPLE_RATE:
                analyser.add(samples)
                continue
            if resampler is None or rate != rate_in:
                resampler, rate_in = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE), rate
            frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = pts
            frame.time_base = Fraction(1, rate)
            pts += len(samples)
            for out in resampler.resample(frame):
                analyser.add(out.to_ndarray().reshape(-1).astype(np.float32))
        if resampler is not None:
            for out in resampler.resample(None):
                analyser.add(out.to_ndarray().reshape(-1).astype(np.float32))
        return analyser.result()


class StreamingAnalyser:
    """16 kHz audio in blocks of any size → the talk timeline, keeping only
    per-frame probabilities and features (not the audio)."""

    def __init__(self, vad) -> None:
        self.vad = vad
        self._vad_buf = np.zeros(0, np.float32)
        self._feat_buf = np.zeros(0, np.float32)
        self._probs: list[np.ndarray] = []
        self._features: list[FrameFeatures] = []
        self._total = 0
        self._first = True

    def add(self, pcm16k: np.ndarray) -> None:
        vad = self.vad
        self._total += len(pcm16k)
        self._vad_buf = np.concatenate([self._vad_buf, pcm16k])
        self._feat_buf = np.concatenate([self._feat_buf, pcm16k])
        n = len(self._vad_buf) // vad.frame_samples * vad.frame_samples
        if n >= 8 * vad.frame_samples:  # a few frames per call keeps the overhead low
            self._probs.append(vad.probabilities(self._vad_buf[:n], reset=self._first))
            self._first = False
            self._vad_buf = self._vad_buf[n:]
        m = len(self._feat_buf) // FRAME * FRAME
        if m >= 8 * FRAME:
            self._features.append(frame_features(self._feat_buf[:m]))
            self._feat_buf = self._feat_buf[m:]

    def result(self) -> dict[str, Any]:
        vad = self.vad
        n = len(self._vad_buf) // vad.frame_samples * vad.frame_samples
        if n:
            self._probs.append(vad.probabilities(self._vad_buf[:n], reset=self._first))
            self._first = False
            self._vad_buf = self._vad_buf[n:]
        m = len(self._feat_buf) // FRAME * FRAME
        if m:
            self._features.append(frame_features(self._feat_buf[:m]))
            self._feat_buf = self._feat_buf[m:]
        features = FrameFeatures.empty()
        if self._features:
            features = FrameFeatures(*(np.concatenate([getattr(f, k) for f in self._features])
                                       for k in ("rms", "low", "high", "cent_num", "cent_den")))
        prob = np.concatenate(self._probs) if self._probs else np.zeros(0, np.float32)
        return timeline(vad, prob, features, self._total / SAMPLE_RATE)
