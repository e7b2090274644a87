"""A lesson's title, class and subject for Opnames, out of its sealed annotations.

They are personal, so they live only in the recording's encrypted document;
the list page opens each document once and keeps the three words in this
process's memory until the document changes (its modification time), so
showing a thousand recordings does not decrypt a thousand files on every
visit. Only recordings the session may open are ever asked for.
"""

from __future__ import annotations

import threading
from typing import Any

from appliance.coding.annotations import AnnotationStore

_cache: dict[str, tuple[int, tuple[str, str, str]]] = {}
_lock = threading.Lock()
MAX_CACHED = 5000


def labels(store: AnnotationStore, recording_ids: list[str], identities: list[Any]) -> dict[str, tuple[str, str, str]]:
    out: dict[str, tuple[str, str, str]] = {}
    for rid in recording_ids:
        path = store.path(rid)
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            continue  # nothing written for this lesson yet
        with _lock:
            hit = _cache.get(rid)
        if hit is not None and hit[0] == stamp:
            out[rid] = hit[1]
            continue
        try:
            doc = store.load(rid, identities)
        except Exception:  # a damaged or foreign document: the list shows the lesson without words
            continue
        words = (doc.get("title", ""), doc.get("class", ""), doc.get("subject", ""))
        with _lock:
            if len(_cache) >= MAX_CACHED:
                _cache.clear()
            _cache[rid] = (stamp, words)
        out[rid] = words
    return out
