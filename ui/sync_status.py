"""The sync line the review app shows: syncing / last sync / failed / not set up.

It reads what the sync agent keeps in ``DATA/sync/`` (``status.json``,
``state.json``, the lock a running sync holds) through
``sync.agent.service.status``, so it also sees a ``kit sync --once`` started
by NetworkManager in another process. The controller's ``status()["sync"]``
(what drives the green LED) adds the moment between the service deciding to
sync and the agent writing its first status.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

STATES = ("not_configured", "never", "syncing", "done", "failed")


def read(data_dir: Path, controller: Any = None) -> dict[str, Any]:
    """``{"state", "at", "error", "pending_batches"}`` — metadata only.

    ``state`` is one of :data:`STATES`; ``at`` is an ISO UTC time or None.
    """
    from sync.agent.service import status, sync_running

    try:
        st = status(Path(data_dir))
    except (OSError, ValueError) as exc:
        return {"state": "failed", "at": None, "error": f"sync status unreadable: {exc}", "pending_batches": 0}
    phase = (st.get("status") or {}).get("phase", "never")
    at = (st.get("status") or {}).get("at")
    out: dict[str, Any] = {"state": "never", "at": None, "error": None,
                           "pending_batches": int(st.get("pending_batches") or 0)}
    led = _controller_sync(controller)
    if not st.get("configured"):
        out["state"] = "not_configured"
    elif sync_running(Path(data_dir)) or led == "syncing":
        out["state"] = "syncing"
    elif phase == "syncing":
        # status.json says syncing but nobody holds the lock: that sync died.
        out.update(state="failed", at=at, error=st.get("last_error") or "the last sync was cut off")
    elif phase == "failed":
        out.update(state="failed", at=at,
                   error=(st.get("status") or {}).get("error") or st.get("last_error") or "unknown error")
    elif phase == "done":
        out.update(state="done", at=at or st.get("last_success_at"))
    if out["error"]:
        out["error"] = " ".join(str(out["error"]).split())[:200]  # one line, short
    return out


def _controller_sync(controller: Any) -> str | None:
    if controller is None:
        return None
    try:
        return controller.status().get("sync")
    except Exception:  # a controller in trouble must not take the page down
        return None
