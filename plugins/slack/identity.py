"""Slack's words for the core's identity-link page (:mod:`hub.identity`) and its signed links.

``link-identity/{signed}/`` and ``unlink-identity/{signed}/`` are the core's page: the signed,
expiring token proves the Slack side (we only hand it to the Slack user, in an ephemeral message),
the hub session or bearer token the hub side; the core checks both, the CSRF token and the origin.
Once done, the Slack user is told where they started (``response_url``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from hub.identity import LINK, UNLINK, link_url
from hub.types import IdentityPage, Integration
from plugins.slack import messages
from plugins.slack.client import client_for, is_slack_url

logger = logging.getLogger("hub.plugins.slack")

KINDS = (LINK, UNLINK)


def _tell(integration: Integration, linked: bool, extra: Mapping[str, Any], text: str) -> None:
    """Tell the user in Slack, where they started (the core logs an ``ApiError`` and goes on)."""
    response_url = str(extra.get("response_url") or "")
    if response_url and is_slack_url(response_url):
        client_for(integration).respond(
            response_url, messages.ephemeral(f"{text} Try your action again." if linked else text))


PAGE = IdentityPage(
    provider="slack", name="Slack", identity="Slack identity", team="Slack workspace",
    lets_you="resolve, archive and assign issues from Slack messages", new_link="Run /hub link in Slack",
    unlink=True, max_age=15 * 60, tell=_tell,
)


def identity_url(kind: str, integration: Integration, slack_user_id: str, channel_id: str,
                 response_url: str) -> str:
    """The signed, expiring page URL a Slack user follows to (un)link their identity."""
    return link_url(integration, slack_user_id, name=f"<@{slack_user_id}>", kind=kind,
                    extra={"channel_id": channel_id, "response_url": response_url})
