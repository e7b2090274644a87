"""The coordinator's dashboard: kits, people, trajectories, sync and health.

Metadata only, behind a login. It shows counts and states, never a
recording's time, title or anything else that could point at a lesson's
content. Dutch by default, English with ``?lang=en`` (remembered in a cookie).

Logins are server-side (:mod:`.sessions`: logout ends them), failed ones are
throttled per address and per name (:mod:`.throttle`), ``next=`` only leads
to the dashboard's own pages (:mod:`.redirects`), and no response may be
stored by a browser or proxy (``Cache-Control: no-store``).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import math
import os
import secrets
from functools import wraps
from pathlib import Path

from babel.support import Translations
from flask import Flask, abort, g, redirect, render_template, request, session, url_for

from appliance.messages import load_translations

from .. import admin, db
from . import privacy, sessions
from .redirects import local_target
from .throttle import LoginThrottle
from ..layout import Layout

HERE = Path(__file__).parent
LOCALES = ("nl", "en")
LANG_COOKIE = "kit_server_lang"
STALE_DAYS = 14


def _translations() -> dict[str, Translations]:
    return load_translations(HERE / "translations", LOCALES)


def _secret_key(layout: Layout) -> bytes:
    path = layout.root / "dashboard.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return path.read_bytes()


def _age(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (dt.datetime.now(dt.timezone.utc) - when).total_seconds() / 86400


def _number(value) -> float | None:
    """A health figure as a number, or None (older rows were not type-checked)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def create_app(layout: Layout, throttle: LoginThrottle | None = None) -> Flask:
    app = Flask(__name__, root_path=str(HERE), instance_path=str(layout.root), template_folder="templates")
    app.config.update(SECRET_KEY=_secret_key(layout), SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict", PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=8))
    translations = _translations()
    throttle = throttle or LoginThrottle()

    def conn():
        if "db" not in g:
            g.db = db.connect(layout.db)
        return g.db

    @app.teardown_appcontext
    def _close(exc):
        c = g.pop("db", None)
        if c is not None:
            c.close()

    @app.before_request
    def _locale():
        wanted = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
        g.locale = wanted if wanted in LOCALES else "nl"
        g.translations = translations[g.locale]

    @app.before_request
    def _login():
        g.user = None
        login = sessions.load(conn(), session["sid"]) if "sid" in session else None
        if login:
            g.user = {"name": login["name"], "role": login["role"]}
            g.csrf = login["csrf"]
            return
        session.pop("sid", None)
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(16)
        g.csrf = session["csrf"]

    @app.after_request
    def _remember(response):
        if request.args.get("lang") in LOCALES:
            response.set_cookie(LANG_COOKIE, request.args["lang"], max_age=365 * 86400, samesite="Strict")
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self' 'unsafe-inline'"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def _helpers():
        return {"_": lambda m, **kw: (g.translations.gettext(m) % kw) if kw else g.translations.gettext(m),
                "locale": g.locale, "user": g.get("user"), "csrf": g.get("csrf")}

    def login_required(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not g.user:
                return redirect(url_for("login", next=request.path))
            return view(*args, **kwargs)
        return wrapper

    def check_csrf():
        if not hmac.compare_digest(str(request.form.get("csrf", "")), str(g.csrf)):
            abort(400)

    @app.route("/login", methods=["GET", "POST"])
    def login():
        error = wait = None
        if request.method == "POST":
            check_csrf()
            name = request.form.get("name", "")[:100]
            address = request.remote_addr or "?"
            wait = throttle.wait(address, name)
            if wait:
                # Refused before the password is looked at, and at once.
                response = app.make_response((render_template(
                    "login.html", minutes=math.ceil(wait / 60)), 429))
                response.headers["Retry-After"] = str(math.ceil(wait))
                return response
            row = conn().execute("SELECT name, role, password_hash FROM users WHERE name = ?", (name,)).fetchone()
            if row and admin.check_password(row["password_hash"], request.form.get("password", "")):
                session.clear()  # nothing from before the login carries over
                session["sid"], _ = sessions.start(conn(), row["name"])
                return redirect(local_target(request.args.get("next"), app.url_map.bind("")))
            throttle.failed(address, name)
            error = True
        return render_template("login.html", error=error), (401 if error else 200)

    @app.post("/logout")
    def logout():
        check_csrf()
        sessions.end(conn(), session.get("sid"))
        session.clear()
        return redirect(url_for("login"))

    @app.get("/")
    @login_required
    def kits():
        c = conn()
        rows = []
        for kit in c.execute("SELECT * FROM kits ORDER BY id"):
            health = json.loads(kit["health"]) if kit["health"] else {}
            total, free = _number(health.get("disk_total_bytes")), _number(health.get("disk_free_bytes"))
            quarantined = layout.quarantine / kit["id"]
            inbox = layout.inbox(kit["id"])
            age = _age(kit["last_sync_at"])
            rows.append({
                "id": kit["id"], "last_sync_at": kit["last_sync_at"], "applied_through": kit["applied_through"],
                "waiting": sum(1 for p in inbox.iterdir() if not p.name.startswith(".")) if inbox.is_dir() else 0,
                "quarantined": len(list(quarantined.glob("*.reason"))) if quarantined.is_dir() else 0,
                "disk_free_pct": round(100 * free / total) if total and free is not None else None,
                "temperature_c": _number(health.get("temperature_c")), "version": health.get("version"),
                "last_error": health.get("last_error"),
                "stale": age is None or age > STALE_DAYS,
            })
        return render_template("kits.html", kits=rows)

    @app.get("/people")
    @login_required
    def people():
        c = conn()
        rows = c.execute(
            "SELECT p.id, p.name, p.role, "
            "(SELECT group_concat(kit_id, ', ') FROM assignments a WHERE a.teacher_id = p.id OR a.coach_id = p.id) "
            "AS kits FROM people p ORDER BY p.role DESC, p.name").fetchall()
        return render_template("people.html", people=rows)

    @app.get("/trajectories")
    @login_required
    def trajectories():
        c = conn()
        names = {r["id"]: r["name"] for r in c.execute("SELECT id, name FROM people")}
        rows = c.execute("SELECT * FROM trajectories ORDER BY updated_at DESC").fetchall()
        per_teacher = c.execute(
            "SELECT teacher_id, COUNT(*) AS recordings, "
            "SUM(CASE WHEN state = 'deleted' THEN 1 ELSE 0 END) AS deleted, "
            "ROUND(SUM(COALESCE(duration_s, 0)) / 3600.0, 1) AS hours "
            "FROM recordings GROUP BY teacher_id ORDER BY teacher_id").fetchall()
        return render_template("trajectories.html", trajectories=rows, names=names, per_teacher=per_teacher)

    privacy.register(app, conn, login_required)  # /progress and /deletions
    return app
