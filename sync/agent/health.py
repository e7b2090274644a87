"""Kit health as an outbox event: disk, temperature, version, last error.

Emitted only when something changed noticeably (disk in 1 % steps,
temperature in 5 °C steps) or a day has passed, so that a sync with nothing
new sends nothing new.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

THERMAL_ROOT = Path("/sys/class/thermal")
_PATHLIKE = re.compile(r"(/[^\s'\"]+)+")


def temperature_c(root: Path = THERMAL_ROOT) -> float | None:
    """The first thermal zone's temperature, or None where there is none."""
    for zone in sorted(root.glob("thermal_zone*")):
        try:
            return round(int((zone / "temp").read_text().strip()) / 1000.0, 1)
        except (OSError, ValueError):
            continue
    return None


def scrub(message: str | None) -> str | None:
    """An error message without file paths, short enough to travel."""
    if not message:
        return None
    return _PATHLIKE.sub("…", message)[:200]


def snapshot(data_dir: Path, last_error: str | None, recordings: int | None) -> dict:
    from appliance import __version__

    usage = shutil.disk_usage(data_dir)
    return {
        "disk_total_bytes": usage.total,
        "disk_free_bytes": usage.free,
        "temperature_c": temperature_c(),
        "version": __version__,
        "last_error": scrub(last_error),
        "recordings": recordings,
    }


def _fingerprint(h: dict) -> list:
    total = h["disk_total_bytes"] or 1
    temp = h["temperature_c"]
    return [round(100 * h["disk_free_bytes"] / total), None if temp is None else round(temp / 5),
            h["version"], h["last_error"], h["recordings"]]


def maybe_emit(catalogue, data_dir: Path, state: dict, *, max_age_s: float = 86400) -> bool:
    """Queue a ``kit.health`` event if it differs from the last one sent."""
    try:
        count = catalogue.query_one("SELECT COUNT(*) AS n FROM recordings")["n"]
    except Exception:
        count = None
    h = snapshot(data_dir, state.get("last_error"), count)
    now = dt.datetime.now(dt.timezone.utc)
    last = state.get("last_health") or {}
    fresh = last.get("at") and (now - dt.datetime.fromisoformat(last["at"])).total_seconds() < max_age_s
    if fresh and last.get("fingerprint") == _fingerprint(h):
        return False
    with catalogue.transaction():
        catalogue.emit("kit.health", h)
    state["last_health"] = {"at": now.isoformat(), "fingerprint": _fingerprint(h)}
    return True
