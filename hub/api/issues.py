"""Events, issues, their activity and their links to provider tickets."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import current_app, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hub import issue_search, issues, snapshots, upserts
from hub import models as m
from hub.api import schemas as s
from hub.api.core import ApiAbort, authenticated, bp, get_org, get_project, parse_body
from hub.api.docs import doc
from hub.auth import current_user
from hub.errors import ApiError, ApiNotFound, ApiUnauthorized, PluginError
from hub.extensions import db
from hub.ingest import ingest_event, resolution_details
from hub.integrations import mark_healthy, mark_needs_attention
from hub.models.base import MAX_ID, iso, parse_id

MAX_LIMIT = 100


def issue_json(group: m.Group, links: list[m.ExternalIssue] | None = None) -> dict[str, Any]:
    if links is None:
        links = list(db.session.scalars(
            select(m.ExternalIssue).join(m.GroupLink, m.GroupLink.external_issue_id == m.ExternalIssue.id)
            .where(m.GroupLink.group_id == group.id).order_by(m.GroupLink.id)
        ))
    assignee = group.assignee.user if group.assignee else None
    org_slug = group.project.organization.slug
    return {
        "id": str(group.id),
        "shortId": group.short_id,
        "title": group.title,
        "culprit": group.culprit,
        "level": group.level,
        "status": group.status,
        "statusDetails": {k: v for k, v in (group.status_details or {}).items()
                          if k in ("inNextRelease", "inRelease")},
        "project": {"id": str(group.project_id), "slug": group.project.slug, "name": group.project.name},
        "assignedTo": {"type": "user", "id": str(assignee.id), "email": assignee.email, "name": assignee.name}
        if assignee else None,
        "externalIssues": [
            {"id": str(x.id), "integrationId": str(x.integration_id), "provider": x.integration.provider,
             "key": x.key, "url": x.url, "title": x.title}
            for x in links
        ],
        "count": str(group.times_seen),  # Sentry serves an issue's count as a string
        "firstSeen": iso(group.first_seen),
        "lastSeen": iso(group.last_seen),
        "permalink": snapshots.group_url(org_slug, group.id),
    }


def _get_group(org: m.Organization, issue_id: str) -> m.Group:
    group_id = parse_id(issue_id)
    group = db.session.get(m.Group, group_id) if group_id else None
    if group is None or group.organization_id != org.id:
        raise ApiAbort(404, "The requested resource does not exist.")
    return group


# -- events -------------------------------------------------------------------------------------


@bp.post("/projects/<org_slug>/<project_slug>/events/")
@doc("/api/0/projects/{org}/{project}/events/", "post", "Store an event", body=s.EventCreate,
     response=s.EventOut, status=201)
@authenticated
def create_event(org_slug: str, project_slug: str) -> Any:
    project = get_project(get_org(org_slug), project_slug)
    data = parse_body(s.EventCreate())
    result = ingest_event(project, data)
    db.session.commit()
    return jsonify({"eventId": result.event_id, "groupId": str(result.group_id), "isNew": result.is_new}), 201


# -- issues -------------------------------------------------------------------------------------


@bp.get("/organizations/<org_slug>/issues/")
@doc("/api/0/organizations/{org}/issues/", "get",
     "List issues, most recently seen first (Link header pages); query: is:, assigned:, project:, linked:, "
     "level: and free text",
     response=s.IssueOut, many=True)
@authenticated
def list_issues(org_slug: str) -> Any:
    org = get_org(org_slug)
    query = select(m.Group).where(m.Group.organization_id == org.id)
    errors: dict[str, list[str]] = {}
    project = request.args.get("project")
    if project:
        p = db.session.scalar(select(m.Project).where(
            m.Project.organization_id == org.id,
            (m.Project.slug == project) | (m.Project.id == (parse_id(project) or -1))))
        if p is None:
            errors["project"] = ["Unknown project."]
        else:
            query = query.where(m.Group.project_id == p.id)
    status = request.args.get("status")
    if status:
        if status not in m.STATUSES:
            errors["status"] = [f"Must be one of: {', '.join(m.STATUSES)}."]
        query = query.where(m.Group.status == status)
    try:
        limit = int(request.args.get("limit", 25))
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except ValueError:
        errors["limit"] = [f"Must be an integer from 1 to {MAX_LIMIT}."]
        limit = 25
    search = request.args.get("query")
    if search:
        terms, free, problems = issue_search.parse(search)
        query, by_term = issue_search.apply(query, org, current_user(), terms, free,
                                            sorted(current_app.extensions["hub"].providers()))
        problems += [f"{key}: {msg}" for key, msgs in by_term.items() for msg in msgs]
        if problems:
            errors["query"] = problems
    offset = _cursor_offset(request.args.get("cursor"), errors)
    if errors:
        raise ApiAbort(400, "Invalid query.", errors)
    rows = list(db.session.scalars(query.order_by(m.Group.last_seen.desc(), m.Group.id.desc())
                                   .offset(offset).limit(limit + 1)))
    has_next = len(rows) > limit
    rows = rows[:limit]
    links = _links_for(rows)
    response = jsonify([issue_json(g, links.get(g.id, [])) for g in rows])
    response.headers["Link"] = _link_header(offset, limit, has_next)
    return response


def _cursor_offset(cursor: str | None, errors: dict[str, list[str]]) -> int:
    if not cursor:
        return 0
    try:
        _, offset, _ = cursor.split(":")
        value = int(offset)
        if not 0 <= value <= MAX_ID:  # beyond that, the database refuses the OFFSET (a 500)
            raise ValueError
        return value
    except ValueError:
        errors["cursor"] = ["Invalid cursor."]
        return 0


def _link_header(offset: int, limit: int, has_next: bool) -> str:
    args = {k: v for k, v in request.args.items() if k != "cursor"}
    base = request.base_url

    def link(cursor: str, rel: str, results: bool) -> str:
        url = f"{base}?{urlencode({**args, 'cursor': cursor})}"
        return f'<{url}>; rel="{rel}"; results="{str(results).lower()}"; cursor="{cursor}"'

    previous = f"0:{max(0, offset - limit)}:1"
    return ", ".join([link(previous, "previous", offset > 0),
                      link(f"0:{offset + limit}:0", "next", has_next)])


def _links_for(groups: list[m.Group]) -> dict[int, list[m.ExternalIssue]]:
    out: dict[int, list[m.ExternalIssue]] = {g.id: [] for g in groups}
    if groups:
        for group_id, ext in db.session.execute(
            select(m.GroupLink.group_id, m.ExternalIssue)
            .join(m.ExternalIssue, m.ExternalIssue.id == m.GroupLink.external_issue_id)
            .where(m.GroupLink.group_id.in_(list(out))).order_by(m.GroupLink.id)
        ):
            out[group_id].append(ext)
    return out


@bp.get("/organizations/<org_slug>/issues/<issue_id>/")
@doc("/api/0/organizations/{org}/issues/{id}/", "get", "Get an issue", response=s.IssueOut)
@authenticated
def get_issue(org_slug: str, issue_id: str) -> Any:
    return jsonify(issue_json(_get_group(get_org(org_slug), issue_id)))


@bp.put("/organizations/<org_slug>/issues/<issue_id>/")
@doc("/api/0/organizations/{org}/issues/{id}/", "put", "Update an issue's status and assignee",
     body=s.IssueUpdate, response=s.IssueOut)
@authenticated
def update_issue(org_slug: str, issue_id: str) -> Any:
    org = get_org(org_slug)
    group = _get_group(org, issue_id)
    data = parse_body(s.IssueUpdate())
    actor = current_user()
    assignee_given = "assignedTo" in data
    assignee = _resolve_assignee(org, data["assignedTo"]) if assignee_given and data["assignedTo"] else None
    status = data.get("status", "resolved" if data.get("statusDetails") else None)
    details = (resolution_details(group.project_id, data.get("statusDetails"))
               if status == "resolved" else None)
    if assignee_given:
        issues.change_assignee([group], assignee, actor=actor)
    if status:
        issues.change_status([group], status, actor=actor, status_details=details)
    db.session.commit()
    return jsonify(issue_json(group))


def _resolve_assignee(org: m.Organization, value: str) -> m.User:
    if value.startswith("user:"):
        ident = value[5:]
        user = db.session.get(m.User, parse_id(ident)) if parse_id(ident) else None
    else:
        user = db.session.scalar(select(m.User).where(func.lower(m.User.email) == value.strip().lower()))
    member = user is not None and db.session.scalar(
        select(m.OrganizationMember.id).where(m.OrganizationMember.organization_id == org.id,
                                              m.OrganizationMember.user_id == user.id))
    if user is None or not member:
        raise ApiAbort(400, "Unknown assignee.", {"assignedTo": ["No member of this organization matches."]})
    return user


@bp.get("/organizations/<org_slug>/issues/<issue_id>/activities/")
@doc("/api/0/organizations/{org}/issues/{id}/activities/", "get", "List an issue's activity, newest first",
     response=s.ActivityOut, many=True)
@authenticated
def list_activities(org_slug: str, issue_id: str) -> Any:
    group = _get_group(get_org(org_slug), issue_id)
    rows = db.session.scalars(select(m.Activity).where(m.Activity.group_id == group.id)
                              .order_by(m.Activity.date_created.desc(), m.Activity.id.desc()))
    return jsonify([snapshots.activity_json(a) for a in rows])


# -- comments -----------------------------------------------------------------------------------


@bp.post("/organizations/<org_slug>/issues/<issue_id>/comments/")
@doc("/api/0/organizations/{org}/issues/{id}/comments/", "post",
     "Comment on an issue (synced when sync_comments)",
     body=s.CommentCreate, response=s.ActivityOut, status=201)
@authenticated
def create_comment(org_slug: str, issue_id: str) -> Any:
    group = _get_group(get_org(org_slug), issue_id)
    data = parse_body(s.CommentCreate())
    activity = issues.add_note(group, data["text"], actor=current_user())
    db.session.commit()
    return jsonify(snapshots.activity_json(activity)), 201


@bp.put("/organizations/<org_slug>/issues/<issue_id>/comments/<activity_id>/")
@doc("/api/0/organizations/{org}/issues/{id}/comments/{activity_id}/", "put", "Edit a comment",
     body=s.CommentCreate, response=s.ActivityOut)
@authenticated
def update_comment(org_slug: str, issue_id: str, activity_id: str) -> Any:
    group = _get_group(get_org(org_slug), issue_id)
    activity = db.session.get(m.Activity, parse_id(activity_id)) if parse_id(activity_id) else None
    if activity is None or activity.group_id != group.id or activity.type != "note":
        raise ApiAbort(404, "The requested resource does not exist.")
    user = current_user()
    if user is None or activity.user_id != user.id:
        raise ApiAbort(403, "Only the author can edit a comment.")
    data = parse_body(s.CommentCreate())
    issues.edit_note(activity, data["text"])
    db.session.commit()
    return jsonify(snapshots.activity_json(activity))


# -- external issues ----------------------------------------------------------------------------


def _org_integration(org: m.Organization, integration_id: str) -> m.OrganizationIntegration:
    oi = db.session.scalar(
        select(m.OrganizationIntegration).where(
            m.OrganizationIntegration.organization_id == org.id,
            m.OrganizationIntegration.integration_id == (parse_id(integration_id) or -1),
        )
    )
    if oi is None or oi.status == "disabled" or oi.integration.status != "active":
        raise ApiAbort(400, "Unknown integration.",
                       {"integrationId": ["No active integration with this id."]})
    return oi


def _remember_provider_error(oi: m.OrganizationIntegration, error: BaseException | None) -> None:
    """What the provider said goes on the integration's ``error`` (owners and admins see it), never
    into the answer: the caller reads the hub's words only. An unknown key is not the integration's fault."""
    if isinstance(error, ApiError) and not isinstance(error, ApiNotFound):
        oi.error = error.full_message[:2000]
        db.session.commit()


@bp.post("/organizations/<org_slug>/issues/<issue_id>/external-issues/")
@doc("/api/0/organizations/{org}/issues/{id}/external-issues/", "post", "Create or link a provider ticket",
     body=s.ExternalIssueCreate, response=s.ExternalIssueOut, status=201)
@authenticated
def create_external_issue(org_slug: str, issue_id: str) -> Any:
    org = get_org(org_slug)
    group = _get_group(org, issue_id)
    data = parse_body(s.ExternalIssueCreate())
    oi = _org_integration(org, data["integrationId"])
    integration = snapshots.integration(oi.integration, oi)
    hook = current_app.extensions["hub"].hook
    try:
        if data["action"] == "create":
            result = hook.create_external_issue(integration=integration, group=snapshots.group(group),
                                                fields=data["fields_"])
        else:
            result = hook.get_external_issue(integration=integration, key=data["externalIssue"])
    except PluginError as e:
        _remember_provider_error(oi, e.__cause__)
        raise ApiAbort(400, e.message, e.errors) from e
    except ApiUnauthorized as e:
        mark_needs_attention(oi.integration_id, oi.organization_id, e.full_message)
        raise ApiAbort(400, f"{integration.provider} refused the credentials: {e.message}") from e
    except ApiError as e:
        _remember_provider_error(oi, e)
        raise ApiAbort(400, e.message, {"externalIssue": [e.message]}) from e
    if not result or not result.get("key"):
        raise ApiAbort(400, f"Provider {integration.provider!r} cannot {data['action']} tickets.")
    ext, _ = upserts.get_or_create(
        m.ExternalIssue,
        {"organization_id": org.id, "integration_id": oi.integration_id, "key": result["key"]})
    ext.title = result.get("title") or ext.title or ""
    ext.description = result.get("description") or ext.description or ""
    ext.url = result.get("url") or ext.url or ""
    ext.metadata_ = {**(ext.metadata_ or {}), **(result.get("metadata") or {})}
    if result.get("id"):
        ext.external_id = str(result["id"])[:64]  # the stable id: a moved ticket keeps its links
    db.session.flush()
    linked = upserts.insert_missing(m.GroupLink, {"group_id": group.id, "external_issue_id": ext.id},
                                    ("group_id", "external_issue_id"))
    if not linked:
        db.session.rollback()
        raise ApiAbort(400, "That issue is already linked",
                       {"externalIssue": ["That issue is already linked"]})
    issues.record_activity(group, "create_issue", actor=current_user(), data={
        "new": data["action"] == "create", "provider": integration.provider, "key": ext.key, "url": ext.url,
        "title": ext.title, "integrationId": str(oi.integration_id)})
    try:
        db.session.commit()
    except IntegrityError as e:
        db.session.rollback()
        raise ApiAbort(400, "That issue is already linked") from e
    if oi.error or oi.status == "needs_attention":  # the provider answered: its last error is over
        mark_healthy(oi.integration_id, oi.organization_id)
    return jsonify({"id": str(ext.id), "key": ext.key, "url": ext.url, "title": ext.title,
                    "integrationId": str(ext.integration_id), "provider": integration.provider}), 201


@bp.delete("/organizations/<org_slug>/issues/<issue_id>/external-issues/<external_issue_id>/")
@doc("/api/0/organizations/{org}/issues/{id}/external-issues/{external_issue_id}/", "delete",
     "Unlink a ticket",
     status=204)
@authenticated
def delete_external_issue(org_slug: str, issue_id: str, external_issue_id: str) -> Any:
    group = _get_group(get_org(org_slug), issue_id)
    link = db.session.scalar(select(m.GroupLink).where(
        m.GroupLink.group_id == group.id,
        m.GroupLink.external_issue_id == (parse_id(external_issue_id) or -1)))
    if link is None:
        raise ApiAbort(404, "The requested resource does not exist.")
    ext_id = link.external_issue_id
    db.session.delete(link)
    db.session.flush()
    if not db.session.scalar(select(m.GroupLink.id).where(m.GroupLink.external_issue_id == ext_id).limit(1)):
        ext = db.session.get(m.ExternalIssue, ext_id)
        if ext is not None:
            db.session.delete(ext)
    db.session.commit()
    return "", 204
