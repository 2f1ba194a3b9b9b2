"""The one path for an integration's state: installed, attached to an org, disabled, needing attention,
healthy again.

A provider install (Connect, OAuth, a setup page: :func:`save_integration`), an install by hand through
the API (:func:`install_by_hand`), an attach from a provider's page (:func:`attach_integration`), an
uninstall at the provider (:func:`disable_integration`) or from an org (:func:`uninstall_from_org`), and
what outbound calls learn (:func:`mark_needs_attention`, :func:`mark_healthy`) all change the rows here,
so "who may hold this provider account" is decided once. ``hub.services`` re-exports the plugin-facing
functions. Raises :mod:`hub.errors` types; the request's error handler answers them.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import and_, or_, select, update

from hub import models as m
from hub import snapshots, upserts
from hub import types as t
from hub.crypto import encrypt_json, unsign
from hub.errors import ApiError, Conflict, InstallError, NotFound, PluginError, ValidationError
from hub.extensions import db

logger = logging.getLogger("hub.integrations")

#: Marks an org's attachment made by hand without proof of control of the provider account.
UNPROVEN = "_claimed_by_hand"
#: The salt of hub-signed link tokens (``linkToken`` of a manual install).
LINK_SALT = "integration-link"


def _oi(integration_id: int, organization_id: int) -> m.OrganizationIntegration | None:
    return db.session.scalar(select(m.OrganizationIntegration).where(
        m.OrganizationIntegration.integration_id == integration_id,
        m.OrganizationIntegration.organization_id == organization_id))


def _attach(row: m.Integration, organization_id: int, *,
            proven: bool) -> tuple[m.OrganizationIntegration, bool]:
    """Attach (or re-activate) the account for the org (flushes): the one place an attachment is made."""
    oi, created = upserts.get_or_create(
        m.OrganizationIntegration, {"organization_id": organization_id, "integration_id": row.id},
        {"config": {}})
    oi.status, oi.error = "active", None
    config = {k: v for k, v in (oi.config or {}).items() if k != UNPROVEN}  # proven now, if it is
    oi.config = config if proven else {**config, UNPROVEN: True}
    row.status = "active"
    db.session.flush()
    return oi, created


# -- installed by the provider ------------------------------------------------------------------


def save_integration(provider: str, external_id: str, name: str, metadata: dict[str, Any]) -> t.Integration:
    """Create or update (re-install) an integration; metadata is encrypted; status active; commits."""
    row, created = upserts.get_or_create(
        m.Integration, {"provider": provider, "external_id": str(external_id)})
    row.name = name or row.name or str(external_id)
    row.metadata_encrypted = encrypt_json(metadata)
    if row.status == "disabled" and not created:
        # Re-installed at the provider after an uninstall there: the orgs it served get it back.
        for oi in db.session.scalars(select(m.OrganizationIntegration).where(
                m.OrganizationIntegration.integration_id == row.id,
                m.OrganizationIntegration.status == "disabled")):
            oi.status, oi.error = "active", None
    if not created:
        # The provider itself installed this account: an org that only claimed it by hand, never
        # proving control, lets go of it (it attaches again through the provider's own page).
        release_unproven_claims(row.id)
    row.status = "active"
    db.session.commit()
    return snapshots.integration(row)


def release_unproven_claims(integration_id: int, *, keep_organization_id: int | None = None,
                            reason: str = "The provider installed this account itself") -> None:
    """Disable every org's by-hand claim of this account made without proof of control (flushes).

    Called when control is proven: the provider installed the account itself, or an org attached it
    with a provider-signed link token. Such an org attaches it again through the provider.
    """
    for oi in db.session.scalars(select(m.OrganizationIntegration).where(
            m.OrganizationIntegration.integration_id == integration_id)):
        if (oi.config or {}).get(UNPROVEN) and oi.organization_id != keep_organization_id:
            oi.config = {k: v for k, v in oi.config.items() if k != UNPROVEN}
            oi.status = "disabled"
            oi.error = f"{reason}; attach it again from the provider."
    db.session.flush()


def update_integration_metadata(integration_id: str, changes: dict[str, Any]) -> t.Integration:
    """Merge ``changes`` into an integration's (encrypted) metadata; commits."""
    row = db.session.get(m.Integration, int(integration_id))
    if row is None:
        raise NotFound("integration not found")
    current = snapshots.integration(row).metadata
    row.metadata_encrypted = encrypt_json({**current, **changes})
    db.session.commit()
    return snapshots.integration(row)


def attach_integration(integration_id: str, organization_slug: str, user_id: str, *,
                       proven: bool = True) -> str:
    """Attach an installed integration to an org, by one of that org's owners or admins; commits.

    ``proven=False`` when the provider's answer did not prove control of the account (the claim is
    then let go when the provider installs it for someone who does). Returns the organization id.
    Raises ``ValidationError`` when the user may not.
    """
    org = db.session.scalar(select(m.Organization).where(m.Organization.slug == organization_slug))
    role = db.session.scalar(select(m.OrganizationMember.role).where(
        m.OrganizationMember.organization_id == org.id, m.OrganizationMember.user_id == int(user_id))) \
        if org is not None and user_id else None
    if role not in ("owner", "admin"):
        raise ValidationError("Only an owner or admin of that organization can attach this integration.",
                              {"organization": ["Not an organization you administer."]})
    assert org is not None
    row = db.session.get(m.Integration, int(integration_id))
    if row is None:
        raise NotFound("integration not found")
    _attach(row, org.id, proven=proven)
    db.session.commit()
    return str(org.id)


def organizations_of(integration_id: str) -> list[dict[str, Any]]:
    """The orgs that have this integration installed: ``[{"id", "slug", "status", "proven"}]``.

    ``proven`` is false for an org that only claimed the account by hand, without proof of control:
    a provider install of that account lets go of such a claim (:func:`save_integration`).
    """
    rows = db.session.execute(
        select(m.Organization, m.OrganizationIntegration.status, m.OrganizationIntegration.config)
        .join(m.OrganizationIntegration, m.OrganizationIntegration.organization_id == m.Organization.id)
        .where(m.OrganizationIntegration.integration_id == int(integration_id))
    ).all()
    return [{"id": str(o.id), "slug": o.slug, "status": s, "proven": not (c or {}).get(UNPROVEN)}
            for o, s, c in rows]


# -- installed by hand (REST API and the settings page) -----------------------------------------


def install_by_hand(org: m.Organization, provider: str, external_id: str, name: str,
                    metadata: dict[str, Any], link_token: str | None = None,
                    ) -> tuple[m.OrganizationIntegration, bool]:
    """Install a provider account for the org from credentials given by hand (the plugin checks them
    with ``install_integration``); commits. Returns the attachment and whether it is new.

    Another org's account, or one the provider installed that waits for an org, needs ``link_token``
    (proof of control): else :class:`Conflict`. Refused or unreachable credentials:
    :class:`InstallError`, nothing stored.
    """
    plugins = current_app.extensions["hub"]
    if provider not in plugins.providers():
        raise ValidationError("Unknown provider.",
                              {"provider": [f"No installed plugin provides {provider!r}."]})
    row = db.session.scalar(select(m.Integration).where(m.Integration.provider == provider,
                                                        m.Integration.external_id == external_id))
    proven = bool(row is not None and link_token and token_proves(row, link_token))
    if row is not None and not proven and not _may_attach(row, org):
        raise Conflict("This account is already installed by another organization; "
                       "attach it from the provider (a signed link) instead.")
    try:
        result = plugins.hook.install_integration(
            provider=provider, external_id=external_id, name=name, metadata=dict(metadata),
            organization_id=str(org.id))
    except PluginError as e:  # InstallError too
        raise InstallError(e.message, e.errors or {"metadata": [e.message]}) from e
    except ApiError as e:
        logger.info("integration.install-refused", extra={"provider": provider, "status": e.code,
                                                          "provider_message": e.provider_message[:500]})
        raise InstallError(f"The provider could not be reached or refused the install: {e.message}",
                           {"metadata": [e.message]}) from e
    result = result or {}
    if row is None:
        row = upserts.get_or_create(m.Integration, {"provider": provider, "external_id": external_id})[0]
    row.name = result.get("name") or name or row.name or external_id
    row.metadata_encrypted = encrypt_json(result.get("metadata", metadata))
    oi, created = _attach(row, org.id, proven=proven)
    if proven:  # control proven: orgs that only claimed this account by hand let go of it
        release_unproven_claims(row.id, keep_organization_id=org.id,
                                reason="Another organization proved control of this account")
    db.session.commit()
    logger.info("integration.installed", extra={"provider": provider, "integration": row.id})
    return oi, created


def _may_attach(row: m.Integration, org: m.Organization) -> bool:
    """Whether this org may take an existing provider account without proof of control: not when
    another org has it, nor when the provider installed it and it waits for an org (a Connect site)."""
    attached = list(db.session.scalars(select(m.OrganizationIntegration).where(
        m.OrganizationIntegration.integration_id == row.id)))
    taken = any(oi.organization_id != org.id and oi.status != "disabled" for oi in attached)
    waiting = row.status == "active" and not attached
    return not taken and not waiting


def token_proves(row: m.Integration, link_token: str) -> bool:
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


# -- uninstalled --------------------------------------------------------------------------------


def uninstall_from_org(oi: m.OrganizationIntegration) -> None:
    """An org uninstalls it: the plugin is told (best effort), the attachment goes, and an account no
    org uses any more is disabled (a later manual install may take it); commits."""
    try:
        current_app.extensions["hub"].hook.uninstall_integration(
            integration=snapshots.integration(oi.integration, oi), organization_id=str(oi.organization_id))
    except Exception:  # the provider side is best effort; the org's uninstall is not
        logger.exception("integration.uninstall-hook-failed", extra={"integration": oi.integration_id})
    integration = oi.integration
    db.session.delete(oi)
    db.session.flush()
    if not db.session.scalar(select(m.OrganizationIntegration.id).where(
            m.OrganizationIntegration.integration_id == integration.id).limit(1)):
        integration.status = "disabled"
    db.session.commit()


def disable_integration(integration_id: str) -> None:
    """Uninstalled at the provider: disable it everywhere; history is kept, sync stops; commits."""
    row = db.session.get(m.Integration, int(integration_id))
    if row is None:
        return
    row.status = "disabled"
    for oi in db.session.scalars(select(m.OrganizationIntegration).where(
            m.OrganizationIntegration.integration_id == row.id)):
        oi.status = "disabled"
    db.session.commit()


# -- health -------------------------------------------------------------------------------------


def mark_needs_attention(integration_id: str | int, organization_id: str | int | None,
                         message: str) -> None:
    """The provider refused this integration's credentials: show it to the org(s) (all of them when
    ``organization_id`` is ``None``), with ``message`` for owners and admins; a disabled attachment
    stays disabled; commits."""
    query = update(m.OrganizationIntegration).where(
        m.OrganizationIntegration.integration_id == int(integration_id),
        m.OrganizationIntegration.status != "disabled")
    if organization_id:
        query = query.where(m.OrganizationIntegration.organization_id == int(organization_id))
    db.session.execute(query.values(status="needs_attention", error=message[:2000])
                       .execution_options(synchronize_session="fetch"))
    db.session.commit()


def mark_healthy(integration_id: str | int, organization_id: str | int) -> None:
    """A call went through: an attachment that needed attention is active again, and the provider's
    last error (kept by a failed call that left it active) is cleared; commits."""
    oi = m.OrganizationIntegration
    db.session.execute(
        update(oi)
        .where(oi.integration_id == int(integration_id), oi.organization_id == int(organization_id),
               or_(oi.status == "needs_attention", and_(oi.status == "active", oi.error.is_not(None))))
        .values(status="active", error=None)
        .execution_options(synchronize_session="fetch")
    )
    db.session.commit()
