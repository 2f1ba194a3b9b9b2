"""Client keys (add, disable, rate-limit: rotation as Sentry does it) and a project's allowed origins."""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app, jsonify
from sqlalchemy import select

from hub import models as m
from hub.api import event_schemas as es
from hub.api.core import ApiAbort, authenticated, bp, get_org, get_project, parse_body
from hub.api.docs import doc
from hub.extensions import db
from hub.members import dsn
from hub.models.base import iso, parse_id

ADMINS = ("owner", "admin")


def key_json(key: m.ProjectKey) -> dict[str, Any]:
    limit = (
        {"window": key.rate_limit_window, "count": key.rate_limit_count}
        if key.rate_limit_window and key.rate_limit_count is not None
        else None
    )
    return {
        "id": str(key.id),
        "name": key.name,
        "public": key.public_key,
        "dsn": dsn(current_app.config["HUB_BASE_URL"], key),
        "isActive": key.is_active,
        "rateLimit": limit,
        "dateCreated": iso(key.date_created),
    }


def _apply(key: m.ProjectKey, data: dict[str, Any]) -> None:
    if "name" in data:
        key.name = data["name"].replace("\x00", "")
    if "isActive" in data:
        key.is_active = data["isActive"]
    if "rateLimit" in data:
        limit = data["rateLimit"]
        key.rate_limit_window = limit["window"] if limit else None
        key.rate_limit_count = limit["count"] if limit else None


@bp.post("/projects/<org_slug>/<project_slug>/keys/")
@doc(
    "/api/0/projects/{org}/{project}/keys/",
    "post",
    "Add a client key (DSN), e.g. to rotate one",
    body=es.KeyCreate,
    response=es.KeyDetailOut,
    status=201,
)
@authenticated
def create_key(org_slug: str, project_slug: str) -> Any:
    project = get_project(get_org(org_slug, roles=ADMINS), project_slug)
    data = parse_body(es.KeyCreate())
    key = m.ProjectKey(
        project_id=project.id,
        public_key=secrets.token_hex(16),
        is_active=True,
        name=data.get("name") or "Default",
    )
    _apply(key, data)
    db.session.add(key)
    db.session.commit()
    return jsonify(key_json(key)), 201


def _project_key(project: m.Project, key_id: str) -> m.ProjectKey:
    """The project's key by id; another project's, or none, is a 404."""
    key = db.session.scalar(
        select(m.ProjectKey).where(
            m.ProjectKey.project_id == project.id, m.ProjectKey.id == (parse_id(key_id) or -1)
        )
    )
    if key is None:
        raise ApiAbort(404, "The requested resource does not exist.")
    return key


@bp.get("/projects/<org_slug>/<project_slug>/keys/<key_id>/")
@doc("/api/0/projects/{org}/{project}/keys/{key_id}/", "get", "One client key (DSN), as the list shows it",
     response=es.KeyDetailOut)
@authenticated
def get_key(org_slug: str, project_slug: str, key_id: str) -> Any:
    """Sentry's key details: whoever may list the project's keys may read one of them."""
    return jsonify(key_json(_project_key(get_project(get_org(org_slug), project_slug), key_id)))


@bp.put("/projects/<org_slug>/<project_slug>/keys/<key_id>/")
@doc(
    "/api/0/projects/{org}/{project}/keys/{key_id}/",
    "put",
    "Update a client key: isActive (a disabled key is refused), rateLimit {window, count}, name",
    body=es.KeyUpdate,
    response=es.KeyDetailOut,
)
@authenticated
def update_key(org_slug: str, project_slug: str, key_id: str) -> Any:
    key = _project_key(get_project(get_org(org_slug, roles=ADMINS), project_slug), key_id)
    _apply(key, parse_body(es.KeyUpdate()))
    db.session.commit()
    return jsonify(key_json(key))


@bp.delete("/projects/<org_slug>/<project_slug>/keys/<key_id>/")
@doc("/api/0/projects/{org}/{project}/keys/{key_id}/", "delete",
     "Delete a client key: SDKs using its DSN are refused from the next request (401)", status=204)
@authenticated
def delete_key(org_slug: str, project_slug: str, key_id: str) -> Any:
    """Sentry's key deletion (owners and admins, as adding and changing one): the SDK door reads the
    key on every request, so no process accepts it once this commits."""
    key = _project_key(get_project(get_org(org_slug, roles=ADMINS), project_slug), key_id)
    db.session.delete(key)
    db.session.commit()
    return "", 204


@bp.put("/projects/<org_slug>/<project_slug>/")
@doc(
    "/api/0/projects/{org}/{project}/",
    "put",
    'Update a project\'s SDK settings: allowedDomains (CORS origins of browser SDKs; ["*"] is any)',
    body=es.ProjectSdkSettings,
    response=es.ProjectSdkSettingsOut,
)
@authenticated
def update_project_sdk_settings(org_slug: str, project_slug: str) -> Any:
    project = get_project(get_org(org_slug, roles=ADMINS), project_slug)
    data = parse_body(es.ProjectSdkSettings())
    if "allowedDomains" in data:
        domains = [d.strip().replace("\x00", "") for d in data["allowedDomains"] if d.strip()]
        if any("\n" in d or "\r" in d for d in domains):
            raise ApiAbort(400, "Invalid request.", {"allowedDomains": ["One origin per entry."]})
        project.allowed_origins = "\n".join(domains) or "*"
    db.session.commit()
    return jsonify({"allowedDomains": project.allowed_origins.splitlines()})
