"""Sync with the school server as the review app shows it: one status line
for unlocked people and the admin (metadata only), a JSON fragment the page
polls while a sync runs, and the admin's "sync now"."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, redirect, url_for

from ui import sync_status, web
from ui.blueprints.library import DateFormatter
from ui.i18n import gettext as _

bp = Blueprint("sync", __name__)


def _allowed() -> bool:
    session = web.current_session()
    return session.unlocked or session.role == "admin"


def current() -> dict[str, Any]:
    """The sync status with its line of text in the page's language."""
    info = sync_status.read(current_app.config["DATA_DIR"], current_app.extensions.get("kit_controller"))
    state = info["state"]
    if state == "not_configured":
        text = _("Sync: not set up")
    elif state == "syncing":
        text = _("Syncing…")
    elif state == "done":
        text = _("Last sync at %(when)s", when=DateFormatter(g.locale)(info["at"] or "?"))
    elif state == "failed":
        text = _("Sync failed: %(why)s", why=info["error"])
    else:
        text = _("Not synced yet")
    return {**info, "text": text}


@bp.app_context_processor
def _sync_line() -> dict[str, Any]:
    # A callable, so only pages that show the line pay for reading it.
    return {"sync_line": current}


@bp.get("/api/sync-status")
def status() -> Any:
    if not _allowed():
        abort(401, description=_("Unlock first."))
    return jsonify(current())


@bp.post("/admin/sync-now")
@web.admin_required
def sync_now() -> Any:
    from sync.agent import config as sync_config
    from sync.agent.config import SyncPaths

    from ui.blueprints.admin import _page_with_error

    data_dir = current_app.config["DATA_DIR"]
    try:
        sync_config.load(SyncPaths(data_dir))
    except (sync_config.NotConfigured, KeyError, TypeError, ValueError):
        return _page_with_error(_("Sync is not set up on this kit: no school server has been configured."), 409)
    service = current_app.extensions.get("kit_sync")
    if service is None:
        return _page_with_error(_("The sync service is not running on this kit; it starts with kit run."), 503)
    service.trigger()
    return redirect(url_for("admin.index", done="sync"))
