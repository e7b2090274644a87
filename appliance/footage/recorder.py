"""Camera packets → fragmented MP4 → ~2 s encrypted segments on disk.

One background thread per recording reads the camera, muxes, and seals each
segment (encrypt → ``.partial`` → fsync → rename → fsync directory) before
telling the caller through ``on_segment``. Plaintext lives only in memory,
one segment at a time.

Failures while recording (camera gone, disk full, I/O error) stop the
recording cleanly: whatever can still be sealed is sealed, the camera is
stopped, ``on_error`` is told with a one-line :class:`KitError`, and every
segment sealed before stays valid.
"""

from __future__ import annotations

import errno
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from appliance.camera.base import Camera, CameraUnavailable
from appliance.errors import KitError
from appliance.footage.fmp4 import Fragment, FragmentedMp4Muxer
from appliance.sealed import write_sealed
from appliance.footage.store import segment_name
from appliance.footage import thumbnail

log = logging.getLogger(__name__)

FIRST_PICTURE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class SealedSegment:
    index: int  # 0 = init.mp4.age, 1.. = seg-NNNNNN.m4s.age
    path: Path
    start_s: float  # offset in the recording
    duration_s: float
    bytes: int  # size of the encrypted file


@dataclass(frozen=True)
class RecordingSummary:
    segments: int  # media segments sealed (the init segment not counted)
    duration_s: float
    bytes: int  # all sealed files, init included


class RecordingFailed(KitError):
    """Recording stopped by itself; the sealed segments are kept."""


class SegmentRecorder:
    """Records one camera into one directory at a time.

    >>> from appliance.camera import SimulatedCamera
    >>> rec = SegmentRecorder(SimulatedCamera(160, 96, realtime=False))
    >>> rec.bytes_per_second > 0   # nominal until something is recorded
    True
    """

    def __init__(self, camera: Camera, segment_seconds: float = 2.0, picture_timeout_s: float = 5.0) -> None:
        self.camera = camera
        self.segment_seconds = segment_seconds
        # Sound without pictures for this long (in stream time) means the
        # camera is gone while the microphone still runs.
        self.picture_timeout_s = picture_timeout_s
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._reset()

    def _reset(self) -> None:
        self._segments = 0
        self._duration = 0.0
        self._bytes = 0
        self._pending: list[Fragment] = []
        self._error: KitError | None = None
        self._ready = threading.Event()  # init segment sealed, or failed
        self._stop_requested = False
        self._started = False
        self._thumb_source: bytes | None = None  # a keyframe kept in case no later one comes
        self._thumb_thread: threading.Thread | None = None

    # -- public API ---------------------------------------------------------

    def start(
        self,
        directory: Path | str,
        recipients: Iterable,
        on_segment: Callable[[SealedSegment], None] | None = None,
        on_error: Callable[[KitError], None] | None = None,
    ) -> None:
        """Start the camera and record into ``directory``.

        Returns once the camera delivers and the init segment is sealed, so a
        camera or disk that fails at once raises here rather than later.
        """
        if self.recording:
            raise KitError("already recording")
        recipients = list(recipients)
        if not recipients:
            raise KitError("no recipients: assign a teacher and a coach before recording")
        self._directory = Path(directory)
        self._directory.mkdir(parents=True, exist_ok=True)
        self._recipients = recipients
        self._on_segment = on_segment
        self._on_error = on_error
        self._reset()
        self.camera.start()
        self._thread = threading.Thread(target=self._run, name="segment-recorder", daemon=True)
        self._thread.start()
        arrived = self._ready.wait(FIRST_PICTURE_TIMEOUT_S)
        with self._lock:
            # From here on failures go to on_error; before, start() raises them.
            self._started = True
            error = self._error
        if error is not None:
            self.stop()
            raise error
        if not arrived:
            self.stop()
            raise CameraUnavailable(
                f"the camera started but delivered no picture within {FIRST_PICTURE_TIMEOUT_S:.0f} s"
            )

    def stop(self) -> RecordingSummary:
        """Stop the camera, seal the last segment, and summarise. Idempotent."""
        self._stop_requested = True
        thread = self._thread
        if thread is None:
            return self.summary
        self.camera.stop()
        if thread is threading.current_thread():
            # Called from on_segment/on_error: the loop ends by itself once
            # the callback returns; joining here would wait for ourselves.
            return self.summary
        thread.join()
        self._thread = None
        if self._thumb_thread is not None:
            self._thumb_thread.join()
        return self.summary

    @property
    def recording(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def error(self) -> KitError | None:
        return self._error

    @property
    def summary(self) -> RecordingSummary:
        with self._lock:
            return RecordingSummary(self._segments, self._duration, self._bytes)

    @property
    def bytes_per_second(self) -> float:
        """Measured from what was sealed; the camera's nominal rate before that."""
        with self._lock:
            if self._duration >= 1.0:
                return self._bytes / self._duration
        return self.camera.nominal_bytes_per_second

    # -- the recording thread ----------------------------------------------

    def _run(self) -> None:
        muxer: FragmentedMp4Muxer | None = None
        try:
            muxer = FragmentedMp4Muxer(
                self.camera.video, self.camera.audio, self._seal_init, self._add_fragment
            )
            video_end: float | None = None
            video_start: float | None = None
            for packet in self.camera.packets():
                if packet.kind == "video":
                    video_end = packet.end_s
                    if video_start is None and packet.keyframe:
                        video_start = packet.start_s
                    if packet.keyframe and self._thumb_thread is None and video_start is not None:
                        self._thumbnail_from(packet.data, packet.start_s - video_start >= thumbnail.AFTER_S)
                elif video_end is not None and packet.start_s - video_end > self.picture_timeout_s:
                    raise CameraUnavailable(
                        f"the camera delivered no picture for {self.picture_timeout_s:g} s"
                    )
                muxer.add(packet)
            muxer.close()
            self._seal_pending()
            self._thumbnail_from(None, True)
            if not self._stop_requested:
                # The stream ended although nobody asked: the owner must learn
                # that the recording is over.
                self._fail(CameraUnavailable("recording stopped: the camera stopped delivering frames"))
        except CameraUnavailable as exc:
            # Keep what the camera delivered before it went away.
            self._finish_after_failure(muxer, exc)
        except OSError as exc:
            self._fail(_disk_error(exc, self._segments))
        except KitError as exc:
            self._fail(exc)
        except Exception as exc:  # anything else must still stop the camera and be reported
            log.exception("recorder failed")
            self._fail(RecordingFailed(f"recording stopped: {exc}"))

    def _finish_after_failure(self, muxer: FragmentedMp4Muxer | None, exc: CameraUnavailable) -> None:
        try:
            if muxer is not None:
                muxer.close()
            self._seal_pending()
            self._thumbnail_from(None, True)
        except OSError as write_error:
            self._fail(_disk_error(write_error, self._segments))
            return
        except Exception:
            log.exception("could not seal the last segment after a camera failure")
        self._fail(CameraUnavailable(f"recording stopped: {exc}"))

    def _fail(self, error: KitError) -> None:
        with self._lock:
            self._error = error
            tell = self._started
        self._ready.set()
        try:
            self.camera.stop()
        except Exception:
            log.exception("camera did not stop cleanly")
        log.warning("%s", error)
        if tell and self._on_error is not None:
            try:
                self._on_error(error)
            except Exception:
                log.exception("on_error callback failed")

    def _thumbnail_from(self, keyframe: bytes | None, now: bool) -> None:
        """Keep the first keyframe; make the thumbnail from the first one
        ``AFTER_S`` in (or, when the recording ends sooner, from the first)."""
        if self._thumb_thread is not None:
            return
        if keyframe is not None and self._thumb_source is None:
            self._thumb_source = keyframe
        if not now:
            return
        source = keyframe if keyframe is not None else self._thumb_source
        if source is None:
            return
        projection = getattr(self.camera.video, "projection", "flat")
        directory, recipients = self._directory, self._recipients

        def make() -> None:
            try:
                thumbnail.seal_thumbnail(directory, source, recipients, projection)
            except (ValueError, OSError) as exc:
                # The lesson matters more than its picture in Opnames.
                log.warning("no thumbnail for this recording: %s", exc)

        # Decoding a 4K keyframe takes a while on a Pi: not on the recording thread.
        self._thumb_thread = threading.Thread(target=make, name="thumbnail", daemon=True)
        self._thumb_thread.start()

    def _seal_init(self, data: bytes) -> None:
        size = write_sealed(self._directory, segment_name(0), [data], self._recipients)
        with self._lock:
            self._bytes += size
        self._ready.set()
        self._announce(SealedSegment(0, self._directory / segment_name(0), 0.0, 0.0, size))

    def _add_fragment(self, fragment: Fragment) -> None:
        self._pending.append(fragment)
        # Half a frame of slack so a 2.0 s GOP counts as a full segment.
        slack = 0.5 / max(1, self.camera.video.fps)
        if sum(f.duration_s for f in self._pending) >= self.segment_seconds - slack:
            self._seal_pending()

    def _seal_pending(self) -> None:
        if not self._pending:
            return
        fragments, self._pending = self._pending, []
        index = self._segments + 1
        name = segment_name(index)
        size = write_sealed(self._directory, name, [f.data for f in fragments], self._recipients)
        duration = sum(f.duration_s for f in fragments)
        with self._lock:
            self._segments = index
            self._duration = fragments[0].start_s + duration
            self._bytes += size
        self._announce(SealedSegment(index, self._directory / name, fragments[0].start_s, duration, size))

    def _announce(self, segment: SealedSegment) -> None:
        if self._on_segment is None:
            return
        try:
            self._on_segment(segment)
        except Exception:
            # The segment is safely on disk; a failing listener must not stop the camera.
            log.exception("on_segment callback failed for %s", segment.path.name)


def _disk_error(exc: OSError, sealed: int) -> KitError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return RecordingFailed(f"recording stopped: the disk is full ({sealed} segments kept)")
    return RecordingFailed(f"recording stopped: cannot write footage: {exc.strerror or exc} ({sealed} segments kept)")
