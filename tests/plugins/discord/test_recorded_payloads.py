"""HUB_PAYLOADS_DIR/discord/*.json, re-pointed at our guild and Ed25519-signed: never a 500."""

from __future__ import annotations

from tests.plugins.discord.conftest import DISCORD_USER_ID, GUILD_ID, post_interaction
from tests.support.recorded_payloads import assert_handled, recorded


def test_recorded_discord_interactions_are_answered_or_refused_cleanly(client, discord, requests_mock):
    for name, body in recorded("discord", group_id=discord["group"].id):
        if "guild_id" in body:
            body["guild_id"] = GUILD_ID
        user = (body.get("member") or {}).get("user") or body.get("user")
        if isinstance(user, dict):
            user["id"] = DISCORD_USER_ID
        assert_handled(name, post_interaction(client, body))
