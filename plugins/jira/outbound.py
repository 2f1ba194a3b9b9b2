"""Outbound work shared by both Jiras: status, assignee, comments, link and create (FLOWS §1, §6–§8).

Every function takes a ready :class:`~plugins.jira.client.JiraClient`, so Jira Server reuses
them with its own style. ``Api*Error`` propagate: the core retries 429/5xx and marks the
integration on 401/403.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from hub import PluginError, SyncSkipped, services
from hub.errors import ApiError, ApiNotFound
from hub.types import Activity, ExternalIssue, Group, Integration, User

from .client import JiraClient, adf_to_text

logger = logging.getLogger("hub.plugins.jira")

MAX_TRANSITION_PATH = 3
#: A Jira issue key (``APP-123``) or an issue id (``10200``): the only things a link may name.
ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]+-[0-9]+|[0-9]+")
KEY_HELP = "A Jira issue key such as APP-123, or a numeric issue id."


def check_issue_key(key: Any, field: str = "externalIssue") -> str:
    """The key when it names a Jira issue; else ``PluginError`` (400 with a field error), before
    anything is sent: a key is a path segment of the URLs the hub calls with the integration's token."""
    if not isinstance(key, str) or len(key) > 255 or not ISSUE_KEY.fullmatch(key):
        raise PluginError(f"Not a Jira issue key. {KEY_HELP}", {field: [KEY_HELP]})
    return key


# -- status (FLOWS §6) ------------------------------------------------------------------------


def sync_status_outbound(
    client: JiraClient, integration: Integration, external_issue: ExternalIssue, is_resolved: bool
) -> str:
    """Move the ticket to the org's mapped status for its project; returns what was done.

    :raises SyncSkipped: "no mapping", "already in target status", "no transition".
    """
    issue = client.get_issue(external_issue.key)
    fields = issue.get("fields") or {}
    project_id = str((fields.get("project") or {}).get("id") or "")
    organization_id = integration.organization_id or external_issue.organization_id
    mapping = (
        services.status_mapping(integration.id, str(organization_id), project_id) if project_id else None
    )
    if not mapping:
        raise SyncSkipped("no mapping")
    target = mapping["resolved" if is_resolved else "unresolved"]
    if not target:
        raise SyncSkipped("no mapping")
    current = str((fields.get("status") or {}).get("id") or "")
    if current == str(target):
        raise SyncSkipped("already in target status")
    applied = walk_transitions(client, external_issue.key, current, str(target))
    return f"transitioned {external_issue.key} to {target}" + (f" in {applied} steps" if applied > 1 else "")


def walk_transitions(client: JiraClient, key: str, current: str, target: str) -> int:
    """Apply the transition to ``target``, through at most two "in progress" waypoints.

    Jira lists only the transitions available from the ticket's current status (Connect apps
    cannot read the workflow graph), so a longer path is found by walking: take the direct
    transition when there is one; else step to an unvisited status of category
    ``indeterminate`` (To Do → In Progress → Done) and read the transitions again. Only such
    waypoints are used, so a dead end never leaves the ticket somewhere surprising.

    :returns: the number of transitions applied.
    :raises SyncSkipped: "no transition" when no path of ≤ 3 transitions exists.
    """
    visited = {current}
    for hop in range(MAX_TRANSITION_PATH):
        transitions = client.get_transitions(key)
        direct = next((t for t in transitions if _to_id(t) == target), None)
        if direct is not None:
            client.transition(key, str(direct["id"]))
            return hop + 1
        if hop == MAX_TRANSITION_PATH - 1:
            break
        waypoint = next(
            (
                t
                for t in transitions
                if _to_id(t) not in visited and _to_id(t) and _to_category(t) == "indeterminate"
            ),
            None,
        )
        if waypoint is None:
            break
        client.transition(key, str(waypoint["id"]))
        visited.add(_to_id(waypoint))
    logger.info("jira.no-transition", extra={"key": key, "target": target, "hops": len(visited) - 1})
    raise SyncSkipped(
        "no transition" if len(visited) == 1 else f"no transition (stopped after {len(visited) - 1})"
    )


def _to_id(transition: dict[str, Any]) -> str:
    return str((transition.get("to") or {}).get("id") or "")


def _to_category(transition: dict[str, Any]) -> str:
    return str(((transition.get("to") or {}).get("statusCategory") or {}).get("key") or "")


# -- assignee (FLOWS §7) ----------------------------------------------------------------------


def sync_assignee_outbound(
    client: JiraClient,
    integration: Integration,
    external_issue: ExternalIssue,
    user: User | None,
    assign: bool,
) -> str:
    """Assign the ticket to the Jira user with the hub user's email, or unassign it.

    :raises SyncSkipped: "target not found" when no Jira user has that email.
    """
    if not assign:
        client.assign(external_issue.key, None)
        return "unassigned"
    if user is None or not user.email:
        raise SyncSkipped("target not found")
    user_id = find_user_id(client, integration, user.email)
    if user_id is None:
        logger.info(
            "jira.assignee-not-found", extra={"key": external_issue.key, "integration": integration.id}
        )
        raise SyncSkipped("target not found")
    client.assign(external_issue.key, user_id)
    return f"assigned {user_id}"


def find_user_id(client: JiraClient, integration: Integration, email: str) -> str | None:
    """The id (``accountId`` / ``name``) of the Jira user whose email matches, case-insensitively."""
    wanted = email.strip().lower()
    field = client.style.user_id_field
    for candidate in client.search_users(email):
        user_id = candidate.get(field)
        if not user_id:
            continue
        address = candidate.get("emailAddress")
        if not address and client.style.can_lookup_email:  # hidden by the user's privacy settings
            address = _cached_email(client, integration, str(user_id))
        if address and address.strip().lower() == wanted:
            return str(user_id)
    return None


def _cached_email(client: JiraClient, integration: Integration, account_id: str) -> str | None:
    cache_key = f"{integration.provider}:email:{integration.id}:{account_id}"
    cached = services.cache_get(cache_key)
    if cached:
        return str(cached)
    email = client.get_user_email(account_id)
    if email:
        services.cache_set(cache_key, email, ttl=24 * 3600)
    return email


# -- comments (FLOWS §8) ----------------------------------------------------------------------


def sync_comment_outbound(
    client: JiraClient, external_issue: ExternalIssue, activity: Activity, comment_id: str | None
) -> str:
    """Post (or edit) "<author> wrote: <text>" on the ticket; returns the comment id."""
    author = (activity.user.name or activity.user.email) if activity.user else "Integration Hub"
    body = f"{author} wrote: {activity.data.get('text') or ''}"
    if comment_id:
        client.update_comment(external_issue.key, comment_id, body)
        return str(comment_id)
    created = client.add_comment(external_issue.key, body) or {}
    return str(created.get("id"))


# -- link and create (FLOWS §1) ---------------------------------------------------------------


def default_description(group: Group) -> str:
    """The issue's title, culprit and a link back to it."""
    lines = [group.title]
    if group.culprit:
        lines.append(group.culprit)
    lines += ["", f"Integration Hub issue {group.short_id}: {group.url}"]
    return "\n".join(lines)


def build_fields(client: JiraClient, group: Group, form: dict[str, Any]) -> dict[str, Any]:
    """Turn the create form into Jira ``fields``; raises ``PluginError`` per missing field."""
    errors = {
        name: ["This field is required."] for name in ("project", "issuetype") if not _value(form.get(name))
    }
    if errors:
        raise PluginError("Jira needs a project and an issue type.", errors)
    description = form.get("description") or default_description(group)
    fields: dict[str, Any] = {
        "summary": str(form.get("title") or form.get("summary") or group.title)[:255],
        "project": {"id": str(_value(form["project"]))},
        "issuetype": {"id": str(_value(form["issuetype"]))},
        "description": client.style.text(str(description)),
    }
    labels = form.get("labels")
    if labels:
        items = labels if isinstance(labels, list) else str(labels).split(",")
        fields["labels"] = [label.strip().replace(" ", "-") for label in items if str(label).strip()]
    for user_field in ("assignee", "reporter"):
        if form.get(user_field):
            fields[user_field] = client.style.user_ref(str(_value(form[user_field])))
    if form.get("priority"):
        fields["priority"] = {"id": str(_value(form["priority"]))}
    if form.get("components"):
        items = (
            form["components"] if isinstance(form["components"], list) else str(form["components"]).split(",")
        )
        fields["components"] = [{"id": str(c).strip()} for c in items if str(c).strip()]
    for name, value in form.items():
        if name.startswith("customfield_"):
            fields[name] = value
    return fields


def _value(value: Any) -> Any:
    """A form value given as ``"10000"`` or ``{"id": "10000"}``."""
    if isinstance(value, dict):
        return value.get("id") or value.get("key") or value.get("name")
    return value


def create_external_issue(client: JiraClient, group: Group, form: dict[str, Any]) -> dict[str, Any]:
    """Create the ticket; returns ``{"key", "title", "url", "description"}``.

    :raises PluginError: a missing field, or Jira refusing the fields (with Jira's messages).
    """
    fields = build_fields(client, group, form)
    try:
        created = client.create_issue(fields)
    except ApiError as e:
        if e.code != 400:
            raise
        # The fields Jira refused, by the names the form used; Jira's words are in the log and on the
        # integration's error (owners and admins), never in the answer.
        body = e.body if isinstance(e.body, dict) else {}
        named = body.get("errors")
        refused = named if isinstance(named, dict) else {}
        errors = {str(k): ["Jira refused this field."] for k in refused if k in fields or k in form}
        raise PluginError(f"Jira refused the ticket ({e.message}).", errors) from e
    if not isinstance(created, dict) or not isinstance(created.get("key"), str):
        raise PluginError("Jira answered the create without an issue key.")
    key = check_issue_key(created["key"], "key")
    return {
        "key": key,
        "title": fields["summary"],
        "url": browse_url(client, key),
        "description": str(form.get("description") or default_description(group)),
        "metadata": {"id": str(created.get("id") or ""), "projectId": fields["project"]["id"]},
        "id": str(created.get("id") or ""),
    }


def get_external_issue(client: JiraClient, key: str) -> dict[str, Any]:
    """Read a ticket to link it (and for ``hub reconcile``: its status and project).

    :raises PluginError: not a Jira key (nothing sent), or Jira does not know it.
    """
    check_issue_key(key)
    try:
        issue = client.get_issue(key)
    except ApiNotFound as e:
        message = f"Jira has no issue {key}, or the integration's Jira user may not see it."
        raise PluginError(message, {"externalIssue": [message]}) from e
    if not isinstance(issue, dict):
        raise PluginError("Jira answered the issue in an unexpected shape.",
                          {"externalIssue": ["Not an issue."]})
    fields = issue.get("fields")
    fields = fields if isinstance(fields, dict) else {}
    status = fields.get("status")
    status = status if isinstance(status, dict) else {}
    answered = issue.get("key")
    issue_key = answered if isinstance(answered, str) and ISSUE_KEY.fullmatch(answered) else key
    return {
        "key": issue_key,
        "id": str(issue.get("id") or ""),
        "title": str(fields.get("summary") or ""),
        "url": browse_url(client, issue_key),
        "description": adf_to_text(fields.get("description")),
        "status": {
            "id": str(status.get("id") or ""),
            "name": str(status.get("name") or ""),
            "category": str((status.get("statusCategory") or {}).get("key") or ""),
        },
        "projectId": str((fields.get("project") or {}).get("id") or ""),
    }


def browse_url(client: JiraClient, key: str) -> str:
    return f"{client.base_url}/browse/{quote(key, safe='')}"


def issue_form(client: JiraClient, group: Group) -> list[dict[str, Any]]:
    """The create form: project and issue type loaded from Jira, summary and description prefilled."""
    projects = [[str(p.get("id")), f"{p.get('name') or p.get('key')} ({p.get('key')})"]
                for p in client.get_projects()]
    types = [[str(t.get("id")), str(t.get("name") or t.get("id"))] for t in client.get_issue_types()]
    description = "\n".join(x for x in (group.title, group.culprit, group.url) if x)
    return [
        {"name": "project", "label": "Project", "type": "select", "required": True, "choices": projects},
        {"name": "issuetype", "label": "Issue type", "type": "select", "required": True, "choices": types},
        {"name": "title", "label": "Summary", "type": "text", "required": True, "default": group.title[:255]},
        {"name": "description", "label": "Description", "type": "textarea", "default": description},
        {"name": "labels", "label": "Labels (comma-separated)", "type": "text"},
    ]
