"""A ``jira:issue_updated`` webhook as Jira Server / Data Center posts it, written for these tests
(shape from Atlassian's DC webhook docs: API v2 users with ``name``/``key``, a changelog whose
``from``/``to`` are user names). Our own values: issue APP-1, assigned to Priya."""

from __future__ import annotations

from typing import Any

BASE_URL = "https://jira.example.org"
ASSIGNEE_NAME = "praman"
ASSIGNEE_EMAIL = "priya@example.org"


def issue_assigned(timestamp: int = 1_795_171_200_000) -> dict[str, Any]:
    """APP-1 (In Progress) assigned to Priya by the admin."""
    return {
        "timestamp": timestamp,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_assigned",
        "user": {"self": f"{BASE_URL}/rest/api/2/user?username=jadmin", "name": "jadmin",
                 "key": "JIRAUSER10117", "displayName": "Jira Admin", "active": True},
        "issue": {
            "id": "10200",
            "key": "APP-1",
            "self": f"{BASE_URL}/rest/api/2/issue/10200",
            "fields": {
                "summary": "KeyError: 'user'",
                "issuetype": {"id": "1", "name": "Bug"},
                "project": {"id": "10000", "key": "APP", "name": "App"},
                "status": {"id": "10101", "name": "In Progress",
                           "statusCategory": {"id": 4, "key": "indeterminate", "name": "In Progress"}},
                "assignee": {"self": f"{BASE_URL}/rest/api/2/user?username={ASSIGNEE_NAME}",
                             "name": ASSIGNEE_NAME, "key": "JIRAUSER10233", "emailAddress": ASSIGNEE_EMAIL,
                             "displayName": "Priya Raman", "active": True},
                "updated": "2026-11-20T08:40:00.000+0000",
            },
        },
        "changelog": {"id": "40117", "items": [{"field": "assignee", "fieldtype": "jira", "from": None,
                                                "fromString": None, "to": ASSIGNEE_NAME,
                                                "toString": "Priya Raman"}]},
    }
