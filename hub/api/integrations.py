"""Integrations of an org: manual install, sync config, status mapping, uninstall."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, g, jsonify
from sqlalchemy import select

from hub import models as m
from hub import snapshots, upserts
from hub.api import schemas as s
from hub.api.core import ApiAbort, authenticated, bp, get_org, parse_body
from hub.api.docs import doc
from hub.crypto import decrypt_json, encrypt_json, unsign
from hub.errors import ApiError, InstallError, PluginError, ValidationError
from hub.extensions import db
from hub.members import set_status_mapping
from hub.models.base import parse_id
from hub.services import UNPROVEN, release_unproven_claims

logger = logging.getLogger("hub.api.integrations")
LINK_SALT = "integration-link"


def integration_json(oi: m.OrganizationIntegration) -> dict[str, Any]:
    """An integration as the API shows it; install warnings (which may name a webhook URL with its
    token) and the last error (which may quote the provider) only to the org's owners and admins."""
    config = {key: bool((oi.config or {}).get(key, False)) for key in m.SYNC_CONFIG_KEYS}
    admin = getattr(g.get("hub_member"), "role", None) in ("owner", "admin")
    warnings = decrypt_json(oi.integration.metadata_encrypted, default={}).get("install_warnings") or [] if admin else []
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
    rows = db.session.scalars(select(m.OrganizationIntegration).where(m.OrganizationIntegration.organization_id == org.id)
                              .order_by(m.OrganizationIntegration.id))
    return jsonify([integration_json(oi) for oi in rows])


@bp.get("/organizations/<org_slug>/integrations/<integration_id>/")
@doc("/api/0/organizations/{org}/integrations/{id}/", "get", "Get an integration", response=s.IntegrationOut)
@authenticated
def get_integration(org_slug: str, integration_id: str) -> Any:
    return jsonify(integration_json(_get_oi(get_org(org_slug), integration_id)))


@bp.post("/organizations/<org_slug>/integrations/")
@doc("/api/0/organizations/{org}/integrations/", "post", "Install an integration by hand", body=s.IntegrationCreate,
     response=s.IntegrationOut, status=201)
@authenticated
def install_integration(org_slug: str) -> Any:
    org = get_org(org_slug, roles=("owner", "admin"))
    data = parse_body(s.IntegrationCreate())
    provider, external_id = data["provider"], data["externalId"]
    if provider not in current_app.extensions["hub"].providers():
        raise ApiAbort(400, "Unknown provider.", {"provider": [f"No installed plugin provides {provider!r}."]})
    row = db.session.scalar(select(m.Integration).where(m.Integration.provider == provider,
                                                        m.Integration.external_id == external_id))
    proven = bool(row is not None and data.get("linkToken") and _token_proves(row, data["linkToken"]))
    if row is not None and not proven and not _may_attach(row, org, None):
        raise ApiAbort(409, "This account is already installed by another organization; "
                            "attach it from the provider (a signed link) instead.")
    try:
        result = current_app.extensions["hub"].hook.install_integration(
            provider=provider, external_id=external_id, name=data["name"], metadata=dict(data["metadata"]),
            organization_id=str(org.id))
    except (InstallError, PluginError) as e:
        db.session.rollback()
        raise ApiAbort(400, e.message, e.errors or {"metadata": [e.message]}) from e
    except ApiError as e:
        db.session.rollback()
        logger.info("integration.install-refused", extra={"provider": provider, "status": e.code,
                                                          "provider_message": e.provider_message[:500]})
        raise ApiAbort(400, f"The provider could not be reached or refused the install: {e.message}",
                       {"metadata": [e.message]}) from e
    result = result or {}
    if row is None:
        row, _ = upserts.get_or_create(m.Integration, {"provider": provider, "external_id": external_id})
    row.name = result.get("name") or data["name"] or row.name or external_id
    row.metadata_encrypted = encrypt_json(result.get("metadata", data["metadata"]))
    row.status = "active"
    db.session.flush()
    oi, created = upserts.get_or_create(
        m.OrganizationIntegration, {"organization_id": org.id, "integration_id": row.id}, {"config": {}})
    oi.status, oi.error = "active", None
    config = {k: v for k, v in (oi.config or {}).items() if k != UNPROVEN}
    oi.config = config if proven else {**config, UNPROVEN: True}
    if proven:  # control proven: orgs that only claimed this account by hand let go of it
        release_unproven_claims(row.id, keep_organization_id=org.id,
                                reason="Another organization proved control of this account")
    db.session.commit()
    logger.info("integration.installed", extra={"provider": provider, "integration": row.id})
    return jsonify(integration_json(oi)), 201 if created else 200


def _may_attach(row: m.Integration, org: m.Organization, link_token: str | None) -> bool:
    """Whether this org may take an existing provider account.

    Without proof of control it may not when another org has it, or when the provider installed
    it and it waits for an org (a Connect site): then only a link token attaches it.
    """
    attached = list(db.session.scalars(select(m.OrganizationIntegration).where(
        m.OrganizationIntegration.integration_id == row.id)))
    taken = any(oi.organization_id != org.id and oi.status != "disabled" for oi in attached)
    waiting = row.status == "active" and not attached
    if not taken and not waiting:
        return True
    return bool(link_token) and _token_proves(row, link_token)


def _token_proves(row: m.Integration, link_token: str) -> bool:
    """A hub-signed link for this integration, or a token its provider's plugin recognises."""
    try:
        payload = unsign(link_token, LINK_SALT, max_age=3600)
        return str(payload.get("integration_id")) == str(row.id)
    except ValidationError:
        pass
    try:
        proven = current_app.extensions["hub"].hook.verify_link_token(
            integration=snapshots.integration(row), token=link_token)
    except Exception:
        logger.info("integration.link-token-error", extra={"integration": row.id})
        return False
    return proven is True


@bp.put("/organizations/<org_slug>/integrations/<integration_id>/")
@doc("/api/0/organizations/{org}/integrations/{id}/", "put", "Set the sync configuration", body=s.IntegrationUpdate,
     response=s.IntegrationOut)
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
    org = get_org(org_slug, roles=("owner", "admin"))
    oi = _get_oi(org, integration_id)
    try:
        current_app.extensions["hub"].hook.uninstall_integration(
            integration=snapshots.integration(oi.integration, oi), organization_id=str(org.id))
    except Exception:  # the provider side is best effort; the org's uninstall is not
        logger.exception("integration.uninstall-hook-failed", extra={"integration": oi.integration_id})
    integration = oi.integration
    db.session.delete(oi)
    db.session.flush()
    if not db.session.scalar(select(m.OrganizationIntegration.id).where(
            m.OrganizationIntegration.integration_id == integration.id).limit(1)):
        integration.status = "disabled"  # nobody uses it: a later manual install may take it
    db.session.commit()
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
