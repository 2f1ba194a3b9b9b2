"""Fixtures for the Discord plugin's tests: an app with Discord credentials, signed interactions."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from nacl.signing import SigningKey

from tests.plugins.discord import payloads
from tests.plugins.discord.payloads import APPLICATION_ID, CHANNEL_ID, DISCORD_USER_ID, GUILD_ID  # noqa: F401

SIGNING_KEY = SigningKey.generate()
BOT_TOKEN = "bot-token-not-a-secret"
API = "https://discord.com/api/v10"
SCENARIOS = {"ping": payloads.ping, "component_assign": payloads.assign_select}


@pytest.fixture
def app(make_app: Any) -> Any:
    """The hub app with Discord configured (the public key of our test signing key)."""
    application = make_app(
        HUB_DISCORD_PUBLIC_KEY=SIGNING_KEY.verify_key.encode().hex(),
        HUB_DISCORD_APPLICATION_ID=APPLICATION_ID,
        HUB_DISCORD_BOT_TOKEN=BOT_TOKEN,
    )
    with application.app_context():
        yield application
        from hub.extensions import db

        db.session.remove()


def payload(name: str, **changes: Any) -> dict[str, Any]:
    """A fresh copy of one of the payloads.py interactions, with top-level keys replaced."""
    data = SCENARIOS[name]()
    data.update(changes)
    return data


def sign(body: bytes, timestamp: str, key: SigningKey = SIGNING_KEY) -> str:
    return key.sign(timestamp.encode() + body).signature.hex()


def post_interaction(
    client: Any, data: dict[str, Any], *, timestamp: str | None = None, key: SigningKey = SIGNING_KEY
) -> Any:
    """POST an interaction exactly as Discord sends it: Ed25519 over timestamp + raw body."""
    body = json.dumps(data).encode()
    ts = timestamp or str(int(time.time()))
    headers = {
        "X-Signature-Ed25519": sign(body, ts, key),
        "X-Signature-Timestamp": ts,
        "Content-Type": "application/json",
    }
    return client.post("/extensions/discord/interactions/", data=body, headers=headers)


def component(
    custom_id: str,
    values: list[str] | None = None,
    *,
    user_id: str = DISCORD_USER_ID,
    guild_id: str = GUILD_ID,
    interaction_id: str = "1298471659000000099",
) -> dict[str, Any]:
    """A message-component interaction: a button click, or a select with ``values``."""
    data = payload("component_assign", id=interaction_id, guild_id=guild_id)
    data["member"]["user"]["id"] = user_id
    data["data"] = {"custom_id": custom_id, "component_type": 2}
    if values is not None:
        data["data"] = {"custom_id": custom_id, "component_type": 3, "values": values}
    return data


def command(
    name: str,
    *,
    user_id: str = DISCORD_USER_ID,
    guild_id: str = GUILD_ID,
    interaction_id: str = "1298471659000000100",
) -> dict[str, Any]:
    """A slash command interaction (type 2), shaped like the component fixture."""
    data = payload("component_assign", id=interaction_id, type=2, guild_id=guild_id)
    data["member"]["user"]["id"] = user_id
    data.pop("message")
    data["data"] = {"id": "1298471650000000200", "name": name, "type": 1}
    return data


@pytest.fixture
def discord(factories: Any) -> dict[str, Any]:
    """acme (owner@example.com) with the Discord guild installed, one issue, the owner linked."""
    s = factories.setup()
    integration = factories.integration(
        s["org"], "discord", GUILD_ID, metadata={"guild_id": GUILD_ID}, name="Acme Server"
    )
    group = factories.group(s["project"], "ZeroDivisionError: division by zero", culprit="app.views.divide")
    return {**s, "integration": integration, "group": group}
