"""Bodies Jira Cloud sends to a Connect app, written for these tests: the ``installed`` lifecycle
callback and ``jira:issue_updated`` webhooks (Atlassian's Connect lifecycle and webhook docs say
which keys exist and how they nest). Values are our own: one site, one issue APP-123, one member
Jess whose Atlassian account is JESS_ACCOUNT. Timestamps increase in the order the scenarios
happen, which the stale-event tests rely on."""

from __future__ import annotations

from typing import Any

SITE = "https://example.atlassian.net"
CLIENT_KEY = "7f3e9b2c-41d6-4a88-b5e0-93c1d2a6f4b7"
SECRET = "hub-tests-jira-connect-shared-secret-7d1c4e"
JESS_ACCOUNT = "712020:3f9c2a61-5b8e-4d07-9a1e-2c6b8f0d4e71"
ACTOR_ACCOUNT = "712020:0b6d1e52-8a4f-4c3e-b2d9-7e5a1f3c9d08"
ASSIGNED_AT = 1_795_170_000_000  # ms since the epoch, as Jira's "timestamp"
LATER = ASSIGNED_AT + 300_000  # after every scenario below
TO_DO = {"id": "10000", "name": "To Do", "statusCategory": {"id": 2, "key": "new", "name": "To Do"}}
DONE = {"id": "10001", "name": "Done", "statusCategory": {"id": 3, "key": "done", "name": "Done"}}


def installed(**changes: Any) -> dict[str, Any]:
    """The ``installed`` lifecycle body: who the site is and the secret it will sign with."""
    body = {
        "eventType": "installed",
        "key": "io.integration-hub.jira",
        "clientKey": CLIENT_KEY,
        "sharedSecret": SECRET,
        "baseUrl": SITE,
        "displayUrl": SITE,
        "productType": "jira",
        "serverVersion": "100292",
        "pluginsVersion": "1001.0.0-a1c9e77",
        "description": "Atlassian JIRA at https://example.atlassian.net/",
    }
    return {**body, **changes}


def _issue_updated(
    timestamp: int, fields: dict[str, Any], items: list[dict[str, Any]] | None, event_type: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "timestamp": timestamp,
        "webhookEvent": "jira:issue_updated",
        "user": {"accountId": ACTOR_ACCOUNT, "accountType": "atlassian", "displayName": "Sam Ops",
                 "active": True},
        "issue": {
            "id": "10042",
            "key": "APP-123",
            "self": f"{SITE}/rest/api/3/issue/10042",
            "fields": {
                "summary": "ZeroDivisionError: division by zero",
                "issuetype": {"id": "10001", "name": "Bug"},
                "project": {"id": "10100", "key": "APP", "name": "App"},
                "status": TO_DO,
                "assignee": None,
                "updated": "2026-11-20T08:20:00.000+0000",
                **fields,
            },
        },
    }
    if event_type:
        body["issue_event_type_name"] = event_type
    if items is not None:
        body["changelog"] = {"id": str(30000 + timestamp // 1000 % 10000), "items": items}
    return body


def _jess(email: bool) -> dict[str, Any]:
    person = {"accountId": JESS_ACCOUNT, "displayName": "Jess", "active": True, "timeZone": "Europe/Berlin"}
    return {**person, "emailAddress": "jess@example.com"} if email else person


def _assignee_item(before: str | None, after: str | None) -> dict[str, Any]:
    names = {None: None, JESS_ACCOUNT: "Jess"}
    return {
        "field": "assignee",
        "fieldtype": "jira",
        "fieldId": "assignee",
        "from": before,
        "fromString": names[before],
        "to": after,
        "toString": names[after],
    }


def assigned(*, email: bool = True, timestamp: int = ASSIGNED_AT) -> dict[str, Any]:
    """APP-123 assigned to Jess; with ``email=False`` her email is hidden by her profile settings."""
    return _issue_updated(timestamp, {"assignee": _jess(email)}, [_assignee_item(None, JESS_ACCOUNT)],
                          "issue_assigned")


def unassigned(timestamp: int = ASSIGNED_AT + 120_000) -> dict[str, Any]:
    return _issue_updated(timestamp, {"assignee": None}, [_assignee_item(JESS_ACCOUNT, None)],
                          "issue_assigned")


def moved_to_done(timestamp: int = ASSIGNED_AT + 180_000) -> dict[str, Any]:
    """APP-123 transitioned In Progress (id 3) -> Done (id 10001)."""
    item = {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "3",
            "fromString": "In Progress", "to": "10001", "toString": "Done"}
    return _issue_updated(timestamp, {"status": DONE}, [item], "issue_generic")


def without_changelog(timestamp: int = ASSIGNED_AT + 240_000) -> dict[str, Any]:
    """An update Jira sends with no changelog at all (e.g. a field the hub does not sync)."""
    return _issue_updated(timestamp, {}, None, None)


SCENARIOS = {
    "installed": installed,
    "issue_updated_assignee": assigned,
    "issue_updated_assignee_hidden_email": lambda: assigned(email=False, timestamp=ASSIGNED_AT + 60_000),
    "issue_updated_unassigned": unassigned,
    "issue_updated_status_done": moved_to_done,
    "issue_updated_no_changelog": without_changelog,
}
