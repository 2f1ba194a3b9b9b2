"""Statements run on the DBAPI cursor (hub.driver) raise SQLAlchemy's errors, and the session recovers."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub import ingest
from hub import models as m
from hub.extensions import db
from hub.models.base import utcnow


def test_a_driver_statement_raises_sqlalchemys_integrity_error_and_the_session_recovers(app, env):
    project = env["project"]
    with pytest.raises(IntegrityError):
        ingest._event_driver().first(dict(
            project_id=project.id, event_id=uuid.uuid4().hex, group_id=987654, message="m", level="error",
            culprit="", release=None, environment=None, tags="{}", data="{}", timestamp=utcnow(),
            date_received=utcnow()))
    db.session.rollback()
    assert db.session.scalar(select(m.Event.id).limit(1)) is None


def test_cursor_event_listeners_see_before_and_after_with_one_context(app, env, client):
    """As with SQLAlchemy's own execution: a listener (sentry-sdk's SQLAlchemy integration is one)
    keeps a note on the context in ``before_cursor_execute`` and reads it in ``after_cursor_execute``."""
    from sqlalchemy import event

    seen: list[tuple[str, str]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        context._note = statement  # a listener that needs a real object, not None
        seen.append(("before", statement))

    def after(conn, cursor, statement, parameters, context, executemany):
        seen.append(("after", context._note))

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        key = db.session.scalar(
            select(m.ProjectKey.public_key).where(m.ProjectKey.project_id == env["project"].id))
        r = client.post(f"/api/{env['project'].id}/store/?sentry_key={key}", json={"message": "listened"})
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    assert r.status_code == 200, r.json
    inserts = [s for kind, s in seen
               if kind == "before" and s.lstrip().upper().startswith("INSERT INTO EVENTS")]
    assert inserts, seen  # the driver's event insert was announced
    assert ("after", inserts[0]) in seen  # and closed with the note its before left


def test_execute_many_inserts_every_row_in_one_driver_call_and_announces_it(app, env):
    from sqlalchemy import event, insert

    from hub.driver import DriverStatement

    claims = m.WebhookClaim.__table__
    statement = DriverStatement(lambda dialect: insert(claims),
                                keys=("provider", "dedupe_key", "delivery_id", "date_claimed"))
    seen: list[bool] = []

    def before(conn, cursor, sql, parameters, context, executemany):
        if sql.lstrip().upper().startswith("INSERT INTO WEBHOOK_CLAIMS"):
            seen.append(executemany)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        statement.execute_many([{"provider": "p", "dedupe_key": f"k{n}", "delivery_id": None,
                                 "date_claimed": utcnow()} for n in range(3)])
        db.session.commit()
        with pytest.raises(IntegrityError):  # a taken key: SQLAlchemy's error, nothing kept
            statement.execute_many([{"provider": "p", "dedupe_key": key, "delivery_id": None,
                                     "date_claimed": utcnow()} for key in ("k9", "k0")])
        db.session.rollback()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert seen == [True, True]
    keys = db.session.scalars(select(m.WebhookClaim.dedupe_key).order_by(m.WebhookClaim.dedupe_key)).all()
    assert keys == ["k0", "k1", "k2"]


def test_the_pool_hands_out_the_connection_returned_last(app):
    """LIFO: a SQLite connection keeps its page cache only while no other connection wrote, so the
    one that wrote last is the one to reuse (the default order went round all of them)."""
    with db.engine.connect() as first, db.engine.connect() as second:
        first_dbapi, second_dbapi = first.connection.dbapi_connection, second.connection.dbapi_connection
    assert first_dbapi is not second_dbapi
    with db.engine.connect() as again:  # ``second`` went back first, then ``first``
        assert again.connection.dbapi_connection is first_dbapi
