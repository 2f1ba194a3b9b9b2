"""Integrations of an org: manual install, sync config, status mapping, uninstall."""

from __future__ import annotations

import logging
from typing import Any

from flask import g, jsonify
from sqlalchemy import select

from hub import models as m
from hub.api import schemas as s
from hub.api.core import ApiAbort, authenticated, bp, get_org, parse_body
from hub.api.docs import doc
from hub.crypto import decrypt_json
from hub.extensions import db
from hub.integrations import install_by_hand, uninstall_from_org
from hub.members import set_status_mapping
from hub.models.base import parse_id

logger = logging.getLogger("hub.api.integrations")


def integration_json(oi: m.OrganizationIntegration) -> dict[str, Any]:
    """An integration as the API shows it; install warnings (which may name a webhook URL with its
    token) and the last error (which may quote the provider) only to the org's owners and admins."""
    config = {key: bool((oi.config or {}).get(key, False)) for key in m.SYNC_CONFIG_KEYS}
    admin = getattr(g.get("hub_member"), "role", None) in ("owner", "admin")
    metadata = decrypt_json(oi.integration.metadata_encrypted, default={}) if admin else {}
    warnings = metadata.get("install_warnings") or []
    return {"id": str(oi.integration_id), "provider": oi.integration.provider, "name": oi.integration.name,
            "externalId": oi.integration.external_id,
            "status": "disabled" if oi.integration.status == "disabled" else oi.status,
            "error": oi.error if admin else None, "warnings": [str(w) for w in warnings], "config": config}


def _get_oi(org: m.Organization, integration_id: str) -> m.OrganizationIntegration:
    oi = db.session.scalar(select(m.OrganizationIntegration).where(
        m.OrganizationIntegration.organization_id == org.id,
        m.OrganizationIntegration.integration_id == (parse_id(integration_id) or -1)))
    if oi is None:
        raise ApiAbort(404, "The requested resource does not exist.")
    return oi


@bp.get("/organizations/<org_slug>/integrations/")
@doc("/api/0/organizations/{org}/integrations/", "get", "List the org's integrations (no secrets)",
     response=s.IntegrationOut, many=True)
@authenticated
def list_integrations(org_slug: str) -> Any:
    org = get_org(org_slug)
    rows = db.session.scalars(select(m.OrganizationIntegration)
                              .where(m.OrganizationIntegration.organization_id == org.id)
                              .order_by(m.OrganizationIntegration.id))
    return jsonify([integration_json(oi) for oi in rows])


@bp.get("/organizations/<org_slug>/integrations/<integration_id>/")
@doc("/api/0/organizations/{org}/integrations/{id}/", "get", "Get an integration", response=s.IntegrationOut)
@authenticated
def get_integration(org_slug: str, integration_id: str) -> Any:
    return jsonify(integration_json(_get_oi(get_org(org_slug), integration_id)))


@bp.post("/organizations/<org_slug>/integrations/")
@doc("/api/0/organizations/{org}/integrations/", "post", "Install an integration by hand",
     body=s.IntegrationCreate, response=s.IntegrationOut, status=201)
@authenticated
def install_integration(org_slug: str) -> Any:
    org = get_org(org_slug, roles=("owner", "admin"))
    data = parse_body(s.IntegrationCreate())
    oi, created = install_by_hand(org, data["provider"], data["externalId"], data["name"], data["metadata"],
                                  data.get("linkToken"))
    return jsonify(integration_json(oi)), 201 if created else 200


@bp.put("/organizations/<org_slug>/integrations/<integration_id>/")
@doc("/api/0/organizations/{org}/integrations/{id}/", "put", "Set the sync configuration",
     body=s.IntegrationUpdate, response=s.IntegrationOut)
@authenticated
def update_integration(org_slug: str, integration_id: str) -> Any:
    oi = _get_oi(get_org(org_slug, roles=("owner", "admin")), integration_id)
    data = parse_body(s.IntegrationUpdate())
    oi.config = {**(oi.config or {}), **data["config"]}
    db.session.commit()
    return jsonify(integration_json(oi))


@bp.delete("/organizations/<org_slug>/integrations/<integration_id>/")
@doc("/api/0/organizations/{org}/integrations/{id}/", "delete", "Uninstall from the org", status=204)
@authenticated
def delete_integration(org_slug: str, integration_id: str) -> Any:
    uninstall_from_org(_get_oi(get_org(org_slug, roles=("owner", "admin")), integration_id))
    return "", 204


@bp.get("/organizations/<org_slug>/integrations/<integration_id>/external-projects/")
@doc("/api/0/organizations/{org}/integrations/{id}/external-projects/", "get", "List status mappings",
     response=s.ExternalProjectOut, many=True)
@authenticated
def list_external_projects(org_slug: str, integration_id: str) -> Any:
    oi = _get_oi(get_org(org_slug), integration_id)
    rows = db.session.scalars(select(m.IntegrationExternalProject).where(
        m.IntegrationExternalProject.organization_integration_id == oi.id))
    return jsonify([_mapping_json(r) for r in rows])


def _mapping_json(row: m.IntegrationExternalProject) -> dict[str, Any]:
    return {"id": str(row.id), "externalId": row.external_id, "resolvedStatus": row.resolved_status,
            "unresolvedStatus": row.unresolved_status}


@bp.post("/organizations/<org_slug>/integrations/<integration_id>/external-projects/")
@doc("/api/0/organizations/{org}/integrations/{id}/external-projects/", "post",
     "Map a provider project's statuses (used by both sync directions)", body=s.ExternalProjectCreate,
     response=s.ExternalProjectOut, status=201)
@authenticated
def create_external_project(org_slug: str, integration_id: str) -> Any:
    oi = _get_oi(get_org(org_slug, roles=("owner", "admin")), integration_id)
    data = parse_body(s.ExternalProjectCreate())
    row = set_status_mapping(oi, data["externalId"], data["resolvedStatus"], data["unresolvedStatus"])
    db.session.commit()
    return jsonify(_mapping_json(row)), 201
