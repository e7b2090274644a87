"""The review app's factory.

The app is handed its parts: ``kit run`` (``kit.run``) passes the one
``Catalogue`` of the process (with the clock whose trusted offset the kit
keeps), the recording controller and the sync service, and serves the result
through its own HTTPS listener (``kit.web_server``, cheroot). Tests may pass only a data directory: the factory then opens
the catalogue there itself, still one per app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, g, request
from werkzeug.exceptions import HTTPException

from appliance.catalogue import Catalogue
from appliance.paths import KitPaths
from ui import errors, i18n
from appliance.coding.annotations import AnnotationStore
from appliance.talk.jobs import TalkJobs
from ui.config import ReviewConfig
from ui.media import PlainSizes
from ui.session_store import SessionStore
from ui.signed import Signer
from ui.throttle import Throttle, ThrottlePolicy
from ui.unlock_gate import UnlockGate
from ui import audit_hook, request_limits, web


def create_app(
    controller: Any = None,
    data_dir: str | Path = "data",
    config: Any = None,
    *,
    catalogue: Catalogue | None = None,
    sync_service: Any = None,
    tls: Any = None,
    clock: Any = None,
) -> Flask:
    kit_config = ReviewConfig.from_any(config)
    data_dir = Path(data_dir)
    paths = KitPaths(data_dir)
    if catalogue is None:
        catalogue = getattr(controller, "catalogue", None) or Catalogue(paths.catalogue)
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(
        KIT=kit_config,
        DATA_DIR=data_dir,
        KIT_PATHS=paths,
        MAX_CONTENT_LENGTH=1024 * 1024,
        # Flask's own signed-cookie session is not used: the only cookie that
        # matters is the random session id set by ui.web.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=kit_config.secure_cookies,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    extra_clock = {"clock": clock} if clock else {}
    app.extensions["kit_controller"] = controller
    app.extensions["kit_sessions"] = SessionStore(
        kit_config.idle_timeout_s, kit_config.max_sessions, sweep_every_s=kit_config.sweep_every_s,
        max_per_owner=kit_config.max_sessions_per_client, **extra_clock
    )
    app.extensions["kit_throttle"] = Throttle(ThrottlePolicy(
        client_base_s=kit_config.throttle_base_s, client_max_s=kit_config.throttle_max_s,
        person_free=kit_config.throttle_person_free, person_base_s=kit_config.throttle_person_base_s,
        person_max_s=kit_config.throttle_person_max_s), **extra_clock)
    app.extensions["kit_unlock_gate"] = UnlockGate(kit_config.unlock_queue, kit_config.unlock_wait_s)
    app.extensions["kit_signer"] = Signer(**extra_clock)  # a new secret per process: see ui.signed
    app.extensions["kit_catalogue"] = catalogue
    app.extensions["kit_sync"] = sync_service
    app.extensions["kit_tls"] = tls  # appliance.tls.TlsStore: the certificate shown on Beheer
    app.extensions["kit_annotations"] = AnnotationStore(paths.recordings)
    app.extensions["kit_sizes"] = PlainSizes()
    app.extensions["kit_talk"] = TalkJobs(paths.talk, on_done=_share_talk(app, catalogue))
    app.extensions["kit_translations"] = i18n.load_translations(kit_config.locales)

    from ui.admin_account import AdminAccount

    app.extensions["kit_admin"] = AdminAccount(paths.admin_password)
    if kit_config.admin_password and not app.extensions["kit_admin"].is_set():
        app.extensions["kit_admin"].set_password(kit_config.admin_password)

    request_limits.install(app)
    _register_blueprints(app)
    audit_hook.install(app)
    _install_hooks(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from ui.blueprints import (admin, annotate, api, auth, consent, enrol, export, intervisie, key, library, live,
                               player, stats, sync, trajectory)

    for module in (auth, enrol, consent, key, library, player, live, annotate, stats, export, admin, api, sync,
                   trajectory, intervisie):
        app.register_blueprint(module.bp)


def _install_hooks(app: Flask) -> None:
    @app.before_request
    def _before() -> None:
        kit: ReviewConfig = app.config["KIT"]
        g.locale = i18n.choose_locale(kit.locales, kit.default_locale)
        g.translations = app.extensions["kit_translations"][g.locale]
        web.load_session()
        web.check_csrf()

    @app.after_request
    def _after(response: Any) -> Any:
        response = web.set_session_cookie(response)
        if request.args.get("lang") in app.config["KIT"].locales:
            response.set_cookie(i18n.LANG_COOKIE, request.args["lang"], httponly=True, samesite="Strict",
                                max_age=365 * 86400, secure=app.config["KIT"].secure_cookies)
        # No preload and no subdomains: an expired certificate must stay recoverable.
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; media-src 'self' blob:; worker-src 'self' blob:; img-src 'self' data:; "
            "style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        )
        if request.path.startswith(("/media/", "/api/", "/export/")) or web.current_session().unlocked:
            # Personal pages and decrypted media must not linger in a browser cache.
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        return errors.handle(exc)

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        return {
            "_": i18n.gettext,
            "ngettext": i18n.ngettext,
            "plural_template": i18n.plural_template,
            "session": g.get("kit_session"),
            "locale": g.get("locale", "nl"),
            "locales": app.config["KIT"].locales,
        }


def _share_talk(app: Flask, catalogue: Catalogue) -> Any:
    """After an on-demand talk analysis: the teacher's shared statistics (if
    she opted in) gain the talk and wait-time shares."""

    def done(recording_id: str, timeline: dict, identities: list) -> None:
        from appliance.coding.stats_sharing import StatsSharing
        from appliance.talk.measures import summary

        rec = catalogue.recording_view(recording_id)
        if rec is None:
            return
        sharing = app.extensions.get("kit_stats_sharing") or StatsSharing(catalogue)
        if not sharing.is_shared(recording_id):
            return
        doc = app.extensions["kit_annotations"].load(recording_id, identities)
        sharing.saved(recording_id, doc, rec.duration_s, summary(timeline, doc.get("codes", [])))

    return done

