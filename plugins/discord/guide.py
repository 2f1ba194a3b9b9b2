"""Discord's install guide for the integrations page: the OAuth button and the server id by hand."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from hub import services


def install_guide(organization_slug: str, base_url: str) -> dict[str, Any]:
    start = f"{base_url}/extensions/discord/oauth/?{urlencode({'organization': organization_slug})}"
    missing = [
        k
        for k in ("HUB_DISCORD_APPLICATION_ID", "HUB_DISCORD_BOT_TOKEN", "HUB_DISCORD_CLIENT_SECRET")
        if not services.config(k)
    ]
    button: dict[str, Any] = {"label": "Add to Discord", "url": start}
    if missing:
        button["unavailable"] = f"The hub's Discord app is not configured ({', '.join(missing)})."
    return {
        "steps": [
            "Choose “Add to Discord”: Discord asks which server to add the bot to (you need Manage Server "
            "there) and what it may do; authorize it.",
            "Discord sends you back here and the server appears above; create an alert rule with the id of "
            "the channel to post to (Developer Mode on, then right-click the channel → Copy Channel ID).",
            "Already added the bot? Enter the server id (right-click the server → Copy Server ID) by hand.",
        ],
        "copy": [
            {"label": "OAuth redirect URL", "value": f"{base_url}/extensions/discord/oauth/"},
            {"label": "Interactions endpoint URL", "value": f"{base_url}/extensions/discord/interactions/"},
        ],
        "buttons": [button],
    }
