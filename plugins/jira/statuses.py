"""The status-mapping editor's choices: Jira's projects, one project's statuses, and warnings.

Shared by Jira Cloud and Jira Server (each passes its own client). A Connect app cannot read the
workflow graph, and Jira lists transitions per ticket only, so reachability is checked on a linked
ticket of the project: from its current status, does a transition lead to each mapped status?
"""

from __future__ import annotations

from typing import Any

from hub.types import ExternalIssue

from .client import JiraClient
from .outbound import _to_category, _to_id

PROJECT_STATUSES_URL = "{root}/project/{id}/statuses"


def project_statuses(client: JiraClient, project_id: str) -> list[dict[str, str]]:
    """The project's statuses over all its issue types, each once, in Jira's order."""
    data = client.get(client._path(PROJECT_STATUSES_URL, id=project_id))
    seen: dict[str, dict[str, str]] = {}
    for issue_type in data if isinstance(data, list) else []:
        for status in (issue_type.get("statuses") or []) if isinstance(issue_type, dict) else []:
            if isinstance(status, dict) and status.get("id") is not None:
                sid = str(status["id"])
                seen.setdefault(sid, {"id": sid, "name": str(status.get("name") or sid)})
    return list(seen.values())


def status_choices(
    client: JiraClient,
    project_id: str | None,
    mapping: dict[str, str] | None,
    tickets: list[ExternalIssue],
) -> dict[str, Any]:
    """The ``get_status_choices`` answer: projects; with ``project_id`` its statuses and warnings."""
    projects = [
        {
            "id": str(p.get("id")),
            "name": f"{p.get('name') or p.get('key')} ({p.get('key')})",
            "key": str(p.get("key") or ""),
        }
        for p in client.get_projects()
        if p.get("id") is not None
    ]
    out: dict[str, Any] = {
        "projects": [{"id": p["id"], "name": p["name"]} for p in projects],
        "statuses": [],
        "warnings": [],
        "notes": [],
    }
    if not project_id:
        return out
    project = next((p for p in projects if p["id"] == project_id), None)
    if project is None:
        out["warnings"].append(
            f"Project {project_id} is not a project of this Jira site (or the hub cannot see it)."
        )
        return out
    statuses = project_statuses(client, project_id)
    out["statuses"] = statuses
    names = {s["id"]: s["name"] for s in statuses}
    mapped = {role: str(sid) for role, sid in (mapping or {}).items() if sid}
    for role, sid in mapped.items():
        if sid not in names:
            out["warnings"].append(f"The {role} status {sid} is not a status of {project['name']}.")
    sample = next((t for t in tickets if project["key"] and t.key.startswith(project["key"] + "-")), None)
    if not mapped:
        return out
    if sample is None:
        out["notes"].append(
            f"Jira lists transitions per ticket only: once a ticket of {project['name']} is linked, "
            "this page checks that each mapped status can be reached from it."
        )
        return out
    _check_transitions(client, sample, mapped, names, out)
    return out


def _check_transitions(
    client: JiraClient,
    ticket: ExternalIssue,
    mapped: dict[str, str],
    names: dict[str, str],
    out: dict[str, Any],
) -> None:
    status = (client.get_issue(ticket.key).get("fields") or {}).get("status") or {}
    current = str(status.get("id") or "")
    current_name = str(status.get("name") or names.get(current) or current)
    transitions = client.get_transitions(ticket.key)
    reachable = {_to_id(t) for t in transitions}
    via = any(_to_category(t) == "indeterminate" and _to_id(t) != current for t in transitions)
    for role, sid in mapped.items():
        if sid == current or sid in reachable or sid not in names:
            continue
        text = (
            f"No transition leads from {ticket.key}'s status ({current_name}) to the {role} status "
            f"{names[sid]}"
        )
        out["warnings"].append(
            text
            + (
                ": the hub will try a path through in-progress statuses and skip the ticket if there is none."
                if via
                else ": syncing that ticket's status will be skipped (no transition path)."
            )
        )
    if not out["warnings"]:
        out["notes"].append(f"Checked on {ticket.key} ({current_name}): each mapped status can be reached.")
