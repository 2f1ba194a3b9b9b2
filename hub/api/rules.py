"""Alert rules of a project."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, jsonify
from sqlalchemy import select

from hub import models as m
from hub import upserts
from hub.api import schemas as s
from hub.api.core import ApiAbort, authenticated, bp, get_org, get_project, parse_body
from hub.api.docs import doc
from hub.extensions import db
from hub.models.base import iso, parse_id

#: Who may create, replace or delete an alert rule (as the settings page); any member lists them.
ADMINS = ("owner", "admin")


def rule_json(rule: m.AlertRule) -> dict[str, Any]:
    return {"id": str(rule.id), "name": rule.name, "conditions": rule.conditions, "actions": rule.actions,
            "dateCreated": iso(rule.date_created)}


@bp.get("/projects/<org_slug>/<project_slug>/rules/")
@doc("/api/0/projects/{org}/{project}/rules/", "get", "List alert rules", response=s.RuleOut, many=True)
@authenticated
def list_rules(org_slug: str, project_slug: str) -> Any:
    project = get_project(get_org(org_slug), project_slug)
    rules = db.session.scalars(
        select(m.AlertRule).where(m.AlertRule.project_id == project.id).order_by(m.AlertRule.id)
    )
    return jsonify([rule_json(r) for r in rules])


@bp.post("/projects/<org_slug>/<project_slug>/rules/")
@doc("/api/0/projects/{org}/{project}/rules/", "post", "Create an alert rule", body=s.RuleCreate,
     response=s.RuleOut, status=201)
@authenticated
def create_rule(org_slug: str, project_slug: str) -> Any:
    org = get_org(org_slug, roles=ADMINS)
    project = get_project(org, project_slug)
    data = parse_body(s.RuleCreate())
    _check_actions(org, data["actions"])
    upserts.lock(m.Project, [project.id])  # 32 identical creates make one rule
    for other in db.session.scalars(select(m.AlertRule).where(m.AlertRule.project_id == project.id)):
        if (other.conditions, other.actions) == (data["conditions"], data["actions"]):
            db.session.rollback()  # as Sentry: an exact duplicate would post every alert twice
            raise ApiAbort(409, f"This rule is an exact duplicate of {other.name!r} in this project.",
                           {"actions": ["The same conditions and actions as another rule."]})
    rule = m.AlertRule(
        project_id=project.id, name=data["name"], conditions=data["conditions"], actions=data["actions"]
    )
    db.session.add(rule)
    db.session.commit()
    return jsonify(rule_json(rule)), 201


def _check_actions(org: m.Organization, actions: list[dict[str, Any]]) -> None:
    """Each action names an installed integration of the org whose provider can post (``notifications``)."""
    providers = current_app.extensions["hub"].providers()
    installed = {
        str(oi.integration_id): oi.integration.provider for oi in db.session.scalars(
            select(m.OrganizationIntegration).where(m.OrganizationIntegration.organization_id == org.id,
                                                    m.OrganizationIntegration.status != "disabled"))
    }
    bad = [a["integrationId"] for a in actions if a["integrationId"] not in installed]
    if bad:
        raise ApiAbort(400, "Unknown integration.",
                       {"actions": [f"No integration {x} in this organization." for x in bad]})
    mute = [a["integrationId"] for a in actions
            if "notifications" not in providers.get(installed[a["integrationId"]], {}).get("features", ())]
    if mute:
        raise ApiAbort(400, "That integration cannot post alerts.",
                       {"actions": [f"Integration {x} ({installed[x]}) cannot post messages." for x in mute]})
    wrong = [a for a in actions
             if not re.fullmatch(providers[installed[a["integrationId"]]].get("channel_pattern") or ".*",
                                 a["channelId"])]
    if wrong:
        raise ApiAbort(400, "Not a channel id of that integration.",
                       {"actions": [f"{a['channelId']!r} is not a {installed[a['integrationId']]} channel id."
                                    for a in wrong]})


def _get_rule(project: m.Project, rule_id: str) -> m.AlertRule:
    rule = db.session.get(m.AlertRule, parse_id(rule_id)) if parse_id(rule_id) else None
    if rule is None or rule.project_id != project.id:
        raise ApiAbort(404, "The requested resource does not exist.")
    return rule


@bp.put("/projects/<org_slug>/<project_slug>/rules/<rule_id>/")
@doc("/api/0/projects/{org}/{project}/rules/{rule_id}/", "put", "Replace an alert rule", body=s.RuleCreate,
     response=s.RuleOut)
@authenticated
def update_rule(org_slug: str, project_slug: str, rule_id: str) -> Any:
    org = get_org(org_slug, roles=ADMINS)
    rule = _get_rule(get_project(org, project_slug), rule_id)
    data = parse_body(s.RuleCreate())
    _check_actions(org, data["actions"])
    rule.name, rule.conditions, rule.actions = data["name"], data["conditions"], data["actions"]
    db.session.commit()
    return jsonify(rule_json(rule))


@bp.delete("/projects/<org_slug>/<project_slug>/rules/<rule_id>/")
@doc("/api/0/projects/{org}/{project}/rules/{rule_id}/", "delete", "Delete an alert rule", status=204)
@authenticated
def delete_rule(org_slug: str, project_slug: str, rule_id: str) -> Any:
    rule = _get_rule(get_project(get_org(org_slug, roles=ADMINS), project_slug), rule_id)
    db.session.delete(rule)
    db.session.commit()
    return "", 204
