"""The migrations (hub/migrations/) build exactly the models' schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.extensions import db


def test_migrations_match_the_models(app):
    """The test database was built by `hub db upgrade`; autogenerate must find no difference."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []
