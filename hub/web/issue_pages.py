"""The issues list and the issue page: triage for every member (status, assignee, comments, tickets)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from sqlalchemy import func, select

from hub import issue_search
from hub import models as m
from hub.api import issues as api_issues
from hub.auth import current_user
from hub.extensions import db
from hub.models.base import parse_id
from hub.web import _org, bp, login_required, page, present
from hub.web.apicall import call

PAGE_SIZE = 25


def provider_names() -> dict[str, str]:
    return {k: str(v.get("name") or k) for k, v in current_app.extensions["hub"].providers().items()}


@bp.app_template_filter("ago")
def _ago(value: Any) -> str:
    return present.reltime(value)


@bp.app_template_filter("exact")
def _exact(value: Any) -> str:
    return present.exact(value)


def _query_from_filters() -> str:
    """The search box, with the filter selects folded in as ``key:value`` terms."""
    parts = [request.args.get("query", "").strip()]
    for key in ("is", "assigned", "project", "linked"):
        value = request.args.get(key, "").strip()
        if value and f"{key}:" not in parts[0]:
            parts.append(f"{key}:{value}")
    if "query" not in request.args and not any(
        request.args.get(k) for k in ("is", "assigned", "project", "linked")
    ):
        parts.append("is:unresolved")
    return " ".join(p for p in parts if p)


@bp.get("/organizations/<org_slug>/issues/")
@login_required
def issues_page(org_slug: str) -> Any:
    org, member = _org(org_slug)
    if request.args.get("status") and "is" not in request.args:  # the old ?status= links
        return redirect(url_for("web.issues_page", org_slug=org.slug, query=f"is:{request.args['status']}"))
    text = _query_from_filters()
    terms, free, problems = issue_search.parse(text)
    names = provider_names()
    query, by_term = issue_search.apply(
        select(m.Group).where(m.Group.organization_id == org.id),
        org,
        current_user(),
        terms,
        free,
        sorted(names),
    )
    problems += [f"{key}: {msg}" for key, msgs in by_term.items() for msg in msgs]
    try:
        offset = max(0, min(int(request.args.get("cursor") or 0), 10**9))
    except ValueError:
        offset = 0
    rows: list[m.Group] = []
    if not problems:
        rows = list(
            db.session.scalars(
                query.order_by(m.Group.last_seen.desc(), m.Group.id.desc())
                .offset(offset)
                .limit(PAGE_SIZE + 1)
            )
        )
    more = len(rows) > PAGE_SIZE
    projects = db.session.scalars(
        select(m.Project).where(m.Project.organization_id == org.id).order_by(m.Project.slug)
    ).all()
    members = _org_members(org)
    args = {k: v for k, v in request.args.items() if k != "cursor"}
    args["query"] = text
    for key in ("is", "assigned", "project", "linked"):
        args.pop(key, None)
    return page(
        "issues.html",
        org,
        member,
        status=400 if problems else 200,
        groups=rows[:PAGE_SIZE],
        query=text,
        terms=terms,
        problems=problems,
        projects=projects,
        members=members,
        providers=names,
        next_cursor=offset + PAGE_SIZE if more else None,
        prev_cursor=max(0, offset - PAGE_SIZE) if offset else None,
        args=args,
        links=api_issues._links_for(rows[:PAGE_SIZE]),
        title=f"Issues · {org.name}",
    )


def _org_members(org: m.Organization) -> list[m.OrganizationMember]:
    return list(
        db.session.scalars(
            select(m.OrganizationMember)
            .where(m.OrganizationMember.organization_id == org.id)
            .order_by(m.OrganizationMember.id)
        )
    )


def _group(org: m.Organization, issue_id: int) -> m.Group:
    group = db.session.get(m.Group, issue_id) if parse_id(issue_id) else None  # an id beyond the column: 404
    if group is None or group.organization_id != org.id:
        abort(404)
    return group


def _version(group: m.Group) -> str:
    """What a form saw of the issue: a later activity means someone changed it meanwhile."""
    last = db.session.scalar(select(func.max(m.Activity.id)).where(m.Activity.group_id == group.id))
    return str(last or 0)


def _assignable(group: m.Group) -> list[m.User]:
    return list(
        db.session.scalars(
            select(m.User)
            .join(m.OrganizationMember, m.OrganizationMember.user_id == m.User.id)
            .join(m.member_projects, m.member_projects.c.member_id == m.OrganizationMember.id)
            .where(
                m.OrganizationMember.organization_id == group.organization_id,
                m.member_projects.c.project_id == group.project_id,
            )
            .order_by(m.User.email)
        )
    )


def _ticket_integrations(org: m.Organization) -> list[m.OrganizationIntegration]:
    providers = current_app.extensions["hub"].providers()
    return [
        oi
        for oi in db.session.scalars(
            select(m.OrganizationIntegration)
            .where(
                m.OrganizationIntegration.organization_id == org.id,
                m.OrganizationIntegration.status != "disabled",
            )
            .order_by(m.OrganizationIntegration.id)
        )
        if oi.integration.status == "active"
        and "issue-sync" in providers.get(oi.integration.provider, {}).get("features", ())
    ]


def _issue_form(oi: m.OrganizationIntegration, group: m.Group) -> tuple[list[dict[str, Any]], str]:
    """The create-ticket fields the provider asks for (projects and issue types loaded from it)."""
    from hub import snapshots
    from hub.errors import HubError

    try:
        fields = current_app.extensions["hub"].hook.get_issue_form(
            integration=snapshots.integration(oi.integration, oi), group=snapshots.group(group)
        )
    except HubError as e:
        return [], f"{oi.integration.name} could not be asked for its projects: {e}"
    except Exception:  # a provider that cannot be reached still leaves the page usable
        current_app.logger.exception("web.issue-form-failed")
        return [], f"{oi.integration.name} could not be asked for its projects right now."
    return [f for f in (fields or []) if isinstance(f, dict) and f.get("name")], ""


@bp.route("/organizations/<org_slug>/issues/<int:issue_id>/", methods=["GET", "POST"])
@login_required
def issue_page(org_slug: str, issue_id: int) -> Any:
    org, member = _org(org_slug)
    group = _group(org, issue_id)
    errors: dict[str, Any] = {}
    form_values = request.form.to_dict() if request.method == "POST" else {}
    status = 200
    if request.method == "POST":
        result, errors = _act(org, group)
        if result is not None:
            return result
        status = 409 if errors.get("_stale") else errors.pop("_code", 400)
    names = provider_names()
    activities = db.session.scalars(
        select(m.Activity).where(m.Activity.group_id == group.id).order_by(m.Activity.id.desc()).limit(100)
    ).all()
    links = api_issues._links_for([group])[group.id]
    event = db.session.scalar(
        select(m.Event).where(m.Event.group_id == group.id).order_by(m.Event.id.desc()).limit(1)
    )
    threads = db.session.scalars(
        select(m.NotificationMessage)
        .where(m.NotificationMessage.group_id == group.id)
        .order_by(m.NotificationMessage.id)
    ).all()
    ticket_ois = _ticket_integrations(org)
    chosen = request.values.get("integrationId") or (str(ticket_ois[0].integration_id) if ticket_ois else "")
    chosen_oi = next((oi for oi in ticket_ois if str(oi.integration_id) == chosen), None)
    wants_form = bool(request.args.get("create")) or form_values.get("action") == "create"
    create_fields, form_error = _issue_form(chosen_oi, group) if chosen_oi and wants_form else ([], "")
    return page(
        "issue.html",
        org,
        member,
        status=status,
        group=group,
        activities=activities,
        texts={a.id: present.activity_text(a, names) for a in activities},
        links=links,
        event=event,
        exceptions=present.exceptions(event.data if event else None),
        breadcrumbs=present.breadcrumbs(event.data if event else None),
        tags=present.tags(event) if event else [],
        threads=threads,
        providers=names,
        assignable=_assignable(group),
        version=_version(group),
        errors=errors,
        values=form_values,
        ticket_ois=ticket_ois,
        chosen=chosen,
        create_fields=create_fields,
        form_error=form_error,
        wants_form=wants_form,
        thread_names={
            oi.integration_id: oi.integration.name
            for oi in db.session.scalars(
                select(m.OrganizationIntegration).where(m.OrganizationIntegration.organization_id == org.id)
            )
        },
        title=f"{group.short_id} · {group.title}",
    )


def _act(org: m.Organization, group: m.Group) -> tuple[Any, dict[str, Any]]:
    """Apply one form of the issue page through the API; ``(redirect, {})`` or ``(None, errors)``."""
    form = request.form
    action = form.get("action") or ("status" if form.get("status") else "")
    here = url_for("web.issue_page", org_slug=org.slug, issue_id=group.id)
    ids = {"org_slug": org.slug, "issue_id": str(group.id)}
    if action in ("status", "assign") and form.get("version") and form["version"] != _version(group):
        return None, {
            "_stale": "This issue changed since you opened the page (see the activity below). "
            "Check it and try again."
        }
    if action == "edit_comment":
        note = db.session.get(m.Activity, parse_id(form.get("comment", "")) or -1)
        if note is None or note.group_id != group.id or note.type != "note":
            abort(404)
        if form.get("original") is not None and form["original"] != (note.data or {}).get("text", ""):
            return None, {
                "_stale": "This comment was edited since you opened the page: your change was not saved. "
                "Check its text and try again."
            }
    if action == "status":
        body: dict[str, Any] = {"status": form.get("status")}
        if form.get("status") == "resolved_next":
            body = {"status": "resolved", "statusDetails": {"inNextRelease": True}}
        result = call(api_issues.update_issue, "PUT", body, **ids)
    elif action == "assign":
        value = form.get("assignedTo") or None
        result = call(api_issues.update_issue, "PUT", {"assignedTo": value}, **ids)
    elif action == "comment":
        result = call(api_issues.create_comment, "POST", {"text": form.get("text", "")}, **ids)
    elif action == "edit_comment":
        assert note is not None  # looked up (or 404) above
        result = call(
            api_issues.update_comment, "PUT", {"text": form.get("text", "")}, activity_id=str(note.id), **ids
        )
    elif action == "unlink":
        result = call(
            api_issues.delete_external_issue, "DELETE", None, external_issue_id=form.get("ticket", ""), **ids
        )
    elif action in ("link", "create"):
        body = {"integrationId": form.get("integrationId", ""), "action": action}
        if action == "link":
            body["externalIssue"] = form.get("externalIssue", "").strip()
        else:
            body["fields"] = {k[6:]: v for k, v in form.items() if k.startswith("field.") and v != ""}
        result = call(api_issues.create_external_issue, "POST", body, **ids)
    else:
        return None, {"_form": "Unknown action."}
    if result.ok:
        flash(
            {
                "status": "Status changed.",
                "assign": "Assignee changed.",
                "comment": "Comment added.",
                "edit_comment": "Comment saved.",
                "unlink": "Ticket unlinked.",
                "link": "Ticket linked.",
                "create": "Ticket created.",
            }[action]
        )
        return redirect(here), {}
    errors = dict(result.errors or {})
    fields = errors.pop("fields", None)
    if isinstance(fields, dict):
        errors.update({f"field.{k}": v for k, v in fields.items()})
    errors["_" + action] = result.detail
    errors["_code"] = result.status if result.status in (403, 404, 409) else 400
    return None, errors
