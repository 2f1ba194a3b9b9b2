"""Settings pages: integrations, alert rules, members, projects and keys, and the delivery ledger.

Reading is open to every member (a member sees no admin form); every change is an owner/admin form,
checked here (403) and again by the API view it runs through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from sqlalchemy import select

from hub import jobs, services
from hub import models as m
from hub.api import deliveries as api_deliveries
from hub.api import integrations as api_integrations
from hub.api import keys as api_keys
from hub.api import orgs as api_orgs
from hub.api import rules as api_rules
from hub.auth import current_user
from hub.crypto import decrypt_json
from hub.errors import ValidationError
from hub.extensions import db
from hub.members import dsn
from hub.models.base import parse_id
from hub.web import _org, bp, login_required, page, present
from hub.web.apicall import Result, call

SYNC_LABELS = {
    "sync_status_forward": (
        "status-sync",
        "When an issue is resolved or reopened here, move its linked tickets",
    ),
    "sync_status_reverse": (
        "status-sync",
        "When a linked ticket is done or reopened, resolve or reopen the issue",
    ),
    "sync_assignee_outbound": ("assignee-sync", "When an issue is assigned here, assign its linked tickets"),
    "sync_assignee_inbound": ("assignee-sync", "When a linked ticket is assigned, assign the issue"),
    "sync_comments": ("issue-sync", "Copy comments to linked tickets"),
}
CONDITIONS = {
    "first_seen_event": "A new issue is created",
    "regression_event": "A resolved issue comes back",
    "every_event": "Every event",
}


STALE = "changed since you opened the page: nothing was saved. Check it as it is now and try again."


@bp.app_template_filter("fingerprint")
def _fingerprint(value: Any) -> str:
    return present.fingerprint(value)


def _rule_seen(rule: m.AlertRule) -> Any:
    return [rule.name, rule.project_id, rule.conditions, rule.actions]


def _mapping_seen(row: m.IntegrationExternalProject | None) -> Any:
    return {"resolved": row.resolved_status, "unresolved": row.unresolved_status} if row else {}


def _flash_result(result: Result, done: str) -> None:
    flash(
        done if result.ok else f"{result.detail} {_flat(result.errors)}".strip(),
        "ok" if result.ok else "error",
    )


def _flat(errors: Any) -> str:
    if isinstance(errors, dict):
        return " ".join(f"{k}: {_flat(v)}" for k, v in errors.items())
    if isinstance(errors, list):
        return " ".join(_flat(x) for x in errors)
    return str(errors)


# -- integrations ------------------------------------------------------------------------------


def _org_integrations(org: m.Organization) -> list[m.OrganizationIntegration]:
    return list(
        db.session.scalars(
            select(m.OrganizationIntegration)
            .where(m.OrganizationIntegration.organization_id == org.id)
            .order_by(m.OrganizationIntegration.id)
        )
    )


@bp.get("/organizations/<org_slug>/settings/integrations/")
@login_required
def integrations_page(org_slug: str, errors: dict[str, Any] | None = None, status: int = 200) -> Any:
    org, member = _org(org_slug)
    providers = current_app.extensions["hub"].providers()
    rows = _org_integrations(org)
    admin = member.role in ("owner", "admin")
    mappings = {
        oi.id: db.session.scalars(
            select(m.IntegrationExternalProject).where(
                m.IntegrationExternalProject.organization_integration_id == oi.id
            )
        ).all()
        for oi in rows
    }
    warnings = {
        oi.id: (decrypt_json(oi.integration.metadata_encrypted, default={}).get("install_warnings") or [])
        if admin
        else []
        for oi in rows
    }
    base = current_app.config["HUB_BASE_URL"]
    guides = {key: _install_guide(key, org, base) for key in providers} if admin else {}
    editing = request.args.get("mapping", "") if admin else ""
    editors = {
        oi.id: _mapping_editor(oi, mappings[oi.id], request.args.get("project", "").strip() or None)
        for oi in rows
        if editing == str(oi.integration_id) and oi.status != "disabled"
    }

    def link(url: str) -> str:
        url = url.replace("{org}", org.slug)
        return base + url if url.startswith("/") else url

    return page(
        "integrations.html",
        org,
        member,
        status=status,
        rows=rows,
        mappings=mappings,
        warnings=warnings,
        providers=providers,
        link=link,
        sync_labels=SYNC_LABELS,
        guides=guides,
        editors=editors,
        errors=errors or {},
        values=request.form if errors else {},
        title=f"Integrations · {org.name}",
    )


def _install_guide(provider: str, org: m.Organization, base: str) -> dict[str, Any] | None:
    """The plugin's step-by-step guide, or ``None`` (the page shows ``provider_info()["install"]``)."""
    try:
        guide = current_app.extensions["hub"].hook.get_install_guide(
            provider=provider, organization_slug=org.slug, base_url=base
        )
    except Exception:  # a broken guide leaves the by-hand form usable
        current_app.logger.exception("web.install-guide-failed", extra={"provider": provider})
        return None
    return guide if isinstance(guide, dict) else None


def _mapping_editor(
    oi: m.OrganizationIntegration, rows: Sequence[m.IntegrationExternalProject], project_id: str | None
) -> dict[str, Any]:
    """Projects and statuses loaded from the provider for the mapping editor (``choices``), or why not."""
    from hub import snapshots
    from hub.errors import HubError

    current = next((r for r in rows if r.external_id == project_id), None) if project_id else None
    mapping = (
        {"resolved": current.resolved_status, "unresolved": current.unresolved_status} if current else None
    )
    tickets = db.session.scalars(
        select(m.ExternalIssue)
        .where(
            m.ExternalIssue.organization_id == oi.organization_id,
            m.ExternalIssue.integration_id == oi.integration_id,
        )
        .order_by(m.ExternalIssue.id.desc())
        .limit(50)
    ).all()
    editor: dict[str, Any] = {
        "project": project_id or "", "mapping": mapping or {}, "choices": None, "error": ""
    }
    try:
        choices = current_app.extensions["hub"].hook.get_status_choices(
            integration=snapshots.integration(oi.integration, oi),
            project_id=project_id,
            mapping=mapping,
            tickets=[snapshots.external_issue(t) for t in tickets],
        )
    except HubError as e:
        said = getattr(e, "full_message", None) or str(e)  # owners and admins only see this page's editor
        editor["error"] = f"{oi.integration.name} could not be asked for its projects and statuses: {said}"
        return editor
    except Exception:  # a provider that cannot be reached still leaves the id fields
        current_app.logger.exception("web.status-choices-failed")
        editor["error"] = f"{oi.integration.name} could not be asked for its projects and statuses right now."
        return editor
    if isinstance(choices, dict):
        editor["choices"] = {
            key: list(choices.get(key) or []) for key in ("projects", "statuses", "warnings", "notes")
        }
    return editor


@bp.post("/organizations/<org_slug>/settings/integrations/")
@login_required
def install_page(org_slug: str) -> Any:
    """The by-hand install: the API's fields (provider, external id, name, metadata)."""
    org, _ = _org(org_slug, admin=True)
    form = request.form
    provider = form.get("provider", "")
    metadata = {k[9:]: v for k, v in form.items() if k.startswith("metadata.") and v.strip()}
    body = {
        "provider": provider,
        "externalId": form.get("externalId", "").strip(),
        "name": form.get("name", ""),
        "metadata": metadata,
    }
    result = call(api_integrations.install_integration, "POST", body, org_slug=org.slug)
    if result.ok:
        flash(f"Installed {result.data.get('name')}.", "ok")
        return redirect(url_for("web.integrations_page", org_slug=org.slug))
    errors = {"_provider": provider, "_detail": result.detail, **_flat_keys(result.errors)}
    return integrations_page(org_slug, errors=errors, status=400)


def _flat_keys(errors: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (errors or {}).items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


@bp.post("/organizations/<org_slug>/settings/integrations/<int:integration_id>/")
@login_required
def integration_settings(org_slug: str, integration_id: int) -> Any:
    """Sync toggles, a status mapping, or uninstall (owner/admin)."""
    org, _ = _org(org_slug, admin=True)
    oi = (
        db.session.scalar(
            select(m.OrganizationIntegration).where(
                m.OrganizationIntegration.organization_id == org.id,
                m.OrganizationIntegration.integration_id == integration_id,
            )
        )
        if integration_id < 2**31
        else None
    )
    if oi is None:
        abort(404)
    ids = {"org_slug": org.slug, "integration_id": str(integration_id)}
    kind = request.form.get("form")
    seen = request.form.get("seen")
    if kind == "mapping":
        fields = {k: (request.form.get(k) or "").strip() for k in ("external_id", "resolved", "unresolved")}
        row = db.session.scalar(
            select(m.IntegrationExternalProject).where(
                m.IntegrationExternalProject.organization_integration_id == oi.id,
                m.IntegrationExternalProject.external_id == fields["external_id"],
            )
        )
        if seen is not None and seen != present.fingerprint(_mapping_seen(row)):
            flash(f"The mapping of project {fields['external_id']} was {STALE}", "error")
            return redirect(
                url_for("web.integrations_page", org_slug=org.slug, mapping=integration_id,
                        project=fields["external_id"]) + f"#mapping-{integration_id}"
            )
        result = call(
            api_integrations.create_external_project,
            "POST",
            {
                "externalId": fields["external_id"],
                "resolvedStatus": fields["resolved"],
                "unresolvedStatus": fields["unresolved"],
            },
            **ids,
        )
        _flash_result(result, "Status mapping saved.")
        if fields["external_id"]:  # back to the editor: it shows what the provider can check
            return redirect(
                url_for(
                    "web.integrations_page",
                    org_slug=org.slug,
                    mapping=integration_id,
                    project=fields["external_id"],
                )
                + f"#mapping-{integration_id}"
            )
    elif kind == "uninstall":
        if request.form.get("confirm") != oi.integration.name:
            flash(f"To uninstall, type the integration's name ({oi.integration.name}) to confirm.", "error")
        else:
            _flash_result(
                call(api_integrations.delete_integration, "DELETE", None, **ids),
                f"Uninstalled {oi.integration.name}.",
            )
    elif kind == "test":
        _test_connection(oi)
    elif seen is not None and seen != present.fingerprint(oi.config or {}):
        flash(f"The sync options of {oi.integration.name} were {STALE}", "error")
    else:
        config = {k: request.form.get(k) == "on" for k in m.SYNC_CONFIG_KEYS}
        _flash_result(call(api_integrations.update_integration, "PUT", {"config": config}, **ids), "Saved.")
    return redirect(url_for("web.integrations_page", org_slug=org.slug))


def _test_connection(oi: m.OrganizationIntegration) -> None:
    """Ask the provider's plugin to re-check the stored credentials (its install check, nothing stored)."""
    from hub import snapshots

    integration = snapshots.integration(oi.integration, oi)
    try:
        current_app.extensions["hub"].hook.install_integration(
            provider=integration.provider,
            external_id=integration.external_id,
            name=integration.name,
            metadata=dict(integration.metadata),
            organization_id=str(oi.organization_id),
        )
    except Exception as e:  # the plugin's typed errors and anything else: a message, never a 500
        message = getattr(e, "message", None) or getattr(e, "detail", None) or type(e).__name__
        flash(f"{integration.name}: the connection test failed: {message}", "error")
        return
    flash(f"{integration.name}: the plugin's install check passed with the stored credentials.", "ok")


# -- alert rules -------------------------------------------------------------------------------


@bp.route("/organizations/<org_slug>/settings/rules/", methods=["GET", "POST"])
@login_required
def rules_page(org_slug: str) -> Any:
    org, member = _org(org_slug)
    projects = db.session.scalars(
        select(m.Project).where(m.Project.organization_id == org.id).order_by(m.Project.slug)
    ).all()
    providers = current_app.extensions["hub"].providers()
    posters = [
        oi
        for oi in _org_integrations(org)
        if oi.status != "disabled"
        and "notifications" in providers.get(oi.integration.provider, {}).get("features", ())
    ]
    errors: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        _org(org_slug, admin=True)
        form = request.form
        project = next((p for p in projects if p.slug == form.get("project")), None)
        if form.get("form") == "delete":
            if project is None:
                abort(404)
            _flash_result(
                call(
                    api_rules.delete_rule,
                    "DELETE",
                    None,
                    org_slug=org.slug,
                    project_slug=project.slug,
                    rule_id=form.get("rule", ""),
                ),
                "Rule deleted.",
            )
            return redirect(url_for("web.rules_page", org_slug=org.slug))
        body = {
            "name": form.get("name", "").strip(),
            "conditions": [{"id": c} for c in form.getlist("conditions")],
            "actions": [
                {
                    "integrationId": form.get("integrationId", ""),
                    "channelId": form.get("channelId", "").strip(),
                }
            ],
        }
        if project is None:
            errors = {"project": ["Choose a project."]}
        else:
            view: Callable[..., Any] = api_rules.create_rule
            kwargs: dict[str, str] = {}
            if form.get("rule"):
                view, kwargs = api_rules.update_rule, {"rule_id": form["rule"]}
            result = _stale_rule(org, form) or call(
                view,
                "PUT" if kwargs else "POST",
                body,
                org_slug=org.slug,
                project_slug=project.slug,
                **kwargs,
            )
            if result.ok:
                flash("Rule saved.", "ok")
                return redirect(url_for("web.rules_page", org_slug=org.slug))
            errors = {"_detail": result.detail, **_flat_keys(result.errors)}
            if result.status == 404:
                abort(404)
            status = result.status if result.status == 409 else 400
        if project is None:
            status = 400
    rules = db.session.scalars(
        select(m.AlertRule)
        .join(m.Project, m.Project.id == m.AlertRule.project_id)
        .where(m.Project.organization_id == org.id)
        .order_by(m.AlertRule.id)
    ).all()
    return page(
        "rules.html",
        org,
        member,
        status=status,
        rules=rules,
        projects=projects,
        posters=posters,
        conditions=CONDITIONS,
        errors=errors,
        values=request.form,
        editing=request.args.get("edit"),
        names={oi.integration_id: oi.integration.name for oi in _org_integrations(org)},
        rule_seen=_rule_seen,
        stale=status == 409,
        title=f"Alert rules · {org.name}",
    )


def _stale_rule(org: m.Organization, form: Any) -> Result | None:
    """A 409 when the edited rule was deleted or changed since the form was rendered."""
    if not form.get("rule"):
        return None
    rule = db.session.get(m.AlertRule, parse_id(form["rule"]) or -1)
    project = db.session.get(m.Project, rule.project_id) if rule is not None else None
    if rule is None or project is None or project.organization_id != org.id:
        return Result(409, detail="This rule was deleted since you opened the page: nothing was saved.")
    if form.get("seen") is not None and form["seen"] != present.fingerprint(_rule_seen(rule)):
        return Result(409, detail=f"This rule was {STALE}")
    return None


# -- members -----------------------------------------------------------------------------------


@bp.route("/organizations/<org_slug>/settings/members/", methods=["GET", "POST"])
@login_required
def members_page(org_slug: str) -> Any:
    org, member = _org(org_slug)
    errors: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        _org(org_slug, admin=True)
        user = current_user()
        assert user is not None  # login_required
        form = request.form
        if form.get("form") in ("approve", "reject"):
            try:
                services.handle_invite_request(
                    form.get("invite", "0"), form["form"] == "approve", str(user.id)
                )
                flash(
                    "Invite request approved." if form["form"] == "approve" else "Invite request rejected.",
                    "ok",
                )
            except ValidationError as e:
                flash(e.detail, "error")
            return redirect(url_for("web.members_page", org_slug=org.slug))
        body = {
            "email": form.get("email", "").strip(),
            "role": form.get("role", "member"),
            "projects": form.getlist("projects"),
        }
        result = call(api_orgs.create_member, "POST", body, org_slug=org.slug)
        if result.ok:
            flash(f"Invited {body['email']}.", "ok")
            return redirect(url_for("web.members_page", org_slug=org.slug))
        errors, status = {"_detail": result.detail, **_flat_keys(result.errors)}, result.status
    members = db.session.scalars(
        select(m.OrganizationMember)
        .where(m.OrganizationMember.organization_id == org.id)
        .order_by(m.OrganizationMember.id)
    ).all()
    invites = db.session.scalars(
        select(m.InviteRequest).where(
            m.InviteRequest.organization_id == org.id, m.InviteRequest.status == "pending"
        )
    ).all()
    projects = db.session.scalars(
        select(m.Project).where(m.Project.organization_id == org.id).order_by(m.Project.slug)
    ).all()
    return page(
        "members.html",
        org,
        member,
        status=status,
        members=members,
        invites=invites,
        projects=projects,
        roles=m.ROLES,
        errors=errors,
        values=request.form,
        title=f"Members · {org.name}",
    )


# -- projects and keys -------------------------------------------------------------------------


@bp.route("/organizations/<org_slug>/settings/projects/", methods=["GET", "POST"])
@login_required
def projects_page(org_slug: str) -> Any:
    org, member = _org(org_slug)
    errors: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        _org(org_slug, admin=True)
        body = {
            "slug": request.form.get("slug", "").strip() or None,
            "name": request.form.get("name", "").strip(),
        }
        result = call(
            api_orgs.create_project_view, "POST", {k: v for k, v in body.items() if v}, org_slug=org.slug
        )
        if result.ok:
            flash(f"Project {result.data['slug']} created.", "ok")
            return redirect(url_for("web.projects_page", org_slug=org.slug))
        errors, status = {"_detail": result.detail, **_flat_keys(result.errors)}, result.status
    projects = db.session.scalars(
        select(m.Project).where(m.Project.organization_id == org.id).order_by(m.Project.slug)
    ).all()
    base = current_app.config["HUB_BASE_URL"]
    keys = {
        p.id: [
            (k, dsn(base, k))
            for k in db.session.scalars(
                select(m.ProjectKey).where(m.ProjectKey.project_id == p.id).order_by(m.ProjectKey.id)
            )
        ]
        for p in projects
    }
    return page(
        "projects.html",
        org,
        member,
        status=status,
        projects=projects,
        keys=keys,
        errors=errors,
        values=request.form,
        title=f"Projects & keys · {org.name}",
    )


@bp.post("/organizations/<org_slug>/settings/projects/<project_slug>/keys/")
@login_required
def project_keys(org_slug: str, project_slug: str) -> Any:
    """Add a key (rotation: add one, deploy its DSN, then disable the old one), disable or enable one."""
    org, _ = _org(org_slug, admin=True)
    project = db.session.scalar(
        select(m.Project).where(m.Project.organization_id == org.id, m.Project.slug == project_slug)
    )
    if project is None:
        abort(404)
    ids = {"org_slug": org.slug, "project_slug": project.slug}
    kind = request.form.get("form")
    if kind == "add":
        name = request.form.get("name", "").strip()
        result = call(api_keys.create_key, "POST", {"name": name} if name else {}, **ids)
        _flash_result(
            result,
            "Key added: deploy its DSN, then disable the old key." if result.ok else "",
        )
    elif kind in ("disable", "enable"):
        key = db.session.scalar(
            select(m.ProjectKey).where(
                m.ProjectKey.project_id == project.id,
                m.ProjectKey.id == (parse_id(request.form.get("key", "")) or -1),
            )
        )
        if key is None:
            abort(404)
        active = kind == "enable"
        if key.is_active == active:  # a stale page: someone did it meanwhile
            state = "active" if active else "disabled"
            flash(f"Key {key.name} was already {state}: nothing changed.", "error")
        else:
            result = call(api_keys.update_key, "PUT", {"isActive": active}, key_id=str(key.id), **ids)
            done = "enabled." if active else "disabled: events sent with it are refused."
            _flash_result(result, f"Key {key.name} {done}")
    else:
        flash("Unknown form.", "error")
    return redirect(url_for("web.projects_page", org_slug=org.slug) + f"#project-{project.slug}")


# -- the sync ledger ---------------------------------------------------------------------------

#: Outbound kinds whose payload names the linked ticket they act on.
TICKET_JOBS = ("sync_status_outbound", "sync_assignee_outbound", "sync_comment_outbound")


def _ledger_filters(org: m.Organization) -> tuple[m.ExternalIssue | None, m.OrganizationIntegration | None]:
    """``?ticket=<link id>`` and ``?integration=<id>``, each of this org (else 404)."""
    ext = oi = None
    if request.values.get("ticket"):
        ext = db.session.get(m.ExternalIssue, parse_id(request.values["ticket"]) or -1)
        if ext is None or ext.organization_id != org.id:
            abort(404)
    integration_id = ext.integration_id if ext else parse_id(request.values.get("integration") or "")
    if integration_id is not None or request.values.get("integration"):
        oi = db.session.scalar(
            select(m.OrganizationIntegration).where(
                m.OrganizationIntegration.organization_id == org.id,
                m.OrganizationIntegration.integration_id == (integration_id or -1),
            )
        )
        if oi is None:
            abort(404)
    return ext, oi


def _ledger_outbox(
    org: m.Organization, ext: m.ExternalIssue | None, oi: m.OrganizationIntegration | None
) -> list[m.OutboxEntry]:
    query = select(m.OutboxEntry).where(m.OutboxEntry.organization_id == org.id)
    if oi is not None:
        query = query.where(m.OutboxEntry.integration_id == oi.integration_id)
    if ext is None:
        return list(db.session.scalars(query.order_by(m.OutboxEntry.date_created.desc()).limit(100)))
    rows = db.session.scalars(
        query.where(m.OutboxEntry.kind.in_(TICKET_JOBS)).order_by(m.OutboxEntry.date_created.desc()).limit(1000)
    )  # the ticket is in the JSON payload: read the integration's recent jobs, keep the ticket's
    return [r for r in rows if (r.payload or {}).get("external_issue_id") == ext.id][:100]


@bp.route("/organizations/<org_slug>/settings/deliveries/", methods=["GET", "POST"])
@login_required
def ledger_page(org_slug: str) -> Any:
    """The sync ledger (owners and admins): deliveries with what each change did, and outbound jobs
    with their outcome or the provider's error; per linked ticket with ``?ticket=<link id>``."""
    org, member = _org(org_slug, admin=True)
    ext, oi = _ledger_filters(org)
    if request.method == "POST":
        return _ledger_action(org, ext, oi)
    deliveries = api_deliveries.org_deliveries(
        org, ticket=ext.key if ext else None, integration_id=oi.integration_id if oi else None, limit=100
    )
    for d in deliveries:
        d["received"] = present.parse_iso(d.get("dateReceived"))
    return page(
        "deliveries.html",
        org,
        member,
        deliveries=deliveries,
        outbox=_ledger_outbox(org, ext, oi),
        ticket=ext,
        integration=oi,
        retryable=jobs.RETRYABLE,
        names={r.integration_id: r.integration.name for r in _org_integrations(org)},
        title=f"Sync ledger · {org.name}",
    )


def _ledger_action(
    org: m.Organization, ext: m.ExternalIssue | None, oi: m.OrganizationIntegration | None
) -> Any:
    """Replay a delivery (through the API's view) or retry a failed or dead outbound job."""
    form = request.form
    if form.get("form") == "replay":
        did = form.get("delivery", "")
        result = call(api_deliveries.replay_delivery, "POST", None, org_slug=org.slug, delivery_id=did)
        if result.status == 404:
            abort(404)
        if result.ok:
            states = ", ".join(c["state"] for c in result.data.get("changes", [])) or result.data["state"]
            flash(f"Delivery {result.data['replayOf']} replayed as #{result.data['id']}: {states}.", "ok")
        else:
            _flash_result(result, "")
    elif form.get("form") == "retry":
        row = db.session.get(m.OutboxEntry, form.get("job", "")[:32])
        if row is None or row.organization_id != org.id:
            abort(404)
        outcome = jobs.retry_entry(row.id)
        if not outcome:
            db.session.refresh(row)
            flash(f"Job {row.id[:8]} is {row.status} now: nothing to retry.", "error")
        else:
            flash(f"Job {row.id[:8]} sent again: {outcome}.", "ok")
    else:
        flash("Unknown form.", "error")
    args: dict[str, Any] = (
        {"ticket": str(ext.id)} if ext else ({"integration": str(oi.integration_id)} if oi else {})
    )
    return redirect(url_for("web.ledger_page", org_slug=org.slug, **args))


@bp.get("/organizations/<org_slug>/settings/deliveries/legacy/")
@login_required
def deliveries_page(org_slug: str) -> Any:  # the old endpoint name, for links that name it
    return redirect(url_for("web.ledger_page", org_slug=org_slug))
