"""Slack's install guide for the integrations page: the OAuth button, the app's URLs, a bot token by hand."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from hub import services


def install_guide(organization_slug: str, base_url: str) -> dict[str, Any]:
    start = f"{base_url}/extensions/slack/oauth/?{urlencode({'organization': organization_slug})}"
    configured = bool(services.config("HUB_SLACK_CLIENT_ID")) and bool(
        services.config("HUB_SLACK_CLIENT_SECRET")
    )
    return {
        "steps": [
            "Choose “Add to Slack”: Slack asks which workspace and shows what the app may do; approve it.",
            "Slack sends you back here and the workspace appears above; invite the bot to the alert channels "
            "(/invite @Integration Hub) and create an alert rule.",
            "Without the hub's Slack app: create an app at api.slack.com/apps, set the URLs below (Event "
            "Subscriptions, Interactivity, the /hub slash command), install it to your workspace and enter "
            "its Bot User OAuth Token (xoxb-…) in the by-hand form with the workspace's team id.",
        ],
        "copy": [
            {"label": "OAuth redirect URL", "value": f"{base_url}/extensions/slack/oauth/"},
            {"label": "Event Subscriptions request URL", "value": f"{base_url}/extensions/slack/event/"},
            {"label": "Interactivity request URL", "value": f"{base_url}/extensions/slack/action/"},
            {"label": "Slash command request URL", "value": f"{base_url}/extensions/slack/commands/"},
        ],
        "buttons": [
            {
                "label": "Add to Slack",
                "url": start,
                **(
                    {}
                    if configured
                    else {
                        "unavailable": "The hub's Slack app is not configured "
                        "(HUB_SLACK_CLIENT_ID, HUB_SLACK_CLIENT_SECRET)."
                    }
                ),
            }
        ],
    }
