"""Sentry's issue search syntax, shared by the REST list (``?query=``) and the issues page.

``is:unresolved assigned:me project:backend linked:jira checkout failed`` — ``key:value`` terms
filter, the rest is free text matched against title and culprit (case-insensitive). Unknown keys
and values are errors (the caller shows them, or answers 400), never an empty list that looks real.
"""

from __future__ import annotations

import shlex
from typing import Any

from sqlalchemy import Select, exists, func, or_, select

from hub import models as m
from hub.extensions import db
from hub.models.base import parse_id

KEYS = ("is", "assigned", "project", "linked", "level")
LEVELS = ("fatal", "error", "warning", "info", "debug")


def parse(query: str) -> tuple[dict[str, str], list[str], list[str]]:
    """``(terms, free words, errors)`` of a query string."""
    try:
        words = shlex.split(query or "")
    except ValueError:
        words = (query or "").split()
    terms: dict[str, str] = {}
    free: list[str] = []
    errors: list[str] = []
    for word in words:
        key, sep, value = word.partition(":")
        if not sep or not key:
            free.append(word)
        elif key.lower() not in KEYS:
            errors.append(f"Unknown search key {key!r}: use {', '.join(k + ':' for k in KEYS)}.")
        elif not value:
            errors.append(f"{key}: needs a value.")
        else:
            terms[key.lower()] = value
    return terms, free, errors


def apply(
    query: Select[Any],
    org: m.Organization,
    user: m.User | None,
    terms: dict[str, str],
    free: list[str],
    providers: list[str],
) -> tuple[Select[Any], dict[str, list[str]]]:
    """Add the filters of ``terms`` and ``free`` to an issue query; errors by term."""
    errors: dict[str, list[str]] = {}
    status = terms.get("is")
    if status is not None:
        if status not in m.STATUSES:
            errors["is"] = [f"Must be one of: {', '.join(m.STATUSES)}."]
        query = query.where(m.Group.status == status)
    level = terms.get("level")
    if level is not None:
        if level not in LEVELS:
            errors["level"] = [f"Must be one of: {', '.join(LEVELS)}."]
        query = query.where(m.Group.level == level)
    assigned = terms.get("assigned")
    if assigned is not None:
        assignee = select(m.GroupAssignee.id).where(m.GroupAssignee.group_id == m.Group.id)
        if assigned in ("none", "nobody"):
            query = query.where(~exists(assignee))
        else:
            if assigned == "me":
                target = user
            else:
                target = db.session.scalar(
                    select(m.User)
                    .join(m.OrganizationMember)
                    .where(
                        m.OrganizationMember.organization_id == org.id,
                        func.lower(m.User.email) == assigned.lower().removeprefix("user:"),
                    )
                )
                if target is None and assigned.startswith("user:") and parse_id(assigned[5:]):
                    target = db.session.scalar(
                        select(m.User)
                        .join(m.OrganizationMember)
                        .where(
                            m.OrganizationMember.organization_id == org.id,
                            m.User.id == parse_id(assigned[5:]),
                        )
                    )
            if target is None:
                errors["assigned"] = ["No member of this organization matches (use me, none or an email)."]
            query = query.where(
                exists(assignee.where(m.GroupAssignee.user_id == (target.id if target else -1)))
            )
    project = terms.get("project")
    if project is not None:
        row = db.session.scalar(
            select(m.Project).where(m.Project.organization_id == org.id, m.Project.slug == project)
        )
        if row is None:
            errors["project"] = [f"No project {project!r} in this organization."]
        query = query.where(m.Group.project_id == (row.id if row else -1))
    linked = terms.get("linked")
    if linked is not None:
        if linked not in providers:
            errors["linked"] = [f"Must be one of: {', '.join(providers)}."]
        query = query.where(
            exists(
                select(m.GroupLink.id)
                .join(m.ExternalIssue, m.ExternalIssue.id == m.GroupLink.external_issue_id)
                .join(m.Integration, m.Integration.id == m.ExternalIssue.integration_id)
                .where(m.GroupLink.group_id == m.Group.id, m.Integration.provider == linked)
            )
        )
    for word in free:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(m.Group.title.ilike(pattern, escape="\\"), m.Group.culprit.ilike(pattern, escape="\\"))
        )
    return query, errors
