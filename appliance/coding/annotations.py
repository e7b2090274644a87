"""The coding, clips and reflections of one recording.

Everything personal about a lesson that the review adds lives in ONE JSON
document per recording, age-encrypted to the recording's recipients
(teacher and coach) at ``DATA/recordings/<id>/annotations.json.age``. It is
written to ``.partial``, fsynced, renamed and the directory fsynced, so a
power cut leaves either the old or the new document, never half of one.
Changes are small operations (add a code, move a clip) applied under a
per-recording lock to the latest document, so a teacher and a coach
working at the same time do not overwrite each other.
"""

from __future__ import annotations

import json
import secrets
import threading
from copy import deepcopy
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from appliance import age
from appliance.sealed import write_sealed_json

FILENAME = "annotations.json.age"
KINDS = ("instruction", "question", "feedback")
VALENCES = ("positive", "negative")
LEVELS = ("content", "strategy", "modus", "personal")
CLIP_KINDS = ("pearl", "puzzle")
GRID_ROWS = ("teacher", "pupils")
GRID_COLS = ("want", "feel", "think", "do")
MAX_TEXT = 10_000
MAX_ITEMS = 5_000


class AnnotationError(ValueError):
    """A change that does not fit the document (shown to the user as-is)."""


#: What names a lesson (personal: only in this sealed document, never synced), at most 200 characters each.
LESSON_FIELDS = ("title", "class", "subject")
MAX_LESSON_FIELD = 200


def empty_document(recording_id: str) -> dict[str, Any]:
    return {
        "version": 1,
        "recording_id": recording_id,
        "title": "",
        "class": "",
        "subject": "",
        "learning_question": "",
        "notes": "",
        "codes": [],
        "clips": [],
        "updated_at": None,
    }


def _time(value: Any, name: str, duration_s: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AnnotationError(f"{name} must be a number of seconds")
    value = float(value)
    if not (value >= 0) or value != value or value > 1e7:
        raise AnnotationError(f"{name} must be between 0 and the end of the recording")
    if duration_s and value > duration_s + 5:
        raise AnnotationError(f"{name} is past the end of the recording")
    return round(value, 3)


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AnnotationError(f"{name} must be text")
    if len(value) > MAX_TEXT:
        raise AnnotationError(f"{name} is too long (at most {MAX_TEXT} characters)")
    return value


def make_code(data: Any, duration_s: float | None = None) -> dict[str, Any]:
    """A validated intervention code.

    >>> make_code({"t": 3, "kind": "question", "category": 2})["category"]
    2
    >>> make_code({"t": 3, "kind": "feedback", "valence": "positive", "level": "strategy"})["level"]
    'strategy'
    """
    if not isinstance(data, dict):
        raise AnnotationError("a code must be an object")
    kind = data.get("kind")
    if kind not in KINDS:
        raise AnnotationError("kind must be instruction, question or feedback")
    code: dict[str, Any] = {"id": "c-" + secrets.token_hex(6), "t": _time(data.get("t"), "t", duration_s), "kind": kind}
    if kind == "question":
        category = data.get("category")
        if category not in (1, 2, 3) or isinstance(category, bool):
            raise AnnotationError("a question needs category 1, 2 or 3")
        code["category"] = category
    if kind == "feedback":
        if data.get("valence") not in VALENCES:
            raise AnnotationError("feedback needs valence positive or negative")
        level = data.get("level", "content")
        if level not in LEVELS:
            raise AnnotationError("level must be content, strategy, modus or personal")
        progress = data.get("progress", False)
        if not isinstance(progress, bool):
            raise AnnotationError("progress must be true or false")
        code.update(valence=data["valence"], level=level, progress=progress)
    return code


def make_grid(data: Any) -> dict[str, dict[str, str]]:
    grid = {row: {col: "" for col in GRID_COLS} for row in GRID_ROWS}
    if data is None:
        return grid
    if not isinstance(data, dict):
        raise AnnotationError("reflection must be an object")
    for row, cols in data.items():
        if row not in GRID_ROWS or not isinstance(cols, dict):
            raise AnnotationError("reflection rows are teacher and pupils")
        for col, text in cols.items():
            if col not in GRID_COLS:
                raise AnnotationError("reflection columns are want, feel, think and do")
            grid[row][col] = _text(text, f"reflection {row}/{col}")
    return grid


#: (low, high) in degrees of a 360° clip's view: compass direction, height, field of view.
VIEW_RANGES = {"yaw": (-180.0, 180.0), "pitch": (-90.0, 90.0), "fov": (30.0, 120.0)}


def make_view(data: Any) -> dict[str, float] | None:
    """Where a 360° clip looks at its in point, or None (a flat clip, or not chosen).

    >>> make_view({"yaw": 91.23456, "pitch": -10, "fov": 75})
    {'yaw': 91.235, 'pitch': -10.0, 'fov': 75.0}
    >>> make_view({"yaw": 200, "pitch": 0, "fov": 75})
    Traceback (most recent call last):
    ...
    appliance.coding.annotations.AnnotationError: view yaw must be between -180 and 180 degrees
    """
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) != set(VIEW_RANGES):
        raise AnnotationError("a view has yaw, pitch and fov (degrees)")
    view = {}
    for name, (low, high) in VIEW_RANGES.items():
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise AnnotationError(f"view {name} must be between {low:g} and {high:g} degrees")
        view[name] = round(float(value), 3)
    return view


VOICES = ("near", "far")


def make_voice_correction(data: Any) -> dict[str, Any]:
    """A coach's correction of one talk segment: who really speaks in the
    segment that starts at ``start_s`` (the analysis guessed near or far).

    >>> make_voice_correction({"start_s": 12.3456, "voice": "far"})
    {'start_s': 12.346, 'voice': 'far'}
    """
    if not isinstance(data, dict):
        raise AnnotationError("a correction is an object with start_s and voice")
    voice = data.get("voice")
    if voice not in VOICES:
        raise AnnotationError("voice must be near (the teacher) or far (pupils)")
    return {"start_s": _time(data.get("start_s"), "start_s", None), "voice": voice}


def make_clip(data: Any, duration_s: float | None = None, clip_id: str | None = None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise AnnotationError("a clip must be an object")
    start = _time(data.get("in"), "in", duration_s)
    end = _time(data.get("out"), "out", duration_s)
    if end <= start:
        raise AnnotationError("a clip's out point must come after its in point")
    if data.get("kind") not in CLIP_KINDS:
        raise AnnotationError("a clip is a pearl or a puzzle")
    return {
        "id": clip_id or "k-" + secrets.token_hex(6),
        "in": start,
        "out": end,
        "kind": data["kind"],
        "title": _text(data.get("title"), "title")[:200],
        "reflection": make_grid(data.get("reflection")),
        "view": make_view(data.get("view")),
    }


def validate_document(doc: Any, recording_id: str) -> dict[str, Any]:
    """Check a decrypted document's shape (a damaged one must not crash pages)."""
    if not isinstance(doc, dict) or doc.get("recording_id") != recording_id:
        raise AnnotationError("the annotations belong to another recording")
    out = empty_document(recording_id)
    for key in LESSON_FIELDS:
        out[key] = _text(doc.get(key), key)[:MAX_LESSON_FIELD]
    out["learning_question"] = _text(doc.get("learning_question"), "learning question")
    out["notes"] = _text(doc.get("notes"), "notes")
    out["updated_at"] = doc.get("updated_at")
    for code in doc.get("codes", []):
        kept = make_code(code)
        kept["id"] = str(code.get("id", kept["id"]))
        out["codes"].append(kept)
    for clip in doc.get("clips", []):
        out["clips"].append(make_clip(clip, clip_id=str(clip.get("id", "")) or None))
    corrections = [make_voice_correction(c) for c in doc.get("talk_corrections", []) or []]
    if corrections:
        out["talk_corrections"] = corrections
    return out


class AnnotationStore:
    def __init__(self, recordings_dir: Path) -> None:
        self.recordings_dir = Path(recordings_dir)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def path(self, recording_id: str) -> Path:
        return self.recordings_dir / recording_id / FILENAME

    def _lock(self, recording_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(recording_id, threading.Lock())

    def load(self, recording_id: str, identities: list[Any]) -> dict[str, Any]:
        path = self.path(recording_id)
        if not path.exists():
            return empty_document(recording_id)
        with path.open("rb") as f:
            plain = age.Decryptor(f, identities).read()
        try:
            doc = json.loads(plain.decode("utf-8"))
        except ValueError as exc:
            raise AnnotationError("the annotations file is damaged") from exc
        return validate_document(doc, recording_id)

    def update(
        self,
        recording_id: str,
        identities: list[Any],
        recipients: list[str],
        change: Callable[[dict[str, Any]], Any],
        after_save: Callable[[dict[str, Any]], None] | None = None,
    ) -> tuple[dict[str, Any], Any]:
        """Apply ``change`` to the latest document and save it; returns (doc, result).

        ``after_save(doc)`` runs once the document is on disk, still under the
        recording's lock, so what it derives (shared statistics) follows the
        saves in order.
        """
        with self._lock(recording_id):
            doc = self.load(recording_id, identities)
            draft = deepcopy(doc)
            result = change(draft)
            if len(draft["codes"]) > MAX_ITEMS or len(draft["clips"]) > MAX_ITEMS:
                raise AnnotationError("too many annotations in one recording")
            draft["updated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self._save(recording_id, draft, recipients)
            if after_save is not None:
                after_save(draft)
            return draft, result

    def read_locked(self, recording_id: str, identities: list[Any],
                    use: Callable[[dict[str, Any]], Any]) -> Any:
        """``use(doc)`` on the latest document with no save running meanwhile."""
        with self._lock(recording_id):
            return use(self.load(recording_id, identities))

    def _save(self, recording_id: str, doc: dict[str, Any], recipients: list[str]) -> None:
        if not recipients:
            raise AnnotationError("the recording has no recipients to encrypt to")
        write_sealed_json(self.path(recording_id), doc, recipients)
