"""Members, projects, client keys and invite requests."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify
from sqlalchemy import select

from hub import issues, upserts
from hub import models as m
from hub.api import event_schemas as es
from hub.api import schemas as s
from hub.api.core import ApiAbort, authenticated, bp, get_org, get_project, parse_body
from hub.api.docs import doc
from hub.api.keys import key_json
from hub.auth import current_user
from hub.extensions import db
from hub.members import (
    accept_invitation,
    check_role_grant,
    create_project,
    delete_project,
    handle_invite_request,
    invite_member,
)
from hub.models.base import iso, parse_id


def member_json(member: m.OrganizationMember) -> dict[str, Any]:
    return {
        "id": str(member.id), "userId": str(member.user_id), "email": member.user.email,
        "name": member.user.name, "role": member.role, "projects": [p.slug for p in member.projects],
        "pending": False,
    }


def invitation_json(row: m.MemberInvitation) -> dict[str, Any]:
    """A pending invitation as its org sees it: the user's email, never their name (not a member yet)."""
    return {"id": str(row.id), "userId": str(row.user_id), "email": row.user.email, "role": row.role,
            "projects": _project_slugs(row), "pending": True}


def _project_slugs(row: m.MemberInvitation) -> list[str]:
    return list(db.session.scalars(select(m.Project.slug).where(
        m.Project.organization_id == row.organization_id, m.Project.id.in_(row.project_ids or []))
        .order_by(m.Project.id)))


def project_json(project: m.Project) -> dict[str, Any]:
    return {"id": str(project.id), "slug": project.slug, "name": project.name,
            "dateCreated": iso(project.date_created)}


@bp.get("/organizations/<org_slug>/members/")
@doc("/api/0/organizations/{org}/members/", "get", "List members", response=s.MemberOut, many=True)
@authenticated
def list_members(org_slug: str) -> Any:
    org = get_org(org_slug)
    members = db.session.scalars(
        select(m.OrganizationMember).where(m.OrganizationMember.organization_id == org.id)
        .order_by(m.OrganizationMember.id)
    )
    return jsonify([member_json(x) for x in members])


@bp.post("/organizations/<org_slug>/members/")
@doc("/api/0/organizations/{org}/members/", "post", "Add a member", body=s.MemberCreate,
     response=s.MemberOut, status=201)
@authenticated
def create_member(org_slug: str) -> Any:
    org = get_org(org_slug, roles=("owner", "admin"))
    data = parse_body(s.MemberCreate())
    user = current_user()
    assert user is not None
    projects = _projects_by_slug(org, data["projects"])
    added = invite_member(org, data["email"], role=data["role"], projects=projects, name=data["name"],
                          actor=user)
    db.session.commit()
    if isinstance(added, m.MemberInvitation):
        return jsonify(invitation_json(added)), 201
    return jsonify(member_json(added)), 201


@bp.post("/organizations/<org_slug>/members/<invitation_id>/accept/")
@doc("/api/0/organizations/{org}/members/{id}/accept/", "post",
     "Accept an invitation to join an org (by the invited user only)", response=s.MemberOut, status=201)
@authenticated
def accept_member_invitation(org_slug: str, invitation_id: str) -> Any:
    user = current_user()
    org = db.session.scalar(select(m.Organization).where(m.Organization.slug == org_slug))
    if org is None or user is None:
        raise ApiAbort(404, "The requested resource does not exist.")
    member = accept_invitation(org, parse_id(invitation_id), user)
    db.session.commit()
    return jsonify(member_json(member)), 201


@bp.get("/invitations/")
@doc("/api/0/invitations/", "get", "The current user's pending invitations to join orgs",
     response=s.InvitationOut, many=True)
@authenticated
def list_my_invitations() -> Any:
    user = current_user()
    assert user is not None
    rows = db.session.scalars(select(m.MemberInvitation).where(m.MemberInvitation.user_id == user.id)
                              .order_by(m.MemberInvitation.id))
    return jsonify([{"id": str(r.id), "organization": r.organization.slug, "role": r.role,
                     "projects": _project_slugs(r), "dateCreated": iso(r.date_created)} for r in rows])


def _projects_by_slug(org: m.Organization, slugs: list[str]) -> list[m.Project]:
    projects = list(db.session.scalars(select(m.Project).where(m.Project.organization_id == org.id,
                                                               m.Project.slug.in_(slugs))))
    missing = sorted(set(slugs) - {p.slug for p in projects})
    if missing:
        raise ApiAbort(400, "Unknown project.", {"projects": [f"Unknown project: {x}" for x in missing]})
    return projects


@bp.get("/organizations/<org_slug>/projects/")
@doc("/api/0/organizations/{org}/projects/", "get", "List projects", response=s.ProjectOut, many=True)
@authenticated
def list_projects(org_slug: str) -> Any:
    org = get_org(org_slug)
    projects = db.session.scalars(select(m.Project).where(m.Project.organization_id == org.id)
                                  .order_by(m.Project.id))
    return jsonify([project_json(p) for p in projects])


@bp.post("/organizations/<org_slug>/projects/")
@doc("/api/0/organizations/{org}/projects/", "post", "Create a project", body=s.ProjectCreate,
     response=s.ProjectOut,
     status=201)
@authenticated
def create_project_view(org_slug: str) -> Any:
    org = get_org(org_slug, roles=("owner", "admin"))
    data = parse_body(s.ProjectCreate())
    project = create_project(org, data.get("slug"), data.get("name"))
    g.hub_member.projects.append(project)  # the creator can be assigned its issues
    db.session.commit()
    return jsonify(project_json(project)), 201


@bp.get("/projects/<org_slug>/<project_slug>/")
@doc("/api/0/projects/{org}/{project}/", "get", "Get a project", response=s.ProjectOut)
@authenticated
def get_project_view(org_slug: str, project_slug: str) -> Any:
    return jsonify(project_json(get_project(get_org(org_slug), project_slug)))


@bp.delete("/projects/<org_slug>/<project_slug>/")
@doc("/api/0/projects/{org}/{project}/", "delete",
     "Delete a project with its issues, rules and alert threads",
     status=204)
@authenticated
def delete_project_view(org_slug: str, project_slug: str) -> Any:
    project = get_project(get_org(org_slug, roles=("owner", "admin")), project_slug)
    delete_project(project)
    db.session.commit()
    return "", 204


@bp.get("/projects/<org_slug>/<project_slug>/keys/")
@doc("/api/0/projects/{org}/{project}/keys/", "get", "List client keys (DSNs)", response=es.KeyDetailOut,
     many=True)
@authenticated
def list_keys(org_slug: str, project_slug: str) -> Any:
    project = get_project(get_org(org_slug), project_slug)
    keys = db.session.scalars(select(m.ProjectKey).where(m.ProjectKey.project_id == project.id)
                              .order_by(m.ProjectKey.id))
    return jsonify([key_json(k) for k in keys])  # as POST and PUT answer: name and rateLimit too


# -- invite requests ----------------------------------------------------------------------------


def invite_json(row: m.InviteRequest) -> dict[str, Any]:
    return {"id": str(row.id), "email": row.email, "role": row.role, "status": row.status,
            "requester": {"id": str(row.requester.id),
                          "email": row.requester.email} if row.requester else None,
            "dateCreated": iso(row.date_created)}


@bp.post("/organizations/<org_slug>/invite-requests/")
@doc("/api/0/organizations/{org}/invite-requests/", "post", "Ask the org's admins to invite someone",
     body=s.InviteRequestCreate, status=201)
@authenticated
def create_invite_request(org_slug: str) -> Any:
    org = get_org(org_slug)
    data = parse_body(s.InviteRequestCreate())
    user = current_user()
    check_role_grant(g.hub_member.role, data["role"], requesting=True)
    upserts.lock(m.Organization, [org.id])  # one request per email at a time: 32 identical asks make one
    if db.session.scalar(select(m.InviteRequest.id).where(
            m.InviteRequest.organization_id == org.id, m.InviteRequest.status == "pending",
            m.InviteRequest.email == data["email"].lower())) is not None:
        db.session.rollback()
        raise ApiAbort(409, "An invite request for this email is already pending.",
                       {"email": ["Already requested."]})
    row = m.InviteRequest(organization_id=org.id, email=data["email"].lower(), role=data["role"],
                          requester_id=user.id if user else None, status="pending", organization=org)
    db.session.add(row)
    db.session.flush()
    for integration_id, channel_id in _chat_channels(org):
        issues.add_outbox("notify_invite_request",
                          {"invite_request_id": row.id, "integration_id": integration_id,
                           "channel_id": channel_id},
                          organization_id=org.id, integration_id=integration_id)
    db.session.commit()
    return jsonify(invite_json(row)), 201


def _chat_channels(org: m.Organization) -> list[tuple[int, str]]:
    """Per chat integration of the org, its alert channel: the first rule action naming it."""
    providers = current_app.extensions["hub"].providers()
    chat = {k for k, info in providers.items() if "chat-actions" in info.get("features", ())}
    installed = {
        oi.integration_id
        for oi in db.session.scalars(
            select(m.OrganizationIntegration).where(m.OrganizationIntegration.organization_id == org.id,
                                                    m.OrganizationIntegration.status != "disabled")
        )
        if oi.integration.provider in chat and oi.integration.status == "active"
    }
    channels: dict[int, str] = {}
    rules = db.session.scalars(
        select(m.AlertRule).join(m.Project, m.Project.id == m.AlertRule.project_id)
        .where(m.Project.organization_id == org.id).order_by(m.AlertRule.id)
    )
    for rule in rules:
        for action in rule.actions or []:
            integration_id = int(action["integrationId"])
            if integration_id in installed:
                channels.setdefault(integration_id, str(action["channelId"]))
    return sorted(channels.items())


@bp.get("/organizations/<org_slug>/invite-requests/")
@doc("/api/0/organizations/{org}/invite-requests/", "get", "List pending invite requests")
@authenticated
def list_invite_requests(org_slug: str) -> Any:
    org = get_org(org_slug, roles=("owner", "admin"))
    rows = db.session.scalars(select(m.InviteRequest).where(m.InviteRequest.organization_id == org.id,
                                                            m.InviteRequest.status == "pending"))
    return jsonify([invite_json(r) for r in rows])


@bp.put("/organizations/<org_slug>/invite-requests/<invite_id>/")
@doc("/api/0/organizations/{org}/invite-requests/{id}/", "put",
     "Approve (`approve: true`) or reject an invite request, as an owner or admin who may give its role",
     body=s.InviteRequestUpdate)
@authenticated
def update_invite_request(org_slug: str, invite_id: str) -> Any:
    org = get_org(org_slug, roles=("owner", "admin"))
    data = parse_body(s.InviteRequestUpdate())
    return jsonify(invite_json(_handle_invite(org, invite_id, data["approve"])))


@bp.delete("/organizations/<org_slug>/invite-requests/<invite_id>/")
@doc("/api/0/organizations/{org}/invite-requests/{id}/", "delete", "Reject an invite request", status=204)
@authenticated
def delete_invite_request(org_slug: str, invite_id: str) -> Any:
    _handle_invite(get_org(org_slug, roles=("owner", "admin")), invite_id, False)
    return "", 204


def _handle_invite(org: m.Organization, invite_id: str, approve: bool) -> m.InviteRequest:
    row = db.session.scalar(select(m.InviteRequest).where(m.InviteRequest.id == (parse_id(invite_id) or -1),
                                                          m.InviteRequest.organization_id == org.id))
    if row is None or row.status != "pending":
        raise ApiAbort(404, "This invite request no longer exists.")
    user = current_user()
    assert user is not None
    handle_invite_request(row, approve, user)
    db.session.commit()
    return row
