"""The kit's state machine: idle, recording, or cannot record (and why).

One instance is shared by the button thread, the review app's worker
threads and the control socket; every transition takes one lock, and
``status()`` never waits for a transition to finish.
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from pathlib import Path
from typing import Any, Callable

from appliance.camera import CameraUnavailable
from appliance.catalogue import Catalogue, NoAssignment
from appliance.config import KitConfig
from appliance.consent import Consents, NoConsent
from appliance.errors import KitError
from appliance.footage.store import sealed_sizes

from .storage import DiskLow, StorageGuard

log = logging.getLogger("kit.controller")
# Kit-internal (never synced): the byte rate the last recording measured, for minutes-left while idle.
MEASURED_RATE_KEY = "recorder.bytes_per_second"
MEASURED_RATE_MIN_S = 2.0

REASONS = {
    "no_assignment": "no teacher and coach assigned (kit assign --teacher NAME --coach NAME)",
    "disk_low": "disk low: less than {minutes:g} minutes of recording space left",
    "no_camera": "no camera",
}


class CannotRecord(KitError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"cannot record: {message}")
        self.reason = reason


class NotRecording(KitError):
    def __init__(self, what: str) -> None:
        super().__init__(f"not recording: nothing to {what}")


def _default_recorder_factory(camera: Any, segment_seconds: float) -> Any:
    from appliance.footage.recorder import SegmentRecorder

    return SegmentRecorder(camera, segment_seconds=segment_seconds)


def _parse_recipients(recipients: list[str]) -> list[Any]:
    from appliance import age

    return [age.parse_recipient(r) for r in recipients]


class KitController:
    def __init__(
        self,
        config: KitConfig,
        catalogue: Catalogue,
        camera: Any | None,
        controls: Any | None = None,
        *,
        recorder_factory: Callable[[Any, float], Any] = _default_recorder_factory,
        storage: StorageGuard | None = None,
        on_shutdown: Callable[[], None] | None = None,
        talk_factory: Callable[[], Any] | None = None,
    ) -> None:
        """``talk_factory``: makes a ``LiveTalk`` per recording, fed the raw
        audio through the camera's ``audio_tap``; its timeline is sealed next
        to the recording when it ends (None: no talk analysis while recording)."""
        self.config = config
        self.catalogue = catalogue
        self.consents = Consents(catalogue)
        self.camera = camera
        self.controls = controls
        self.storage = storage or StorageGuard(
            config.data_dir,
            min_minutes=config.min_minutes_left,
            reserve_bytes=config.reserve_bytes,
            stop_margin_s=config.segment_seconds * config.stop_margin_segments,
        )
        self._recorder_factory = recorder_factory
        self._on_shutdown = on_shutdown
        self._talk_factory = talk_factory
        self._talk: tuple[str, Any, list[str]] | None = None
        self._transition = threading.RLock()
        self._recorder: Any | None = None
        self._recording_id: str | None = None
        self._started_mono: float | None = None
        self._camera_error: str | None = None
        self._error: str | None = None
        self._last_stop: str | None = None
        self._syncing = False
        self._sync_state: str | None = None
        self.shutdown_requested = threading.Event()
        if controls is not None:
            controls.bind(short_press=self._button_short, hold_stop=self._button_hold_stop,
                          hold_shutdown=self._button_hold_shutdown)
            controls.set_recording(False)
        self.refresh()

    # -- what the kit can do now ---------------------------------------------

    def _bytes_per_second(self) -> float:
        """The rate minutes-left is counted in: measured while recording; idle, what the last
        recording measured (so the figure does not jump when a recording starts); else nominal."""
        recorder = self._recorder
        if recorder is not None:
            measured = getattr(recorder, "bytes_per_second", None)
            if measured:
                return float(measured)
        remembered = self.catalogue.get_setting(MEASURED_RATE_KEY)
        if isinstance(remembered, (int, float)) and not isinstance(remembered, bool) and remembered > 0:
            return float(remembered)
        nominal = getattr(self.camera, "nominal_bytes_per_second", None)
        return float(nominal or self.config.estimated_bytes_per_second)

    def _remember_rate(self, recorder: Any) -> None:
        done = getattr(recorder, "summary", None)  # SegmentRecorder.summary: what was sealed
        if done is not None and done.duration_s >= MEASURED_RATE_MIN_S and done.bytes > 0:
            self.catalogue.set_setting(MEASURED_RATE_KEY, round(done.bytes / done.duration_s, 1), emit=False)

    def _problem(self) -> tuple[str, str] | None:
        """Why the kit cannot start a recording now, or None."""
        if self.camera is None:
            return "no_camera", REASONS["no_camera"]
        if self._camera_error:
            return "no_camera", f"{REASONS['no_camera']} ({self._camera_error})"
        assignment = self.catalogue.get_assignment()
        if assignment is None:
            return "no_assignment", REASONS["no_assignment"]
        why = self.consents.problem(assignment["teacher"]["id"], assignment["coach"]["id"])
        if why:
            return "no_consent", why
        if not self.storage.can_start(self._bytes_per_second()):
            return "disk_low", REASONS["disk_low"].format(minutes=self.storage.min_minutes)
        return None

    def status(self) -> dict:
        recording_id = self._recording_id
        started = self._started_mono
        state, reason, message = "idle", None, None
        if recording_id is not None:
            state = "recording"
        else:
            problem = self._problem()
            if problem:
                state, (reason, message) = "cannot_record", problem
        assignment = self.catalogue.get_assignment()
        elapsed = None
        if recording_id is not None and started is not None:
            elapsed = round(self.catalogue.clock.monotonic() - started, 3)
        return {
            "state": state,
            "reason": reason,
            "message": message,
            "recording_id": recording_id,
            "elapsed_s": elapsed,
            "minutes_left": round(self.storage.minutes_left(self._bytes_per_second()), 1),
            "teacher": assignment["teacher"]["name"] if assignment else None,
            "coach": assignment["coach"]["name"] if assignment else None,
            "error": self._error,
            "last_stop": self._last_stop,
            "sync": self._sync_state,
            "clock_trusted": self.catalogue.clock.trusted,
            "led": self.controls.pattern if self.controls is not None else None,
        }

    def refresh(self) -> None:
        """Bring the LEDs in line with the state (also called periodically)."""
        if self.controls is None:
            return
        recording = self._recording_id is not None
        self.controls.set_recording(recording)
        if recording:
            self.controls.show("recording")
        elif self._error:
            self.controls.show("error")
        elif problem := self._problem():
            self.controls.show(problem[0])
        elif self._syncing:
            self.controls.show("syncing")
        else:
            self.controls.show("ready")

    # -- transitions ---------------------------------------------------------

    def start_recording(self, source: str = "cli") -> str:
        with self._transition:
            if self._recording_id is not None:
                raise CannotRecord("recording", f"already recording ({self._recording_id})")
            self._error = None
            problem = self._problem()
            if problem and problem[0] == "no_camera" and self.camera is not None:
                problem = None  # the camera may be back: try it
            if problem:
                self.refresh()
                raise CannotRecord(*problem)
            try:
                assignment = self.catalogue.require_assignment()
                self.storage.check_start(self._bytes_per_second())
            except NoAssignment:
                self.refresh()
                raise CannotRecord("no_assignment", REASONS["no_assignment"]) from None
            except DiskLow as exc:
                self.refresh()
                raise CannotRecord("disk_low", str(exc)) from None
            try:
                # Only what the teacher and the coach signed, checked now: never
                # whatever the people table says at this moment.
                recipients = self.consents.recipients(assignment["teacher"]["id"], assignment["coach"]["id"])
            except NoConsent as exc:
                self.refresh()
                raise CannotRecord("no_consent", str(exc).removeprefix("cannot record: ")) from None
            parsed = _parse_recipients(recipients)
            row = self.catalogue.create_recording(
                assignment["teacher"]["id"], assignment["coach"]["id"], recipients,
                projection=getattr(getattr(self.camera, "video", None), "projection", "flat"),
            )
            recording_id = row["id"]
            directory = self.recording_dir(recording_id)
            directory.mkdir(parents=True, exist_ok=True)
            recorder = self._recorder_factory(self.camera, self.config.segment_seconds)
            self._start_talk(recording_id, recipients)
            try:
                recorder.start(
                    directory,
                    parsed,
                    on_segment=partial(self._on_segment, recording_id),
                    on_error=partial(self._on_error, recording_id),
                )
            except Exception as exc:
                self._drop_talk()
                self._discard_failed_start(recording_id)
                message = self._note_failure(exc)
                self.refresh()
                log.error("recording %s could not start: %s", recording_id, message)
                reason = "no_camera" if isinstance(exc, CameraUnavailable) else "error"
                raise CannotRecord(reason, f"the camera did not start ({message})") from None
            self._camera_error = None
            self._recorder = recorder
            self._recording_id = recording_id
            # Offsets (bookmarks, elapsed) count from when the camera runs,
            # which is where the footage's own time starts.
            self._started_mono = self.catalogue.clock.monotonic()
            self._last_stop = None
            self.refresh()
            log.info("recording %s started (%s)", recording_id, source)
            return recording_id

    def stop_recording(self, reason: str = "stopped") -> dict:
        with self._transition:
            recording_id, recorder = self._recording_id, self._recorder
            if recording_id is None or recorder is None:
                raise NotRecording("stop")
            try:
                recorder.stop()
            except Exception as exc:  # the last segment could not be sealed
                log.error("recording %s: stopping failed: %s", recording_id, exc)
                row = self._mark_interrupted(recording_id)
                self._error = f"the end of the recording was lost ({exc})"
            else:
                try:
                    row = self.catalogue.finish_recording(recording_id)
                except Exception as exc:  # e.g. the disk is full: footage is sealed, the row waits
                    log.error("recording %s: catalogue not updated: %s", recording_id, exc)
                    self._error = f"the catalogue could not be updated ({exc})"
                    row = self._row_or_summary(recording_id)
            self._ended(reason)
            log.info("recording %s %s: %d segments, %.1f s", recording_id, reason,
                     row["segments"], row["duration_s"])
            return row

    def bookmark(self) -> dict:
        with self._transition:
            recording_id, started = self._recording_id, self._started_mono
            if recording_id is None or started is None:
                raise NotRecording("bookmark")
            offset = self.catalogue.clock.monotonic() - started
            bookmark_id = self.catalogue.add_bookmark(recording_id, offset)
        if self.controls is not None:
            self.controls.show("bookmark")
        return {"bookmark_id": bookmark_id, "recording_id": recording_id, "offset_s": round(offset, 3)}

    def settle(self) -> None:
        """Wait for a transition in progress (e.g. a stop begun by a button hold)."""
        with self._transition:
            pass

    def request_shutdown(self) -> None:
        log.warning("safe shutdown requested with the button")
        if self.controls is not None:
            self.controls.show("shutdown")
        self.shutdown_requested.set()
        if self._on_shutdown is not None:
            self._on_shutdown()

    def close(self) -> None:
        """Stop a running recording cleanly (daemon exit)."""
        if self._recording_id is not None:
            try:
                self.stop_recording(reason="stopped (kit shutting down)")
            except KitError:
                pass

    # -- recorder callbacks (recorder thread: never block on a transition) ---

    def _on_segment(self, recording_id: str, segment: Any) -> None:
        try:
            self.catalogue.add_segment(
                recording_id, segment.index, segment.start_s, segment.duration_s, segment.bytes
            )
        except Exception as exc:  # the file is sealed; recovery can still count it
            log.error("recording %s: segment %d not catalogued: %s", recording_id, segment.index, exc)
        if segment.index > 0 and self.storage.must_stop(self._bytes_per_second()):
            log.warning("recording %s: disk nearly full, stopping", recording_id)
            self._in_background(self._stop_if_current, recording_id, "stopped: disk full")

    def _on_error(self, recording_id: str, error: BaseException) -> None:
        log.error("recording %s failed: %s", recording_id, error)
        self._in_background(self._fail_if_current, recording_id, error)

    def _stop_if_current(self, recording_id: str, reason: str) -> None:
        with self._transition:
            if self._recording_id == recording_id:
                self.stop_recording(reason=reason)

    def _fail_if_current(self, recording_id: str, error: BaseException) -> None:
        with self._transition:
            if self._recording_id != recording_id:
                return
            recorder = self._recorder
            try:
                if recorder is not None:
                    recorder.stop()
            except Exception:
                pass
            self._mark_interrupted(recording_id)
            message = self._note_failure(error)
            self._ended(f"failed: {message}")

    def _note_failure(self, error: BaseException) -> str:
        """Remember why recording failed: a camera problem or another error (LEDs, status)."""
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        if isinstance(error, CameraUnavailable):
            self._camera_error = message
        else:
            self._error = message
        return message

    def _ended(self, last_stop: str) -> None:
        """The one way a recording ends: back to idle, LEDs follow."""
        self._finish_talk()
        if self._recorder is not None:
            try:
                self._remember_rate(self._recorder)
            except Exception:  # a figure for the status line must never keep a recording from ending
                log.exception("could not remember the recording's byte rate")
        self._recorder = None
        self._recording_id = None
        self._started_mono = None
        self._last_stop = last_stop
        self.refresh()

    # -- talk time while recording ------------------------------------------

    def _start_talk(self, recording_id: str, recipients: list[str]) -> None:
        if self._talk_factory is None or self.camera is None:
            return
        try:
            live = self._talk_factory()
        except Exception as exc:  # no talk time, but the recording goes on
            log.warning("talk time not measured while recording: %s", exc)
            return
        self._talk = (recording_id, live, list(recipients))
        self.camera.audio_tap = live.feed

    def _drop_talk(self) -> None:
        if self.camera is not None:
            self.camera.audio_tap = None
        talk, self._talk = self._talk, None
        if talk is not None:
            self._in_background(talk[1].finish, 60)

    def _finish_talk(self) -> None:
        """Seal the live timeline on a background thread (never holds up a stop)."""
        if self.camera is not None:
            self.camera.audio_tap = None
        talk, self._talk = self._talk, None
        if talk is None:
            return
        recording_id, live, recipients = talk
        path = self.config.paths.talk(recording_id)

        def seal() -> None:
            from appliance.sealed import write_sealed_json

            try:
                timeline = live.finish(3600)
                timeline["recording_id"] = recording_id
                if path.parent.is_dir():
                    write_sealed_json(path, timeline, recipients)
            except Exception as exc:  # the footage is safe; talk time can be measured on demand
                log.warning("talk time of %s not sealed: %s", recording_id, exc)

        self._in_background(seal)

    def _mark_interrupted(self, recording_id: str) -> dict:
        """Best effort: if even the catalogue cannot be written (disk full), the
        next start of the kit reconciles it from the sealed files."""
        try:
            return self.catalogue.mark_interrupted(
                recording_id, sealed_sizes(self.recording_dir(recording_id)),
                self.config.segment_seconds,
            )
        except Exception as exc:
            log.error("recording %s: could not mark it interrupted: %s", recording_id, exc)
            return self._row_or_summary(recording_id)

    def _discard_failed_start(self, recording_id: str) -> None:
        """A start that sealed no media leaves no empty recording behind."""
        directory = self.recording_dir(recording_id)
        if any(idx > 0 for idx, _ in sealed_sizes(directory)):
            self._mark_interrupted(recording_id)
            return
        try:
            self.catalogue.discard_recording(recording_id)
        except Exception as exc:
            log.error("recording %s: could not discard the failed start: %s", recording_id, exc)
            return
        for path in directory.glob("*"):
            path.unlink(missing_ok=True)
        try:
            directory.rmdir()
        except OSError:
            pass

    def _row_or_summary(self, recording_id: str) -> dict:
        try:
            row = self.catalogue.get_recording(recording_id)
        except Exception:
            row = None
        if row is not None:
            return row
        sizes = sealed_sizes(self.recording_dir(recording_id))
        return {"id": recording_id, "state": "recording", "segments": max(0, len(sizes) - 1),
                "bytes": sum(size for _, size in sizes), "duration_s": 0.0}

    @staticmethod
    def _in_background(target: Callable[..., None], *args: Any) -> None:
        threading.Thread(target=target, args=args, name="kit-transition", daemon=True).start()

    # -- buttons ---------------------------------------------------------------

    def _button_short(self) -> None:
        try:
            if self._recording_id is not None:
                self.bookmark()
            else:
                self.start_recording(source="button")
        except KitError as exc:
            log.warning("button: %s", exc)

    def _button_hold_stop(self) -> bool:
        if self._recording_id is None:
            return False
        try:
            self.stop_recording()
        except KitError as exc:
            log.warning("button: %s", exc)
        return True

    def _button_hold_shutdown(self) -> None:
        if self._recording_id is None:
            self.request_shutdown()

    # -- sync status (green LED) -------------------------------------------------

    def on_sync_status(self, status: str, *_: Any) -> None:
        self._sync_state = status
        self._syncing = status == "syncing"
        if self.controls is not None and self._recording_id is None:
            if status == "done":
                self.controls.show("sync_done")
            elif status == "failed":
                self.controls.show("sync_failed")
        self.refresh()

    def recording_dir(self, recording_id: str) -> Path:
        return self.config.paths.recording(recording_id)
