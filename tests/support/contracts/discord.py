"""Discord's HTTP API v10 as the hub's bot calls it (paths under ``/api/v10``).

Facts from Discord's OpenAPI document and developer docs: ids are snowflakes (decimal strings); the bot
authenticates with ``Authorization: Bot <token>``; a message has content (at most 4000 characters here, as
the spec allows), up to 10 embeds and up to 5 action rows of components; embed colours are integers
0..0xFFFFFF; a thread name is 1-100 characters and auto-archives after 60, 1440, 4320 or 10080 minutes;
a guild's commands are bulk-overwritten with a (possibly empty) array. ``POST /oauth2/token`` (Discord's
OAuth2 docs; not in the OpenAPI document) takes form fields and the app's client credentials.
"""

from __future__ import annotations

from .model import (
    BOT,
    CLIENT_CREDENTIALS_BASIC,
    CLIENT_CREDENTIALS_FIELDS,
    FORM,
    JSON,
    Contract,
    Endpoint,
    obj,
    string,
)

SNOWFLAKE = string(pattern=r"^[1-9][0-9]{0,19}$")
NULLABLE_STRING = {"type": ["string", "null"]}

EMBED = obj(
    {
        "title": {"type": ["string", "null"], "maxLength": 256},
        "description": {"type": ["string", "null"], "maxLength": 4096},
        "url": {"type": ["string", "null"], "maxLength": 2048},
        "color": {"type": ["integer", "null"], "minimum": 0, "maximum": 0xFFFFFF},
        "timestamp": NULLABLE_STRING,
        "fields": {
            "type": ["array", "null"],
            "maxItems": 25,
            "items": obj(
                {
                    "name": string(maxLength=256),
                    "value": string(maxLength=1024),
                    "inline": {"type": "boolean"},
                },
                required=["name", "value"],
            ),
        },
        "footer": obj({"text": string(maxLength=2048)}, required=["text"]),
        "author": obj({"name": string(maxLength=256)}, required=["name"]),
    }
)
COMPONENT = obj({"type": {"type": "integer", "minimum": 1}}, required=["type"])
ALLOWED_MENTIONS = obj(
    {
        "parse": {"type": "array", "items": {"enum": ["roles", "users", "everyone"]}},
        "users": {"type": "array", "items": SNOWFLAKE},
        "roles": {"type": "array", "items": SNOWFLAKE},
        "replied_user": {"type": "boolean"},
    }
)
MESSAGE = obj(
    {
        "content": {"type": ["string", "null"], "maxLength": 4000},
        "embeds": {"type": ["array", "null"], "maxItems": 10, "items": EMBED},
        "components": {"type": ["array", "null"], "maxItems": 5, "items": COMPONENT},
        "allowed_mentions": ALLOWED_MENTIONS,
        "message_reference": obj({"message_id": SNOWFLAKE}, required=["message_id"]),
        "flags": {"type": ["integer", "null"]},
        "tts": {"type": ["boolean", "null"]},
    },
    anyOf=[{"required": [k]} for k in ("content", "embeds", "components", "sticker_ids", "attachments")],
)
MESSAGE_EDIT = obj(  # PATCH: only the fields given change (the alert's embeds stay)
    {
        "content": {"type": ["string", "null"], "maxLength": 4000},
        "embeds": {"type": ["array", "null"], "maxItems": 10, "items": EMBED},
        "components": {"type": ["array", "null"], "maxItems": 5, "items": COMPONENT},
        "allowed_mentions": ALLOWED_MENTIONS,
        "flags": {"type": ["integer", "null"]},
    },
    minProperties=1,
)
COMMAND = obj(
    {
        "name": string(pattern=r"^[-_\w]{1,32}$"),
        "description": {"type": ["string", "null"], "maxLength": 100},
        "type": {"enum": [1, 2, 3]},  # CHAT_INPUT, USER, MESSAGE
        "options": {
            "type": ["array", "null"],
            "maxItems": 25,
            "items": obj(
                {
                    "type": {"type": "integer", "minimum": 1, "maximum": 11},
                    "name": string(pattern=r"^[-_\w]{1,32}$"),
                    "description": string(minLength=1, maxLength=100),
                    "required": {"type": "boolean"},
                },
                required=["type", "name", "description"],
            ),
        },
    },
    required=["name"],
)

_BOT = (BOT,)

DISCORD = Contract(
    "discord",
    [
        Endpoint(
            "GET",
            "/api/v10/guilds/{guild_id}",
            _BOT,
            "check the bot is in the server at install",
            {"guild_id": SNOWFLAKE},
            query={"with_counts": {"enum": ["true", "false"]}},
        ),
        Endpoint(
            "PUT",
            "/api/v10/applications/{application_id}/guilds/{guild_id}/commands",
            _BOT,
            "register (or, with [], remove) the hub's commands in a server",
            {"application_id": SNOWFLAKE, "guild_id": SNOWFLAKE},
            body={JSON: {"type": "array", "maxItems": 100, "items": COMMAND}},
        ),
        Endpoint(
            "POST",
            "/api/v10/channels/{channel_id}/messages",
            _BOT,
            "alerts and thread replies",
            {"channel_id": SNOWFLAKE},
            body={JSON: MESSAGE},
        ),
        Endpoint(
            "PATCH",
            "/api/v10/channels/{channel_id}/messages/{message_id}",
            _BOT,
            "an alert's buttons brought up to date after a choice in a dialog",
            {"channel_id": SNOWFLAKE, "message_id": SNOWFLAKE},
            body={JSON: MESSAGE_EDIT},
        ),
        Endpoint(
            "POST",
            "/api/v10/channels/{channel_id}/messages/{message_id}/threads",
            _BOT,
            "a thread on the alert for later updates",
            {"channel_id": SNOWFLAKE, "message_id": SNOWFLAKE},
            body={
                JSON: obj(
                    {
                        "name": string(minLength=1, maxLength=100),
                        "auto_archive_duration": {"enum": [60, 1440, 4320, 10080]},
                        "rate_limit_per_user": {"type": "integer", "minimum": 0, "maximum": 21600},
                    },
                    required=["name"],
                )
            },
        ),
        Endpoint(
            "POST",
            "/api/v10/oauth2/token",
            (CLIENT_CREDENTIALS_BASIC, CLIENT_CREDENTIALS_FIELDS),
            "exchange the install's OAuth code",
            body={
                FORM: obj(
                    {
                        "grant_type": {"enum": ["authorization_code"]},
                        "code": string(minLength=1),
                        "redirect_uri": string(format="absolute-url"),
                        "client_id": string(),
                        "client_secret": string(),
                    },
                    required=["grant_type", "code", "redirect_uri"],
                )
            },
        ),
    ],
)
