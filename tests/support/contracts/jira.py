"""Jira's REST API as the hub calls it: Jira Cloud (REST v3, an Atlassian Connect app) and Jira Server /
Data Center (REST v2, an OAuth 1.0a application link, plus the webhook resource and the OAuth servlets).

Facts from Atlassian's published OpenAPI documents (Cloud platform v3, Data Center 10.3) and their REST
docs: both flavours take the same issue resources; v3 wants rich text (descriptions, comment bodies) as an
Atlassian Document Format document, v2 as a plain string; users are named by ``accountId`` (Cloud, at most
128 characters) or ``name`` (Data Center), and ``null`` there unassigns. Cloud takes HTTP basic (email +
API token), OAuth 2.0 (bearer) or, for Connect apps, ``Authorization: JWT``; ``/user/email`` takes no
OAuth 2.0 token. Data Center takes basic, personal access tokens (bearer) and OAuth 1.0a (RSA-SHA1).
"""

from __future__ import annotations

from typing import Any

from .model import (
    BASIC,
    BEARER,
    CONNECT_JWT,
    JSON,
    Contract,
    Endpoint,
    oauth1,
    obj,
    string,
)

ISSUE = string(pattern=r"^(?:[A-Za-z][A-Za-z0-9_]*-[1-9][0-9]*|[1-9][0-9]*)$")  # a key (APP-12) or an id
NUMERIC_ID = string(pattern=r"^[1-9][0-9]*$")

# An Atlassian Document Format document: {"type": "doc", "version": 1, "content": [nodes]}.
ADF = obj(
    {
        "type": {"const": "doc"},
        "version": {"const": 1},
        "content": {"type": "array", "items": obj({"type": string()}, required=["type"])},
    },
    required=["type", "version", "content"],
)


def _issue_fields(rich_text: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    by_id_or_key = {"type": "object", "minProperties": 1, "properties": {"id": string(), "key": string()}}
    by_id_or_name = {"type": "object", "minProperties": 1, "properties": {"id": string(), "name": string()}}
    return obj(
        {
            "project": by_id_or_key,
            "issuetype": by_id_or_name,
            "summary": string(minLength=1, maxLength=255),
            "description": rich_text,
            "environment": rich_text,
            "labels": {"type": "array", "items": string(pattern=r"^\S+$")},  # a label has no spaces
            "assignee": user,
            "reporter": user,
            "priority": by_id_or_name,
            "components": {"type": "array", "items": by_id_or_name},
        },
        required=["project", "issuetype", "summary"],
    )


def _issue_endpoints(root: str, auth: tuple, *, rich_text: dict, user_field: str, user: dict, search: str):
    user_ref = obj({user_field: {**user, "type": ["string", "null"]}}, required=[user_field], closed=True)
    comment = obj(
        {
            "body": rich_text,
            "visibility": obj({"type": {"enum": ["group", "role"]}, "value": string()}, required=["type"]),
        },
        required=["body"],
    )
    issue = {"issueIdOrKey": ISSUE}
    paging = {"startAt": string(pattern=r"^[0-9]+$"), "maxResults": string(pattern=r"^[0-9]+$")}
    return [
        Endpoint(
            "GET",
            f"{root}/issue/{{issueIdOrKey}}",
            auth,
            "read a ticket (link, reconcile)",
            issue,
            query={"fields": string(), "expand": string()},
        ),
        Endpoint(
            "POST",
            f"{root}/issue",
            auth,
            "create a ticket",
            body={
                JSON: obj(
                    {"fields": _issue_fields(rich_text, user_ref), "update": {"type": "object"}},
                    required=["fields"],
                )
            },
        ),
        Endpoint(
            "GET",
            f"{root}/issue/{{issueIdOrKey}}/transitions",
            auth,
            "the transitions on offer",
            issue,
            query={"expand": string()},
        ),
        Endpoint(
            "POST",
            f"{root}/issue/{{issueIdOrKey}}/transitions",
            auth,
            "move a ticket's status",
            issue,
            body={
                JSON: obj(
                    {
                        "transition": obj({"id": NUMERIC_ID}, required=["id"]),
                        "fields": {"type": "object"},
                        "update": {"type": "object"},
                    },
                    required=["transition"],
                )
            },
        ),
        Endpoint(
            "PUT",
            f"{root}/issue/{{issueIdOrKey}}/assignee",
            auth,
            "assign / unassign (null)",
            issue,
            body={JSON: user_ref},
        ),
        Endpoint(
            "POST",
            f"{root}/issue/{{issueIdOrKey}}/comment",
            auth,
            "add a comment",
            issue,
            body={JSON: comment},
        ),
        Endpoint(
            "PUT",
            f"{root}/issue/{{issueIdOrKey}}/comment/{{id}}",
            auth,
            "edit the hub's comment",
            {**issue, "id": NUMERIC_ID},
            body={JSON: comment},
        ),
        Endpoint(
            "GET",
            f"{root}/user/search",
            auth,
            "find the assignee by email",
            query={search: string(minLength=1), **paging},
            required_query=(search,),
        ),
        Endpoint("GET", f"{root}/status", auth, "statuses for the status mapping"),
        Endpoint("GET", f"{root}/project", auth, "projects for the create-ticket form"),
        Endpoint("GET", f"{root}/issuetype", auth, "issue types for the create-ticket form"),
        Endpoint(
            "GET",
            f"{root}/project/{{projectIdOrKey}}/statuses",
            auth,
            "a project's statuses for the status-mapping editor",
            params={"projectIdOrKey": string(pattern=r"^[A-Za-z0-9_]+$")},
        ),
    ]


_CLOUD_AUTH = (CONNECT_JWT, BASIC, BEARER)

JIRA_CLOUD = Contract(
    "jira-cloud",
    [
        *_issue_endpoints(
            "/rest/api/3",
            _CLOUD_AUTH,
            rich_text=ADF,
            user_field="accountId",
            user=string(maxLength=128),
            search="query",
        ),
        Endpoint(
            "GET",
            "/rest/api/3/user/email",
            (CONNECT_JWT, BASIC),
            "the email Jira hides from payloads",
            query={"accountId": string(minLength=1, maxLength=128)},
            required_query=("accountId",),
        ),
    ],
)

_DC_AUTH = (oauth1("oauth_token"), BASIC, BEARER)
_WEBHOOK_EVENTS = {"type": "array", "minItems": 1, "items": string(pattern=r"^[a-z_]+:[a-z_]+$")}

JIRA_DC = Contract(
    "jira-dc",
    [
        *_issue_endpoints(
            "/rest/api/2", _DC_AUTH, rich_text=string(), user_field="name", user=string(), search="username"
        ),
        Endpoint("GET", "/rest/api/2/myself", _DC_AUTH, "check the credentials at install"),
        Endpoint(
            "GET",
            "/rest/api/2/user",
            _DC_AUTH,
            "the email of whom a changelog unassigned (by user key)",
            query={"key": string(minLength=1, maxLength=255)},
            required_query=("key",),
        ),
        # Jira's webhook REST resource (not in the Data Center OpenAPI document; Atlassian's webhook docs)
        Endpoint(
            "POST",
            "/rest/webhooks/1.0/webhook",
            _DC_AUTH,
            "register the hub's webhook",
            body={
                JSON: obj(
                    {
                        "name": string(minLength=1),
                        "url": string(format="absolute-url"),
                        "events": _WEBHOOK_EVENTS,
                        "excludeBody": {"type": "boolean"},
                        "filters": {"type": "object"},
                        "jqlFilter": string(),
                    },
                    required=["name", "url", "events"],
                )
            },
        ),
        Endpoint(
            "DELETE",
            "/rest/webhooks/1.0/webhook/{id}",
            _DC_AUTH,
            "remove it at uninstall",
            {"id": NUMERIC_ID},
        ),
        # The OAuth 1.0a dance of an application link: signed POSTs with no body, answered form-encoded.
        Endpoint(
            "POST",
            "/plugins/servlet/oauth/request-token",
            (oauth1("oauth_callback"),),
            "a request token (install step 1)",
        ),
        Endpoint(
            "POST",
            "/plugins/servlet/oauth/access-token",
            (oauth1("oauth_token", "oauth_verifier"),),
            "the access token (install step 3)",
        ),
    ],
)
