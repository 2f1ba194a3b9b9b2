"""``create_app``: defaults → environment → the mapping given; extensions, doors, plugins."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider
from sqlalchemy import event, make_url
from werkzeug.middleware.proxy_fix import ProxyFix

from hub import commands, egress, errors_http, jobs, keycheck, logs, queue, security, sessions
from hub import config as hub_config
from hub.extensions import db, migrate
from hub.plugins import build_plugin_manager


def create_app(config: dict[str, Any] | None = None) -> Flask:
    hub_config.load_dotenv_file()
    settings = {**hub_config.DEFAULTS, **hub_config.from_environ(), **(config or {})}
    instance_path = os.path.abspath(settings.get("HUB_INSTANCE_PATH") or hub_config.default_instance_path())
    app = Flask("hub", instance_path=instance_path, instance_relative_config=True)
    app.config.update(hub_config.resolve(settings, app.instance_path))
    egress.check_settings(app.config)
    app.config.update(
        SECRET_KEY=app.config["HUB_SECRET_KEY"],
        SQLALCHEMY_DATABASE_URI=app.config["HUB_DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(str(app.config["HUB_DATABASE_URL"])),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,  # a hard stop; the routes answer 413 at 1 MiB themselves
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=str(app.config["HUB_BASE_URL"]).startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as the session it belongs to
        WTF_CSRF_SSL_STRICT=False,  # the same-origin check in hub.security knows HUB_BASE_URL
    )
    app.session_interface = sessions.CookieSessions()
    if isinstance(app.json, DefaultJSONProvider):
        app.json.sort_keys = False  # answers keep the order the code builds
    if app.config["HUB_PROXY_FIX"] > 0:  # trust that many proxies' X-Forwarded-For/-Proto/-Host/-Port/-Prefix
        hops = app.config["HUB_PROXY_FIX"]
        # Flask's documented way to add WSGI middleware (mypy forbids assigning to a method).
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    logs.configure(app.config["HUB_LOG_LEVEL"], app.config["HUB_LOG_JSON"])

    import hub.models  # noqa: F401  (registers the tables)

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), compare_type=True,
                     render_as_batch=True)
    queue.init_app(app)
    jobs.init_app(app)
    app.extensions["hub"] = plugins = build_plugin_manager(app.config)
    declared = [setting for _, setting in plugins.settings()]
    app.config.update(hub_config.plugin_settings(declared, config))  # given, else environment, else default

    from hub import webhooks
    from hub.api import bp as api_bp
    from hub.api.sdk import bp as sdk_bp
    from hub.web import bp as web_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(sdk_bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(web_bp)
    security.init_app(app, exempt=(api_bp, sdk_bp, webhooks.bp))
    errors_http.init_app(app)

    @app.before_request
    def _bind_request() -> None:
        logs.clear()
        g.request_id = request.headers.get("X-Request-Id") or os.urandom(16).hex()  # uuid4 costs 8x
        logs.bind(request_id=g.request_id)

    @app.after_request
    def _request_id(response: Any) -> Any:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    @app.teardown_request
    def _unbind_request(_error: BaseException | None) -> None:
        logs.clear()  # what the thread logs next is not this request's

    commands.init_app(app)
    keycheck.verify_keys(app)
    return app


def _engine_options(url: str) -> dict[str, Any]:
    """A server's connections can die between requests; a file's cannot (no ping per checkout).
    A pool hands out the connection returned last (LIFO): SQLite keeps a connection's page cache
    only while no other connection wrote, so the pool's default round of all its connections made
    each statement read its pages again (a server's idle connections time out instead). An
    in-memory SQLite database has one connection, no pool to order."""
    if url.startswith("sqlite"):
        memory = make_url(url).database in (None, "", ":memory:")
        return {"pool_pre_ping": False} if memory else {"pool_pre_ping": False, "pool_use_lifo": True}
    return {"pool_pre_ping": True, "pool_use_lifo": True}


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: enforce ON DELETE CASCADE (off unless asked, per connection), and let the web and
    worker processes share the file: WAL (readers never block the writer) and a busy timeout.

    ``synchronous=NORMAL`` (SQLite's advice for WAL): a commit survives the process being killed,
    without an fsync per commit; a power loss may undo the last commits. ``HUB_SQLITE_SYNCHRONOUS=FULL``
    trades that for an fsync per commit (PostgreSQL is the engine for a hub that must never lose one)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA journal_mode=WAL")
        # hub.writelock checkpoints outside the writer's turn; SQLite's own (in a commit) is the backstop
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        mode = os.environ.get("HUB_SQLITE_SYNCHRONOUS", "NORMAL").upper()
        cursor.execute(
            f"PRAGMA synchronous={mode if mode in ('OFF', 'NORMAL', 'FULL', 'EXTRA') else 'NORMAL'}"
        )
        cursor.close()
