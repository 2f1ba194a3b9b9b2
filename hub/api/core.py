"""What every REST endpoint shares: the blueprint, auth, org lookup with isolation, body parsing."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, g, request
from marshmallow import Schema
from marshmallow import ValidationError as SchemaError
from sqlalchemy import select

from hub import inputs, logs
from hub import models as m
from hub.auth import current_user
from hub.extensions import db
from hub.members import membership

bp = Blueprint("api", __name__, url_prefix="/api/0")

F = TypeVar("F", bound=Callable[..., Any])
MAX_BODY = 1024 * 1024


class ApiAbort(Exception):
    """An API error answered as ``{"detail", "errors"}`` with ``status``."""

    def __init__(self, status: int, detail: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or {}


def authenticated(view: F) -> F:
    """401 unless the request carries a valid token (or a logged-in session)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            raise ApiAbort(401, "Authentication credentials were not provided or are invalid.")
        logs.bind(user=user.id)
        reject_nul(kwargs)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def reject_nul(path_values: dict[str, Any]) -> None:
    """400 when a URL path value, a query parameter or the JSON body holds a NUL character.

    The one check for the whole API, after authentication: PostgreSQL cannot store a NUL, and no
    slug, name, email, id or message ever needs one. A body that is not JSON is left to
    :func:`parse_body` to refuse.
    """
    where = inputs.first_nul([*path_values.items(), *request.args.items(multi=True)])
    if where is None and request.mimetype == "application/json" and (request.content_length or 0) <= MAX_BODY:
        try:
            where = inputs.find_nul(request.get_json(silent=True))
        except RecursionError:
            where = None
    if where is not None:
        raise ApiAbort(400, "Text must not contain NUL (\\u0000) characters or unpaired surrogates.",
                       {where: ["Must not contain NUL characters."]})


def get_org(slug: str, roles: tuple[str, ...] | None = None) -> m.Organization:
    """The org, when the current user is a member (404 otherwise, never a leak); 403 for the role."""
    user = current_user()
    org = db.session.scalar(select(m.Organization).where(m.Organization.slug == slug))
    member = membership(user, org) if org is not None and user is not None else None
    if org is None or member is None:
        raise ApiAbort(404, "The requested resource does not exist.")
    g.hub_member = member
    logs.bind(organization=org.slug)
    if roles and member.role not in roles:
        raise ApiAbort(403, "You do not have permission to perform this action.")
    return org


def get_project(org: m.Organization, slug: str) -> m.Project:
    project = db.session.scalar(select(m.Project).where(m.Project.organization_id == org.id,
                                                        m.Project.slug == slug))
    if project is None:
        raise ApiAbort(404, "The requested resource does not exist.")
    return project


def parse_body(schema: Schema, *, partial: bool = False) -> dict[str, Any]:
    """Validate the JSON body against a schema: 415 when not JSON, 400 with per-field errors."""
    if (request.content_length or 0) > MAX_BODY:
        raise ApiAbort(413, "Request body too large (limit 1 MiB).")
    if request.mimetype != "application/json":
        raise ApiAbort(415, "Unsupported media type: send application/json.")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON decoder goes: not a body anyone means
        data = None
    if data is None:
        raise ApiAbort(400, "Malformed JSON body.", {"body": ["Not valid JSON."]})
    try:
        loaded: dict[str, Any] = schema.load(data, partial=partial)
        return loaded
    except SchemaError as e:
        messages = e.messages if isinstance(e.messages, dict) else {"body": e.messages}
        raise ApiAbort(400, "Invalid request.", messages) from e
