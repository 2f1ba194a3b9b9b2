"""Slack as the hub calls it: Web API methods under ``/api`` and interaction ``response_url`` posts.

Facts from Slack's Web API reference (and its OpenAPI document): every method is a POST that takes either
form fields or, with a bearer token, a JSON body; in form fields JSON payloads (``blocks``, ``view``) travel
as JSON-encoded strings and booleans as ``true``/``false``. Methods authenticate with
``Authorization: Bearer <token>``, except the OAuth code exchange ``oauth.v2.access``, which takes the app's
client credentials (form fields or HTTP basic) and form fields only. A ``response_url``
(``https://hooks.slack.com/actions|commands/...``) takes a JSON message and no token at all.
"""

from __future__ import annotations

from .model import (
    BEARER,
    CLIENT_CREDENTIALS_BASIC,
    CLIENT_CREDENTIALS_FIELDS,
    FORM,
    FORM_BOOLEAN,
    JSON,
    NO_CREDENTIALS,
    Contract,
    Endpoint,
    obj,
    string,
)

CHANNEL = string(pattern=r"^[CDG][A-Z0-9]+$")  # a conversation id (public, DM, private)
TS = string(pattern=r"^[0-9]+\.[0-9]+$")  # a message timestamp, "1700000000.000100"
BLOCKS = {"type": "array", "maxItems": 50, "items": obj({"type": string()}, required=["type"])}
ATTACHMENTS = {"type": "array", "items": {"type": "object"}}
TEXT = string(maxLength=40000)


def _message(required: list[str], **extra: dict) -> dict:
    """The JSON and the form flavour of a chat.* body."""
    as_json = obj(
        {
            "channel": CHANNEL,
            "text": TEXT,
            "blocks": BLOCKS,
            "attachments": ATTACHMENTS,
            "thread_ts": TS,
            "unfurl_links": {"type": "boolean"},
            "unfurl_media": {"type": "boolean"},
            "mrkdwn": {"type": "boolean"},
            "reply_broadcast": {"type": "boolean"},
            "metadata": {"type": "object"},
            **extra,
        },
        required=required,
    )
    as_form = obj(
        {
            "channel": CHANNEL,
            "text": TEXT,
            "blocks": string(format="json-array"),
            "attachments": string(format="json-array"),
            "thread_ts": TS,
            "unfurl_links": FORM_BOOLEAN,
            "unfurl_media": FORM_BOOLEAN,
            "mrkdwn": FORM_BOOLEAN,
            "reply_broadcast": FORM_BOOLEAN,
            "metadata": string(format="json-object"),
            **extra,
        },
        required=required,
    )
    return {JSON: as_json, FORM: as_form}


_BOT = (BEARER,)
_VIEW = obj({"type": {"enum": ["modal", "home"]}, "blocks": BLOCKS}, required=["type"])

SLACK = Contract(
    "slack",
    [
        Endpoint(
            "POST",
            "/api/chat.postMessage",
            _BOT,
            "alerts and their thread replies",
            body=_message(["channel"]),
        ),
        Endpoint(
            "POST",
            "/api/chat.update",
            _BOT,
            "redraw an alert after an action",
            body=_message(["channel", "ts"], ts=TS),
        ),
        Endpoint(
            "POST",
            "/api/views.open",
            _BOT,
            "the assign / resolve dialogs",
            body={
                JSON: obj(
                    {
                        "trigger_id": string(minLength=1),
                        "view": {"anyOf": [_VIEW, string(format="json-object")]},
                    },
                    required=["trigger_id", "view"],
                ),
                FORM: obj(
                    {"trigger_id": string(minLength=1), "view": string(format="json-object")},
                    required=["trigger_id", "view"],
                ),
            },
        ),
        Endpoint("POST", "/api/auth.test", _BOT, "who the bot token belongs to"),
        Endpoint(
            "POST",
            "/api/oauth.v2.access",
            (CLIENT_CREDENTIALS_FIELDS, CLIENT_CREDENTIALS_BASIC),
            "exchange an install's code for the bot token",
            body={
                FORM: obj(
                    {
                        "client_id": string(),
                        "client_secret": string(),
                        "code": string(minLength=1),
                        "redirect_uri": string(format="absolute-url"),
                        "grant_type": string(),
                    },
                    required=["code"],
                ),
            },
        ),
    ],
)

_RESPONSE = obj(
    {
        "text": TEXT,
        "blocks": BLOCKS,
        "attachments": ATTACHMENTS,
        "thread_ts": TS,
        "response_type": {"enum": ["ephemeral", "in_channel"]},
        "replace_original": {"type": "boolean"},
        "delete_original": {"type": "boolean"},
    },
    anyOf=[{"required": ["text"]}, {"required": ["blocks"]}, {"required": ["delete_original"]}],
)

#: Posts to an interaction's ``response_url``; paths as Slack hands them out (``base_url`` = the host).
SLACK_RESPONSE_URL = Contract(
    "slack-response-url",
    [
        Endpoint(
            "POST",
            "/actions/{team_id}/{action_id}/{token}",
            (NO_CREDENTIALS,),
            "replace the clicked message / answer ephemerally",
            body={JSON: _RESPONSE},
        ),
        Endpoint(
            "POST",
            "/commands/{team_id}/{command_id}/{token}",
            (NO_CREDENTIALS,),
            "answer a slash command later",
            body={JSON: _RESPONSE},
        ),
    ],
)
