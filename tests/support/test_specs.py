"""tests.support.specs: captured outbound requests are checked against the providers' API contracts.

Every request here is really sent through ``requests`` and captured by ``requests_mock``; each spec is
shown to accept correct requests and to reject requests the real service would reject. The same assertions
hold for every active source: the hub's own contracts always, the official specs too when
``HUB_SPECS_DIR`` names them (then each source must report the problem).
"""

from __future__ import annotations

import json

import pytest
import requests
import requests_mock

from tests.support import specs
from tests.support.specs import SPEC_BASES, assert_valid_requests, validate_request

JIRA_CLOUD = "https://example.atlassian.net"
JIRA_DC = "https://jira.example.com/jira"  # a Data Center site with a context path
SLACK = "https://slack.com/api"
DISCORD = "https://discord.com/api/v10"

CONNECT_JWT = {"Authorization": "JWT eyJhbGciOiJIUzI1NiJ9.e30.sig"}  # Atlassian Connect app → Jira Cloud
DC_PAT = {"Authorization": "Bearer NjQ1NTc2OTI0"}  # Jira DC personal access token
SLACK_BOT = {"Authorization": "Bearer xoxb-1-2-abc"}
DISCORD_BOT = {"Authorization": "Bot test-bot-token"}

ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Occurs on all orders"}]}],
}


@pytest.fixture
def mock():
    with requests_mock.Mocker() as m:
        m.register_uri(requests_mock.ANY, requests_mock.ANY, json={})
        yield m


def send(mock, method, url, **kwargs):
    """Send a real request through requests and return what requests_mock captured."""
    requests.request(method, url, timeout=5, **kwargs)
    return mock.request_history[-1]


def errors_of(spec, mock, method, url, **kwargs):
    return validate_request(spec, send(mock, method, url, **kwargs))


SOURCES = tuple(sorted(s.tag for s in specs.active_sources()))


def by_source(errors):
    found = {}
    for error in errors:
        assert error.startswith("["), error
        found.setdefault(error[1 : error.index("]")], []).append(error)
    return found


def only_error(errors, *fragments, sources=SOURCES):
    """Each of ``sources`` (default: every active one) reports exactly one error, with every fragment."""
    found = by_source(errors)
    assert tuple(sorted(found)) == tuple(sorted(sources)), errors
    for source_errors in found.values():
        assert len(source_errors) == 1, source_errors
        for fragment in fragments:
            assert fragment in source_errors[0], source_errors[0]


def contract_error(errors, *fragments):
    """Only the hub's contract rejects (the official specs are laxer there, or lack the endpoint)."""
    only_error(errors, *fragments, sources=("contract",))


# ---------------------------------------- Jira Cloud (REST v3)


def test_jira_cloud_valid_requests(mock):
    assert (
        errors_of(
            "jira-cloud",
            mock,
            "POST",
            f"{JIRA_CLOUD}/rest/api/3/issue/APP-1/transitions",
            json={"transition": {"id": "31"}},
            headers=CONNECT_JWT,
        )
        == []
    )
    assert (
        errors_of("jira-cloud", mock, "GET", f"{JIRA_CLOUD}/rest/api/3/issue/APP-1", headers=CONNECT_JWT)
        == []
    )
    assert (
        errors_of(
            "jira-cloud",
            mock,
            "PUT",
            f"{JIRA_CLOUD}/rest/api/3/issue/APP-1/assignee",
            json={"accountId": "abc"},
            headers=CONNECT_JWT,
        )
        == []
    )
    assert (
        errors_of(
            "jira-cloud",
            mock,
            "PUT",
            f"{JIRA_CLOUD}/rest/api/3/issue/APP-1/assignee",
            json={"accountId": None},
            auth=("me@example.com", "api-token"),
        )
        == []
    )  # unassign, basic auth
    assert (
        errors_of(
            "jira-cloud",
            mock,
            "POST",
            f"{JIRA_CLOUD}/rest/api/3/issue",
            headers=CONNECT_JWT,
            json={
                "fields": {
                    "project": {"key": "APP"},
                    "issuetype": {"name": "Bug"},
                    "summary": "s",
                    "description": ADF,
                }
            },
        )
        == []
    )
    assert (
        errors_of(
            "jira-cloud",
            mock,
            "POST",
            f"{JIRA_CLOUD}/rest/api/3/issue/APP-1/comment",
            json={"body": ADF},
            headers=CONNECT_JWT,
        )
        == []
    )


def test_jira_cloud_rejects_plain_string_where_adf_is_required(mock):
    only_error(
        errors_of(
            "jira-cloud",
            mock,
            "POST",
            f"{JIRA_CLOUD}/rest/api/3/issue",
            headers=CONNECT_JWT,
            json={
                "fields": {
                    "project": {"key": "APP"},
                    "issuetype": {"name": "Bug"},
                    "summary": "s",
                    "description": "plain",
                }
            },
        ),
        "body.fields.description",
        "'plain' is not of type 'object'",
    )
    only_error(
        errors_of(
            "jira-cloud",
            mock,
            "POST",
            f"{JIRA_CLOUD}/rest/api/3/issue/APP-1/comment",
            json={"body": "plain"},
            headers=CONNECT_JWT,
        ),
        "body.body",
    )


def test_jira_cloud_rejects_unknown_path_and_wrong_method(mock):
    only_error(
        errors_of("jira-cloud", mock, "GET", f"{JIRA_CLOUD}/rest/api/3/issues/APP-1", headers=CONNECT_JWT),
        "/rest/api/3/issues/APP-1 not in spec",
    )
    only_error(
        errors_of(
            "jira-cloud", mock, "PATCH", f"{JIRA_CLOUD}/rest/api/3/issue/APP-1", json={}, headers=CONNECT_JWT
        ),
        "method PATCH not in spec for /rest/api/3/issue/{issueIdOrKey}",
        "GET",
    )
    # v2 paths are not part of the v3 spec either
    only_error(errors_of("jira-cloud", mock, "GET", f"{JIRA_CLOUD}/rest/api/2/issue/APP-1"), "not in spec")


def test_jira_cloud_rejects_bad_bodies(mock):
    only_error(
        errors_of(
            "jira-cloud",
            mock,
            "POST",
            f"{JIRA_CLOUD}/rest/api/3/issue/APP-1/transitions",
            json={"transition": "31"},
            headers=CONNECT_JWT,
        ),
        "body.transition",
    )
    only_error(
        errors_of(
            "jira-cloud",
            mock,
            "POST",
            f"{JIRA_CLOUD}/rest/api/3/issue/APP-1/transitions",
            data={"transition": "31"},
            headers=CONNECT_JWT,
        ),
        "Content-Type 'application/x-www-form-urlencoded' not accepted",
        "application/json",
    )
    only_error(
        errors_of(
            "jira-cloud",
            mock,
            "PUT",
            f"{JIRA_CLOUD}/rest/api/3/issue/APP-1/assignee",
            json={"accountId": 5},
            headers=CONNECT_JWT,
        ),
        "body.accountId: 5 is not of type 'string'",
    )
    # null unassigns (see the module docstring); other nulls stay invalid
    only_error(
        errors_of(
            "jira-cloud",
            mock,
            "PUT",
            f"{JIRA_CLOUD}/rest/api/3/issue/APP-1/assignee",
            json={"accountId": None, "self": None},
            headers=CONNECT_JWT,
        ),
        "body",
    )


def test_jira_cloud_user_email_needs_account_id_and_credentials(mock):
    url = f"{JIRA_CLOUD}/rest/api/3/user/email"
    assert (
        errors_of(
            "jira-cloud",
            mock,
            "GET",
            url,
            params={"accountId": "712020:9e4b7c10-2d3f-4a6e-8b51-f0c7a9d2e384"},
            headers=CONNECT_JWT,
        )
        == []
    )
    only_error(
        errors_of("jira-cloud", mock, "GET", url, headers=CONNECT_JWT),
        "missing required query parameter 'accountId'",
    )
    # this operation has no anonymous alternative: basic auth or a Connect JWT
    only_error(
        errors_of("jira-cloud", mock, "GET", url, params={"accountId": "abc"}),
        "security",
        "Authorization: Basic",
        "Authorization: JWT",
    )
    only_error(
        errors_of(
            "jira-cloud",
            mock,
            "GET",
            url,
            params={"accountId": "abc"},
            headers={"Authorization": "Token abc"},
        ),
        "security",
    )


def test_jira_cloud_takes_oauth2_bearer_tokens_and_the_hub_always_authenticates(mock):
    url = f"{JIRA_CLOUD}/rest/api/3/issue/APP-1"
    assert errors_of("jira-cloud", mock, "GET", url, headers={"Authorization": "Bearer at-123"}) == []
    # the official spec also allows anonymous reads (public projects); the hub never sends one
    contract_error(
        errors_of("jira-cloud", mock, "GET", url),
        "security",
        "Authorization: JWT",
        "Authorization: Basic",
        "Authorization: Bearer",
    )


def test_contract_rejects_query_parameters_and_path_values_it_does_not_list(mock):
    contract_error(
        errors_of("jira-cloud", mock, "GET", f"{JIRA_CLOUD}/rest/api/3/status?limit=5", headers=CONNECT_JWT),
        "query parameter 'limit' is not in the contract",
    )
    contract_error(
        errors_of(
            "jira-cloud",
            mock,
            "POST",
            f"{JIRA_CLOUD}/rest/api/3/issue/APP-1/comment",
            json={"body": ADF},
            headers={"Authorization": "JWT not-a-jwt"},
        ),
        "security",
        "Authorization: JWT",
    )
    contract_error(
        errors_of(
            "jira-cloud",
            mock,
            "PUT",
            f"{JIRA_CLOUD}/rest/api/3/issue/APP%201/comment/10",
            json={"body": ADF},
            headers=CONNECT_JWT,
        ),
        "path parameter 'issueIdOrKey'",
    )


# ---------------------------------------- Jira Data Center (REST v2 under /rest)


def test_jira_dc_valid_requests(mock):
    assert (
        errors_of(
            "jira-dc",
            mock,
            "POST",
            f"{JIRA_DC}/rest/api/2/issue/APP-1/transitions",
            json={"transition": {"id": "31"}},
            headers=DC_PAT,
        )
        == []
    )
    assert (
        errors_of(
            "jira-dc",
            mock,
            "PUT",
            f"{JIRA_DC}/rest/api/2/issue/APP-1/assignee",
            json={"name": "jess"},
            auth=("jess", "secret"),
        )
        == []
    )
    assert (
        errors_of(
            "jira-dc",
            mock,
            "PUT",
            f"{JIRA_DC}/rest/api/2/issue/APP-1/assignee",
            json={"name": None},
            headers=DC_PAT,
        )
        == []
    )  # unassign
    assert (
        errors_of(
            "jira-dc",
            mock,
            "POST",
            f"{JIRA_DC}/rest/api/2/issue",
            headers=DC_PAT,
            json={
                "fields": {
                    "project": {"key": "APP"},
                    "issuetype": {"name": "Bug"},
                    "summary": "s",
                    "description": "plain text is fine on v2",
                }
            },
        )
        == []
    )


def test_jira_dc_rejects_bad_requests(mock):
    only_error(
        errors_of("jira-dc", mock, "GET", f"{JIRA_DC}/rest/api/2/issue/APP-1/nothing", headers=DC_PAT),
        "/rest/api/2/issue/APP-1/nothing not in spec jira-dc",
    )
    only_error(
        errors_of(
            "jira-dc", mock, "PUT", f"{JIRA_DC}/rest/api/2/issue/APP-1/assignee", json={"name": "jess"}
        ),
        "security",
        "Authorization: Basic",
        "Authorization: Bearer",
    )
    only_error(
        errors_of(
            "jira-dc",
            mock,
            "PUT",
            f"{JIRA_DC}/rest/api/2/issue/APP-1/assignee",
            json={"name": 5},
            headers=DC_PAT,
        ),
        "body.name",
    )
    only_error(
        errors_of(
            "jira-dc",
            mock,
            "POST",
            f"{JIRA_DC}/rest/api/2/issue/APP-1/transitions",
            json={"transition": "31"},
            headers=DC_PAT,
        ),
        "body.transition",
    )


def test_jira_dc_accepts_oauth1_application_link_signatures(mock):
    """Jira Server/DC REST takes OAuth 1.0a (RSA-SHA1) from application links: the scheme is accepted as an
    alternative to basic and bearer, and still nothing without credentials."""
    oauth = {
        "Authorization": 'OAuth oauth_consumer_key="hub", oauth_signature_method="RSA-SHA1", '
        'oauth_signature="c2ln", oauth_token="t", oauth_nonce="n", oauth_timestamp="1"'
    }
    url = f"{JIRA_DC}/rest/api/2/issue/APP-1/transitions"
    assert errors_of("jira-dc", mock, "POST", url, json={"transition": {"id": "31"}}, headers=oauth) == []
    only_error(
        errors_of("jira-dc", mock, "POST", url, json={"transition": {"id": "31"}}),
        "security",
        "Authorization: OAuth",
    )
    only_error(  # the body is still validated with OAuth1 credentials
        errors_of("jira-dc", mock, "POST", url, json={"transition": "31"}, headers=oauth),
        "body.transition",
    )
    # OAuth1 is not a Cloud scheme
    only_error(
        errors_of(
            "jira-cloud", mock, "GET", f"{JIRA_CLOUD}/rest/api/3/user/email?accountId=abc", headers=oauth
        ),
        "security",
    )


WEBHOOKS = {"/rest/webhooks/1.0/webhook", "/rest/webhooks/1.0/webhook/{id}"}  # not in the DC OpenAPI
SERVLETS = {"/plugins/servlet/oauth/request-token", "/plugins/servlet/oauth/access-token"}
DC_OAUTH = {
    "Authorization": 'OAuth oauth_consumer_key="hub", oauth_signature_method="RSA-SHA1", '
    'oauth_signature="c2ln", oauth_token="t", oauth_nonce="n", oauth_timestamp="1"'
}


def test_jira_dc_webhook_resource_is_checked_by_the_contract(mock):
    """/rest/webhooks/1.0/webhook (Jira's webhook REST resource) is absent from the DC OpenAPI document: tests
    list it in allow_unlisted for the official source, and the hub's contract checks it all the same."""
    hook = {"name": "hub", "url": "https://hub.example.com/x", "events": ["jira:issue_updated"]}
    create = send(mock, "POST", f"{JIRA_DC}/rest/webhooks/1.0/webhook", headers=DC_OAUTH, json=hook)
    delete = send(mock, "DELETE", f"{JIRA_DC}/rest/webhooks/1.0/webhook/10", headers=DC_OAUTH)
    assert validate_request("jira-dc", create, allow_unlisted=WEBHOOKS) == []
    assert (
        validate_request("jira-dc", delete, allow_unlisted={"DELETE /rest/webhooks/1.0/webhook/{id}"}) == []
    )
    assert assert_valid_requests("jira-dc", mock.request_history[-2:], JIRA_DC, allow_unlisted=WEBHOOKS) == 2

    no_events = send(
        mock, "POST", f"{JIRA_DC}/rest/webhooks/1.0/webhook", headers=DC_OAUTH, json={**hook, "events": []}
    )
    contract_error(validate_request("jira-dc", no_events, allow_unlisted=WEBHOOKS), "body.events")
    relative = send(
        mock, "POST", f"{JIRA_DC}/rest/webhooks/1.0/webhook", headers=DC_OAUTH, json={**hook, "url": "/x"}
    )
    contract_error(validate_request("jira-dc", relative, allow_unlisted=WEBHOOKS), "body.url")
    anonymous = send(mock, "DELETE", f"{JIRA_DC}/rest/webhooks/1.0/webhook/10")
    contract_error(validate_request("jira-dc", anonymous, allow_unlisted=WEBHOOKS), "security", "OAuth")
    wrong_id = send(mock, "DELETE", f"{JIRA_DC}/rest/webhooks/1.0/webhook/abc", headers=DC_OAUTH)
    contract_error(validate_request("jira-dc", wrong_id, allow_unlisted=WEBHOOKS), "path parameter 'id'")
    with pytest.raises(TypeError):
        validate_request("jira-dc", create, allow_unlisted="/rest/webhooks/1.0/webhook")


def test_jira_dc_oauth_servlets_need_the_dance_parameters(mock):
    base = 'OAuth oauth_consumer_key="hub", oauth_signature_method="RSA-SHA1", oauth_signature="c2ln", '
    step1 = {
        "Authorization": base
        + 'oauth_nonce="n", oauth_timestamp="1", oauth_callback="https%3A%2F%2Fhub%2Fcb"'
    }
    step3 = {
        "Authorization": base + 'oauth_nonce="n", oauth_timestamp="1", oauth_token="t", oauth_verifier="v"'
    }
    request_token = f"{JIRA_DC}/plugins/servlet/oauth/request-token"
    access_token = f"{JIRA_DC}/plugins/servlet/oauth/access-token"
    assert (
        validate_request(
            "jira-dc",
            send(mock, "POST", request_token, headers=step1),
            allow_unlisted=SERVLETS,
            base_url=JIRA_DC,
        )
        == []
    )
    assert (
        validate_request(
            "jira-dc",
            send(mock, "POST", access_token, headers=step3),
            allow_unlisted=SERVLETS,
            base_url=JIRA_DC,
        )
        == []
    )
    contract_error(
        validate_request(
            "jira-dc",
            send(mock, "POST", access_token, headers=step1),
            allow_unlisted=SERVLETS,
            base_url=JIRA_DC,
        ),
        "security",
        "oauth_verifier",
    )
    plaintext = {"Authorization": step3["Authorization"].replace("RSA-SHA1", "PLAINTEXT")}
    contract_error(
        validate_request(
            "jira-dc",
            send(mock, "POST", access_token, headers=plaintext),
            allow_unlisted=SERVLETS,
            base_url=JIRA_DC,
        ),
        "security",
        "RSA-SHA1",
    )


# ---------------------------------------- Slack Web API


def test_slack_chat_post_message(mock):
    url = f"{SLACK}/chat.postMessage"
    assert (
        errors_of("slack", mock, "POST", url, json={"channel": "C1", "text": "hi"}, headers=SLACK_BOT) == []
    )
    assert (
        errors_of(
            "slack",
            mock,
            "POST",
            url,
            headers=SLACK_BOT,
            json={
                "channel": "C1",
                "text": "hi",
                "unfurl_links": False,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
            },
        )
        == []
    )
    # form-encoded works too (values are strings; blocks as a JSON string)
    assert (
        errors_of(
            "slack",
            mock,
            "POST",
            url,
            headers=SLACK_BOT,
            data={"channel": "C1", "text": "hi", "blocks": json.dumps([{"type": "divider"}])},
        )
        == []
    )

    only_error(
        errors_of("slack", mock, "POST", url, json={"text": "hi"}, headers=SLACK_BOT),
        "'channel' is a required property",
    )
    only_error(
        errors_of("slack", mock, "POST", url, json={"channel": "C1", "text": "hi"}),
        "security",
        "Authorization: Bearer",
    )
    only_error(
        errors_of(
            "slack",
            mock,
            "POST",
            url,
            json={"channel": "C1", "text": "hi"},
            headers={"Authorization": "xoxb-1-2-abc"},
        ),
        "security",
    )
    only_error(
        errors_of(
            "slack", mock, "POST", f"{SLACK}/chat.postMessages", json={"channel": "C1"}, headers=SLACK_BOT
        ),
        "/api/chat.postMessages not in spec slack",
    )


def test_slack_views_open_and_chat_update(mock):
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Link"}, "blocks": []}
    url = f"{SLACK}/views.open"
    assert (
        errors_of(
            "slack", mock, "POST", url, json={"trigger_id": "12.34.ab", "view": view}, headers=SLACK_BOT
        )
        == []
    )  # slack_sdk: view as an object
    assert (
        errors_of(
            "slack",
            mock,
            "POST",
            url,
            json={"trigger_id": "12.34.ab", "view": json.dumps(view)},
            headers=SLACK_BOT,
        )
        == []
    )
    assert (
        errors_of(
            "slack",
            mock,
            "POST",
            url,
            data={"trigger_id": "12.34.ab", "view": json.dumps(view)},
            headers=SLACK_BOT,
        )
        == []
    )
    only_error(
        errors_of("slack", mock, "POST", url, json={"view": view}, headers=SLACK_BOT),
        "'trigger_id' is a required property",
    )

    url = f"{SLACK}/chat.update"
    assert (
        errors_of(
            "slack",
            mock,
            "POST",
            url,
            headers=SLACK_BOT,
            json={"channel": "C1", "ts": "1700000000.000100", "text": "edited", "blocks": []},
        )
        == []
    )
    only_error(
        errors_of("slack", mock, "POST", url, json={"channel": "C1", "text": "edited"}, headers=SLACK_BOT),
        "'ts' is a required property",
    )


def test_slack_oauth_v2_access(mock):
    url = f"{SLACK}/oauth.v2.access"
    # the code exchange takes the app's client credentials, not a token: form fields ...
    assert (
        errors_of(
            "slack",
            mock,
            "POST",
            url,
            data={"client_id": "123.456", "client_secret": "s3cr3t", "code": "c0de"},
        )
        == []
    )
    # ... or HTTP Basic auth (what slack_sdk's oauth_v2_access sends)
    assert (
        errors_of(
            "slack",
            mock,
            "POST",
            url,
            data={"code": "c0de", "redirect_uri": "https://hub/x"},
            auth=("123.456", "s3cr3t"),
        )
        == []
    )

    only_error(errors_of("slack", mock, "POST", url, data={"code": "c0de"}), "client credentials")
    only_error(
        errors_of("slack", mock, "POST", url, data={"client_id": "123.456", "client_secret": "s3cr3t"}),
        "'code' is a required property",
    )
    errors = errors_of("slack", mock, "POST", url, json={"client_id": "1", "client_secret": "s", "code": "c"})
    assert any("Content-Type 'application/json' not accepted" in e for e in errors), errors


# ---------------------------------------- Discord HTTP API v10


def test_discord_messages_and_threads(mock):
    url = f"{DISCORD}/channels/123456789012345678/messages"
    assert errors_of("discord", mock, "POST", url, json={"content": "x"}, headers=DISCORD_BOT) == []
    assert (
        errors_of(
            "discord",
            mock,
            "POST",
            url,
            headers=DISCORD_BOT,
            json={
                "embeds": [
                    {"title": "APP-1", "url": "https://example.atlassian.net/browse/APP-1", "color": 5814783}
                ],
                "allowed_mentions": {"parse": []},
            },
        )
        == []
    )
    assert (
        errors_of(
            "discord",
            mock,
            "POST",
            f"{url}/223456789012345678/threads",
            json={"name": "t"},
            headers=DISCORD_BOT,
        )
        == []
    )

    only_error(
        errors_of("discord", mock, "POST", url, json={"embeds": "x"}, headers=DISCORD_BOT),
        "body.embeds",
        "'x' is not of type 'array'",
    )
    only_error(
        errors_of("discord", mock, "POST", url, json={"embeds": [{"color": "red"}]}, headers=DISCORD_BOT),
        "body.embeds[0].color",
    )
    only_error(
        errors_of("discord", mock, "POST", f"{url}/223456789012345678/threads", json={}, headers=DISCORD_BOT),
        "'name' is a required property",
    )
    only_error(
        errors_of(
            "discord",
            mock,
            "POST",
            f"{DISCORD}/channels/C1/messages",
            json={"content": "x"},
            headers=DISCORD_BOT,
        ),
        "path parameter 'channel_id'",
    )


def test_discord_message_edit(mock):
    url = f"{DISCORD}/channels/123456789012345678/messages/223456789012345678"
    buttons = [{"type": 1, "components": [{"type": 2, "style": 2, "label": "Unresolve", "custom_id": "u:1"}]}]
    assert errors_of("discord", mock, "PATCH", url, json={"components": buttons}, headers=DISCORD_BOT) == []
    only_error(
        errors_of("discord", mock, "PATCH", url, json={"components": "x"}, headers=DISCORD_BOT),
        "body.components",
    )
    contract_error(errors_of("discord", mock, "PATCH", url, json={}, headers=DISCORD_BOT), "body")
    only_error(
        errors_of("discord", mock, "PATCH", f"{DISCORD}/channels/1/messages/M1", json={"content": "x"},
                  headers=DISCORD_BOT),
        "path parameter 'message_id'",
    )


def test_discord_credentials(mock):
    url = f"{DISCORD}/channels/123/messages"
    only_error(errors_of("discord", mock, "POST", url, json={"content": "x"}), "security", "Bot ...")
    only_error(
        errors_of(
            "discord",
            mock,
            "POST",
            url,
            json={"content": "x"},
            headers={"Authorization": DISCORD_BOT["Authorization"][4:]},
        ),
        "security",
    )


def test_discord_bulk_overwrite_commands(mock):
    commands = [
        {
            "name": "hub",
            "description": "Link this channel to the hub",
            "type": 1,
            "options": [{"type": 3, "name": "issue", "description": "Issue key", "required": True}],
        }
    ]
    assert (
        errors_of(
            "discord",
            mock,
            "PUT",
            f"{DISCORD}/applications/42/guilds/4242/commands",
            json=commands,
            headers=DISCORD_BOT,
        )
        == []
    )
    guild_commands = f"{DISCORD}/applications/42/guilds/4242/commands"
    assert errors_of("discord", mock, "PUT", guild_commands, json=[], headers=DISCORD_BOT) == []  # uninstall
    only_error(
        errors_of(
            "discord", mock, "PUT", guild_commands, json=[{"description": "no name"}], headers=DISCORD_BOT
        ),
        "body[0]",
        "'name'",
    )
    only_error(errors_of("discord", mock, "PUT", guild_commands, headers=DISCORD_BOT), "body is required")
    only_error(
        errors_of(
            "discord",
            mock,
            "PUT",
            f"{DISCORD}/applications/x/guilds/4242/commands",
            json=[],
            headers=DISCORD_BOT,
        ),
        "path parameter 'application_id'",
    )


def test_discord_oauth2_token_exchange(mock):
    """POST /oauth2/token (Discord's OAuth2 docs; not in its OpenAPI document: allow-listed there)."""
    url = f"{DISCORD}/oauth2/token"
    allow = {"POST /api/v10/oauth2/token"}
    form = {"grant_type": "authorization_code", "code": "abc", "redirect_uri": "https://hub.example.com/cb"}
    ok = send(mock, "POST", url, data=form, auth=("1234", "s3cr3t"))
    assert validate_request("discord", ok, allow_unlisted=allow) == []
    contract_error(
        validate_request("discord", send(mock, "POST", url, data=form), allow_unlisted=allow),
        "security",
        "client credentials",
    )
    contract_error(
        validate_request(
            "discord",
            send(mock, "POST", url, data={**form, "grant_type": "password"}, auth=("1234", "s")),
            allow_unlisted=allow,
        ),
        "body.grant_type",
    )
    contract_error(
        validate_request(
            "discord", send(mock, "POST", url, json=form, auth=("1234", "s")), allow_unlisted=allow
        ),
        "Content-Type 'application/json' not accepted",
    )


# ---------------------------------------- Slack response_url (no official document exists)


def test_slack_response_url_posts_take_a_json_message_and_no_token(mock):
    url = "https://hooks.slack.com/actions/T07HB2Q4Z/7391846251/h8Qx2KpV0mZrT4wc"
    base = "https://hooks.slack.com"
    message = {"replace_original": True, "text": "Resolved", "blocks": [{"type": "divider"}]}
    assert assert_valid_requests("slack-response-url", [send(mock, "POST", url, json=message)], base) == 1
    assert (
        validate_request("slack-response-url", send(mock, "POST", url, json={"delete_original": True})) == []
    )
    contract_error(
        validate_request("slack-response-url", send(mock, "POST", url, json=message, headers=SLACK_BOT)),
        "security",
        "no Authorization header",
    )
    contract_error(
        validate_request(
            "slack-response-url", send(mock, "POST", url, json={"replace_original": "yes", "text": "x"})
        ),
        "body.replace_original",
    )
    contract_error(
        validate_request("slack-response-url", send(mock, "POST", url, data={"text": "x"})),
        "Content-Type 'application/x-www-form-urlencoded' not accepted",
    )
    contract_error(
        validate_request(
            "slack-response-url", send(mock, "POST", "https://hooks.slack.com/services/T/B/x", json=message)
        ),
        "not in spec slack-response-url",
    )


# ---------------------------------------- assert_valid_requests and mapping


def test_assert_valid_requests_counts_and_filters_by_base_url(mock):
    send(
        mock,
        "POST",
        "http://slack.test/api/chat.postMessage",
        json={"channel": "C1", "text": "hi"},
        headers=SLACK_BOT,
    )
    send(
        mock,
        "POST",
        "http://slack.test/api/views.open",
        json={"trigger_id": "t", "view": {"type": "modal"}},
        headers=SLACK_BOT,
    )
    send(mock, "GET", "http://elsewhere.test/api/chat.postMessage")  # another host: not counted
    send(mock, "GET", "http://slack.test/apix/chat.postMessage")  # not under the base path either
    assert assert_valid_requests("slack", mock.request_history, "http://slack.test/api") == 2
    assert assert_valid_requests("slack", mock.request_history, "http://slack.test/api/") == 2
    assert assert_valid_requests("slack", mock.request_history, "http://nothing.test/api") == 0


def test_assert_valid_requests_lists_every_invalid_request(mock):
    send(mock, "POST", f"{DISCORD}/channels/1/messages", json={"content": "ok"}, headers=DISCORD_BOT)
    send(mock, "POST", f"{DISCORD}/channels/1/messages", json={"embeds": "x"}, headers=DISCORD_BOT)
    send(mock, "GET", f"{DISCORD}/channels/1/nothing", headers=DISCORD_BOT)
    with pytest.raises(AssertionError) as info:
        assert_valid_requests("discord", mock.request_history, DISCORD)
    message = str(info.value)
    assert "2 of 3 request(s)" in message
    assert "body.embeds" in message and "/api/v10/channels/1/nothing not in spec" in message
    assert "'ok'" not in message


def test_assert_valid_requests_maps_base_urls(mock):
    # Jira DC with a context path; a Jira Cloud site; Discord at a bare host, with or without /api/v10
    send(mock, "PUT", f"{JIRA_DC}/rest/api/2/issue/APP-1/assignee", json={"name": "jess"}, headers=DC_PAT)
    assert assert_valid_requests("jira-dc", mock.request_history, JIRA_DC) == 1
    send(mock, "GET", f"{JIRA_CLOUD}/rest/api/3/user/email?accountId=abc", headers=CONNECT_JWT)
    assert assert_valid_requests("jira-cloud", mock.request_history, JIRA_CLOUD) == 1
    send(mock, "POST", "http://discord.test/channels/1/messages", json={"content": "x"}, headers=DISCORD_BOT)
    assert assert_valid_requests("discord", mock.request_history, "http://discord.test") == 1
    send(
        mock,
        "POST",
        "http://discord2.test/api/v10/channels/1/messages",
        json={"content": "x"},
        headers=DISCORD_BOT,
    )
    assert assert_valid_requests("discord", mock.request_history, "http://discord2.test") == 1

    assert SPEC_BASES == {
        "jira-cloud": "",
        "jira-dc": "",
        "slack": "/api",
        "slack-response-url": "",
        "discord": "/api/v10",
    }
    assert (
        specs.spec_path_for("slack", "http://slack.test/api/chat.postMessage", "http://slack.test/api")
        == "/api/chat.postMessage"
    )
    assert (
        specs.spec_path_for("discord", f"{DISCORD}/channels/1/messages?x=1", DISCORD)
        == "/api/v10/channels/1/messages"
    )
    assert specs.spec_path_for("jira-dc", f"{JIRA_DC}/rest/api/2/myself", JIRA_DC) == "/rest/api/2/myself"
    assert specs.spec_path_for("jira-dc", "https://jira.example.com/rest/api/2/myself", JIRA_DC) is None


def test_validate_request_without_base_url_strips_a_context_path(mock):
    request = send(
        mock, "PUT", f"{JIRA_DC}/rest/api/2/issue/APP-1/assignee", json={"name": "jess"}, headers=DC_PAT
    )
    assert validate_request("jira-dc", request) == []
    assert validate_request("jira-dc", request, base_url=JIRA_DC) == []
    # with an explicit base URL the mapping is exact: the wrong base leaves /jira in the path
    only_error(
        validate_request("jira-dc", request, base_url="https://jira.example.com"),
        "/jira/rest/api/2/issue/APP-1/assignee not in spec",
    )


def test_accepts_prepared_requests_and_rejects_unknown_specs():
    prepared = requests.Request(
        "POST", f"{SLACK}/chat.postMessage", json={"channel": "C1", "text": "hi"}, headers=SLACK_BOT
    ).prepare()
    assert validate_request("slack", prepared) == []
    assert validate_request(
        "slack", requests.Request("POST", f"{SLACK}/chat.postMessage", json={"text": "x"}, headers=SLACK_BOT)
    )
    with pytest.raises(ValueError, match="unknown spec"):
        validate_request("jira", prepared)
