"""Flask extensions, created unbound and bound by ``create_app`` (the init_app pattern)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import Flask, current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from werkzeug.local import LocalProxy

# Named constraints keep alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()


def current_app_object() -> Flask:
    """The app behind the ``current_app`` proxy, for what outlives the app context (a test request
    context of its own, a worker's jobs). Flask types the proxy as the app itself, hence the cast."""
    return cast("LocalProxy[Flask]", current_app)._get_current_object()

if TYPE_CHECKING:
    from typing import ClassVar

    from flask_sqlalchemy.model import Model as _FlaskModel
    from sqlalchemy import Table
    from sqlalchemy.orm import DeclarativeBase

    class Model(_FlaskModel, DeclarativeBase):
        """``db.Model`` as a type checker sees it: a declarative base with Flask-SQLAlchemy's mixin
        (mypy cannot take a base class from an attribute, python/mypy#8603). Every model maps one
        ``Table`` (SQLAlchemy types ``__table__`` as any ``FromClause``)."""

        __table__: ClassVar[Table]

else:
    Model = db.Model
