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
