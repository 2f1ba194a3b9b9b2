"""Bad input at every door (issue 10, items 5-7): a clear 4xx, never a 500, and nothing written.

NUL characters matter on PostgreSQL (CI runs this file there too): psycopg cannot send ``\\x00`` in
text, so each input below once answered 500. The SDK ingest endpoints have their own tests.
"""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db
from plugins.jira_server.verify import webhook_token
from tests.plugins.discord.conftest import DISCORD_USER_ID, GUILD_ID, SIGNING_KEY, component, post_interaction
from tests.plugins.jira.conftest import (  # noqa: F401  (install_keys, rsa_key: fixtures)
    CLIENT_KEY,
    SECRET,
    SITE,
    install_keys,
    lifecycle,
    rsa_key,
    send_webhook,
)
from tests.plugins.jira.conftest import payload as jira_payload
from tests.plugins.jira_server.conftest import rsa_keys  # noqa: F401  (a fixture)
from tests.plugins.slack.helpers import (
    SLACK_USER,
    TEAM,
    SlackRequests,
    block_actions,
    signed_headers,
)
from tests.plugins.slack.helpers import load as slack_load

SERVER_ID = "jira.example.org:hub-consumer"
SERVER_SECRET = "server-webhook-secret-0123456789abcdef"
NUL_ERROR = "Must not contain NUL characters."


@pytest.fixture
def app(make_app: Any) -> Any:
    application = make_app(HUB_DISCORD_PUBLIC_KEY=SIGNING_KEY.verify_key.encode().hex(),
                           HUB_DISCORD_APPLICATION_ID="1176000000000000000",
                           HUB_DISCORD_BOT_TOKEN="bot-token")
    with application.app_context():
        yield application
        db.session.remove()


@pytest.fixture
def s(factories: Any, rsa_keys: tuple[str, str]) -> dict[str, Any]:  # noqa: F811
    """acme/backend: an owner linked in Slack and Discord, Jira Cloud and Server sites, one issue."""
    s = factories.setup()
    slack = factories.integration(s["org"], "slack", TEAM, {"access_token": "xoxb-1", "bot_user_id": "U0BOT"})
    discord = factories.integration(s["org"], "discord", GUILD_ID, {"guild_id": GUILD_ID})
    jira = factories.integration(s["org"], "jira", CLIENT_KEY,
                                 {"base_url": SITE, "shared_secret": SECRET, "client_key": CLIENT_KEY})
    server = factories.integration(s["org"], "jira_server", SERVER_ID,
                                   {"base_url": "https://jira.example.org", "consumer_key": "hub-consumer",
                                    "private_key": rsa_keys[0], "access_token": "t",
                                    "access_token_secret": "ts",
                                    "webhook_secret": SERVER_SECRET})
    factories.identity(slack, SLACK_USER, s["owner"])
    factories.identity(discord, DISCORD_USER_ID, s["owner"])
    group = factories.group(s["project"], "KeyError: 'user'")
    return {**s, "group_id": str(group.id), "jira_id": str(jira.id), "server_id": str(server.id),
            "slack_id": slack.id}


def counts() -> dict[str, int]:
    """Rows per table, but the delivery log (every webhook request is recorded, refused or not)."""
    db.session.rollback()
    # The delivery log records every request, and a signed interaction that was answered claims its id.
    tables = [t for t in db.metadata.sorted_tables if t.name not in ("webhook_deliveries", "webhook_claims")]
    one_count = [select(func.count()).select_from(t).scalar_subquery() for t in tables]
    row = db.session.execute(select(*one_count)).one()
    return dict(zip([t.name for t in tables], row, strict=True))


def last_delivery() -> m.WebhookDelivery:
    db.session.rollback()
    return db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id.desc())).first()


# -- 5. NUL characters ------------------------------------------------------------------------------

API_NUL = [
    ("POST", "/api/0/organizations/acme/projects/", {"slug": "web", "name": "Web\x00"}, "name"),
    ("POST", "/api/0/organizations/acme/members/",
     {"email": "new@example.com", "name": "N\x00", "role": "member", "projects": []}, "name"),
    ("PUT", "/api/0/organizations/acme/issues/{group}/", {"assignedTo": "owner@example.com\x00"},
     "assignedTo"),
    ("PUT", "/api/0/organizations/acme/issues/{group}/",
     {"status": "resolved", "statusDetails": {"inRelease": "1.0\x00"}}, "statusDetails.inRelease"),
    ("POST", "/api/0/organizations/acme/issues/{group}/comments/", {"text": "hi\x00there"}, "text"),
    ("POST", "/api/0/projects/acme/backend/events/", {"message": "boom\x00"}, "message"),
    ("POST", "/api/0/projects/acme/backend/events/", {"message": "boom", "culprit": "a\x00"}, "culprit"),
    ("POST", "/api/0/projects/acme/backend/events/", {"message": "boom", "tags": {"k": "v\x00"}}, "tags.k"),
    ("POST", "/api/0/organizations/acme/integrations/",
     {"provider": "tracker", "externalId": "site\x00", "metadata": {}}, "externalId"),
    ("POST", "/api/0/organizations/acme/integrations/{jira}/external-projects/",
     {"externalId": "10000\x00", "resolvedStatus": "1", "unresolvedStatus": "2"}, "externalId"),
    ("POST", "/api/0/organizations/acme/issues/{group}/external-issues/",
     {"integrationId": "{jira}", "action": "link", "externalIssue": "APP-1\x00"}, "externalIssue"),
    ("GET", "/api/0/organizations/acme%00/issues/", None, "org_slug"),
    ("GET", "/api/0/organizations/acme/issues/?project=back%00end", None, "project"),
    ("GET", "/api/0/organizations/acme/issues/%00/", None, "issue_id"),
    ("POST", "/api/0/organizations/acme/projects/", {"slug": "web", "name": "Web\ud800"}, "name"),  # lone
]


@pytest.mark.parametrize(("method", "path", "body", "field"), API_NUL,
                         ids=[f"{a[0]} {a[3]}" for a in API_NUL])
def test_a_nul_anywhere_in_an_api_request_is_a_400_naming_the_field(client, s, method, path, body, field):
    path = path.format(group=s["group_id"], jira=s["jira_id"])
    if body is not None:
        body = json.loads(json.dumps(body).replace("{jira}", s["jira_id"]))
    before = counts()
    r = client.open(path, method=method, json=body, headers=s["headers"])
    assert r.status_code == 400, r.json
    assert "NUL" in r.json["detail"]
    assert r.json["errors"] == {field: [NUL_ERROR]}
    assert counts() == before


def test_an_api_request_with_a_nul_is_still_authenticated_first(client, s):
    r = client.post("/api/0/organizations/acme/projects/", json={"slug": "web", "name": "W\x00"})
    assert r.status_code == 401


def test_the_login_form_refuses_a_nul_email_with_a_400(client, s):
    r = client.post("/login", data={"email": "owner@example.com\x00", "password": "x"})
    assert r.status_code == 400
    assert b"NUL" in r.data
    r = client.get("/login?next=/%00")
    assert r.status_code == 400


def test_a_jira_server_token_naming_an_id_with_a_nul_is_an_invalid_token(client, s):
    before = counts()
    token = jwt.encode({"id": "a\x00"}, "not-the-key-of-any-integration-at-all", algorithm="HS256")
    r = client.post(f"/extensions/jira_server/issue-updated/{token}/", json={"issue": {"key": "APP-1"}})
    assert r.status_code == 400
    assert r.json["errors"] == {"token": ["unknown integration"]}
    assert counts() == before


def test_a_connect_jwt_issued_by_a_client_key_with_a_nul_is_refused(client, s):
    before = counts()
    r = send_webhook(client, jira_payload("issue_updated_status_done"), iss="a\x00")
    assert r.status_code == 400
    assert r.json["detail"] == "Unknown clientKey: this Jira site has not installed the app."
    assert counts() == before


def test_a_signed_slack_event_id_with_a_nul_is_handled_without_it(client, s):
    slack = SlackRequests(client)
    event = {"type": "event_callback", "team_id": TEAM, "event_id": "Ev\x00001",
             "event": {"type": "app_mention"}}
    assert slack.event(event).status_code == 200
    assert last_delivery().dedupe_key == "Ev001" and last_delivery().outcome == "received"  # v2: recorded
    assert slack.event(event).status_code == 200
    assert last_delivery().outcome == "duplicate"


def test_a_slack_command_with_nul_in_its_form_is_handled_without_them(client, s):
    r = SlackRequests(client).command("he\x00lp", user=SLACK_USER + "\x00", team=TEAM + "\x00")
    assert r.status_code == 200
    assert "/hub link" in r.json["text"]


def test_a_nul_in_a_webhook_path_is_a_400_before_anything_is_recorded(client, s):
    before = db.session.scalar(select(func.count()).select_from(m.WebhookDelivery))
    r = client.post("/extensions/slack/link-identity/to%00ken/", data=b"{}")  # a route's variable
    assert r.status_code == 400
    assert r.json["errors"] == {"path": [NUL_ERROR]}
    assert db.session.scalar(select(func.count()).select_from(m.WebhookDelivery)) == before


def test_a_signed_jira_server_delivery_with_nul_in_its_body_is_processed_without_them(client, s):
    token = webhook_token(SERVER_ID, SERVER_SECRET)
    body = {"webhookEvent": "jira:issue_updated",
            "issue": {"key": "APP-1\x00", "fields": {"summary": "x\x00"}},
            "changelog": {"items": [{"field": "status\x00", "from": "1\x00", "to": "10001\x00"}]}}
    r = client.post(f"/extensions/jira_server/issue-updated/{token}/", json=body)
    assert r.status_code == 200 and r.json == {"detail": "accepted"}
    delivery_id = last_delivery().id
    change = db.session.scalar(select(m.InboundChange).where(m.InboundChange.delivery_id == delivery_id))
    assert (change.kind, change.ticket_key, change.data["status_id"]) == ("status", "APP-1", "10001")


# -- 6. Slack's and Discord's signature headers -------------------------------------------------------

SLACK_ENDPOINTS = ["event/", "action/", "commands/"]


@pytest.mark.parametrize("endpoint", SLACK_ENDPOINTS)
@pytest.mark.parametrize("headers", [
    {"X-Slack-Request-Timestamp": "\u00b2", "X-Slack-Signature": "v0=00"},  # '²'.isdigit() is true
    {"X-Slack-Request-Timestamp": "1" * 5000, "X-Slack-Signature": "v0=00"},  # int() refuses > 4300 digits
    {"X-Slack-Signature": "v0=\u00e9\u00e9"},  # hmac.compare_digest: TypeError on non-ASCII
    {"X-Slack-Signature": ""},
], ids=["superscript-timestamp", "huge-timestamp", "non-ascii-signature", "empty-signature"])
def test_malformed_slack_signature_headers_are_a_401(client, s, endpoint, headers):
    body = b'{"type": "url_verification", "challenge": "c"}'
    r = client.post(f"/extensions/slack/{endpoint}", data=body, content_type="application/json",
                    headers={**signed_headers(body), **headers})
    assert r.status_code == 401
    assert r.json["detail"]


@pytest.mark.parametrize("signature",
                         ["zz" * 64, "ab" * 63, "ab" * 65, "\u00e9" * 128, "ab" * 63 + "\u00e9\u00e9"],
                         ids=["non-hex", "short", "long", "non-ascii", "non-ascii-tail"])
def test_malformed_discord_signatures_are_a_401(client, s, signature):
    body = b'{"type": 1}'
    r = client.post("/extensions/discord/interactions/", data=body, content_type="application/json",
                    headers={"X-Signature-Ed25519": signature,
                             "X-Signature-Timestamp": str(int(time.time()))})
    assert r.status_code == 401


@pytest.mark.parametrize("timestamp", ["\u00b2", "1" * 5000, "1e9", "-1", " 1"])
def test_malformed_discord_timestamps_are_a_401_even_when_signed(client, s, timestamp):
    body = b'{"type": 1}'
    signature = SIGNING_KEY.sign(timestamp.encode() + body).signature.hex()
    r = client.post("/extensions/discord/interactions/", data=body, content_type="application/json",
                    headers={"X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp})
    assert r.status_code == 401


# -- 7. Signed but malformed --------------------------------------------------------------------------

DEEP = "[" * 5000 + "]" * 5000


def test_a_slack_action_payload_nested_thousands_deep_is_a_400(client, s):
    before = counts()
    body = f"payload={'{'}%22type%22:%22block_actions%22,%22x%22:{DEEP}{'}'}".encode()
    r = SlackRequests(client).post("action/", body)
    assert r.status_code == 400
    assert counts() == before


def test_a_slack_event_nested_thousands_deep_is_a_400(client, s):
    body = ('{"type": "event_callback", "team_id": "T0001", "event": ' + DEEP + "}").encode()
    r = SlackRequests(client).post("event/", body, content_type="application/json")
    assert r.status_code == 400


def test_a_slack_callback_id_nested_thousands_deep_is_a_400(client, s):
    before = counts()
    payload = {"type": "interactive_message", "team": {"id": TEAM}, "user": {"id": SLACK_USER},
               "callback_id": DEEP, "actions": [{"name": "status", "value": "resolved"}]}
    r = SlackRequests(client).action(payload)
    assert r.status_code == 400
    assert counts() == before


@pytest.mark.parametrize("choice", [["resolved"], {"value": "resolved"}])
def test_a_modal_choice_that_is_a_list_or_an_object_is_refused_and_changes_nothing(client, s, choice):
    payload = slack_load("view_submission_resolve")
    payload["view"]["private_metadata"] = json.dumps({"issue": int(s["group_id"])})
    payload["view"]["state"]["values"]["resolve_type"]["resolve_type"]["selected_option"]["value"] = choice
    before = counts()
    r = SlackRequests(client).action(payload)
    assert r.status_code == 200  # Slack shows the modal's errors only from a 200
    assert r.json == {"response_action": "errors", "errors": {"resolve_type": "Choose an option."}}
    assert counts() == before
    assert db.session.get(m.Group, int(s["group_id"])).status == "unresolved"


def test_a_slack_button_naming_an_issue_beyond_the_id_column_is_a_403(client, s):
    payload = block_actions(1)
    payload["message"]["blocks"][0]["block_id"] = json.dumps({"issue": 99999999999999999999})
    r = SlackRequests(client).action(payload)
    assert r.status_code == 403


@pytest.mark.parametrize("field", ["data", "member"])
@pytest.mark.parametrize("value", [[1, 2], "text", 7])
def test_discord_data_or_member_that_is_not_an_object_is_answered_not_a_500(client, s, field, value):
    before = counts()
    interaction = component(f"resolve:{s['group_id']}")
    interaction[field] = value
    r = post_interaction(client, interaction)
    assert r.status_code == 200, r.json
    assert r.json["type"] == 4 and r.json["data"]["flags"] == 64  # an ephemeral answer
    assert counts() == before


def test_discord_assign_to_a_user_id_beyond_the_column_changes_nothing(client, s):
    before = counts()
    r = post_interaction(client, component(f"assign:{s['group_id']}", ["user:99999999999999999999"]))
    assert r.status_code == 200
    assert r.json["data"]["content"] == "That user cannot be assigned to this issue."  # the core's words
    assert counts() == before


#: issue.fields.updated of the payloads (2026-11-20T08:20:00.000+0000), in ms: the time an unreadable
#: timestamp falls back to.
FIELDS_UPDATED_MS = 1_795_162_800_000


@pytest.mark.parametrize("timestamp", ["1" + "0" * 309, "1e309", "-5", '"2023-01-01T10:00:00.000+0000"',
                                       '{"ms": 1}', "true"])
def test_a_jira_timestamp_that_is_no_time_is_ignored_and_the_change_recorded(client, s, timestamp):
    """Only a body with no issue.key is refused (FLOWS 4.1): a timestamp out of range, or written as
    a date (as some Jira Server plugins do), is left out and the event time is the issue's updated."""
    body = json.dumps(jira_payload("issue_updated_status_done"))
    assert '"timestamp": ' in body
    body = body.replace('"timestamp": ', f'"timestamp": {timestamp}, "was": ', 1)
    r = send_webhook(client, body.encode())
    assert r.status_code == 200, r.json
    (change,) = db.session.scalars(select(m.InboundChange)).all()
    assert (change.kind, change.ticket_key, change.occurred_at) == ("status", "APP-123", FIELDS_UPDATED_MS)
    assert change.data["status_id"] == "10001"


@pytest.mark.parametrize("where, value", [
    (("issue", "fields", "status", "id"), 10001), (("issue", "fields", "assignee"), "jess"),
    (("changelog", "items"), "status"), (("issue", "fields"), [1, 2]), (("issue", "fields", "updated"), 7),
])
def test_an_optional_jira_field_of_another_type_is_left_out_not_a_400(client, s, where, value):
    payload = jira_payload("issue_updated_status_done")
    node = payload
    for name in where[:-1]:
        node = node[name]
    node[where[-1]] = value
    r = send_webhook(client, payload)
    assert r.status_code == 200, r.json
    assert last_delivery().status_code == 200


@pytest.mark.parametrize("assignee", ["jess", 7, ["jess"]])
def test_an_unreadable_jira_assignee_changes_no_one(client, s, assignee):
    """An assignee Jira would never send (not an object, not null) is not "unassigned": the delivery's
    assignee change is dropped, its other changes still recorded."""
    payload = jira_payload("issue_updated_assignee")
    payload["issue"]["fields"]["assignee"] = assignee
    payload["changelog"]["items"].append({"field": "status", "fieldtype": "jira", "from": "3", "to": "10001"})
    r = send_webhook(client, payload)
    assert r.status_code == 200, r.json
    assert [c.kind for c in db.session.scalars(select(m.InboundChange))] == ["status"]


def test_a_jira_issue_key_of_another_type_is_still_a_400(client, s):
    payload = jira_payload("issue_updated_status_done")
    payload["issue"]["key"] = ["APP-123"]
    before = counts()
    r = send_webhook(client, payload)
    assert r.status_code == 400 and r.json["detail"] == "The payload has no issue.key."
    assert counts() == before


def test_a_signed_install_with_a_base_url_that_is_no_url_is_a_400(client, s, rsa_key, install_keys):  # noqa: F811
    before = counts()
    body = {**load_installed(), "baseUrl": "http://[::1"}
    r = lifecycle(client, rsa_key, "installed", body=body)
    assert r.status_code == 400
    assert r.json["errors"] == {"baseUrl": ["Not a URL."]}
    assert counts() == before


def load_installed() -> dict[str, Any]:
    return jira_payload("installed", eventType="installed")


@pytest.mark.parametrize("answer", [{"text": ""}, {"json": []}, {"json": "APP-1"}],
                         ids=["empty", "list", "string"])
@pytest.mark.parametrize("provider", ["jira", "jira_server"])
def test_a_provider_answering_no_issue_on_link_or_create_is_a_400_and_nothing_is_linked(
        client, s, requests_mock, answer, provider):
    site = SITE if provider == "jira" else "https://jira.example.org"
    api = "/rest/api/3" if provider == "jira" else "/rest/api/2"
    integration_id = s["jira_id"] if provider == "jira" else s["server_id"]
    requests_mock.get(f"{site}{api}/issue/APP-1", status_code=200, **answer)
    requests_mock.post(f"{site}{api}/issue", status_code=201, **answer)
    url = f"/api/0/organizations/acme/issues/{s['group_id']}/external-issues/"
    before = counts()
    for body in ({"integrationId": integration_id, "action": "link", "externalIssue": "APP-1"},
                 {"integrationId": integration_id, "action": "create",
                  "fields": {"project": "10000", "issuetype": "10001", "title": "Boom"}}):
        r = client.post(url, json=body, headers=s["headers"])
        assert r.status_code == 400, (body["action"], r.json)
        assert "Jira" in r.json["detail"]
        assert counts() == before
