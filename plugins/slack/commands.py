"""The slash command (``commands/``): ``/hub link``, ``/hub unlink``, ``/hub help``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from hub import WebhookResponse, services
from hub.types import WebhookRequest
from plugins.slack import messages
from plugins.slack.identity import identity_url
from plugins.slack.request import error, integration_for_team, unknown_team

logger = logging.getLogger("hub.plugins.slack")


def handle(request: WebhookRequest) -> WebhookResponse:
    """Answer a (verified) slash command with an ephemeral message; Slack's certificate check
    (``ssl_check=1`` at the command's URL, no command in it) with an empty 200."""
    form: Mapping[str, Any] = request.form or {}
    if form.get("ssl_check") == "1":
        return WebhookResponse(status=200, body=b"")
    if not form.get("team_id") or not form.get("user_id"):
        return error(400, "Missing team_id or user_id.", {"team_id": ["Required."], "user_id": ["Required."]})
    integration = integration_for_team(form.get("team_id"))
    if integration is None:
        return unknown_team(form.get("team_id"))
    slack_user_id = str(form["user_id"])
    words = (form.get("text") or "").strip().lower().split()
    command = words[0] if words else "help"
    linked = services.get_identity(integration.id, slack_user_id)
    url_args = (
        integration,
        slack_user_id,
        str(form.get("channel_id") or ""),
        str(form.get("response_url") or ""),
    )
    if command == "link":
        if linked is not None:
            text = (
                f"You are already linked as {messages.escape(linked.email)}. "
                "Use `/hub unlink` first to change it."
            )
        else:
            url = identity_url("link-identity", *url_args)
            text = f"<{url}|Link your Slack identity> to your Integration Hub account."
    elif command == "unlink":
        if linked is None:
            text = "Your Slack identity is not linked to an Integration Hub account."
        else:
            url = identity_url("unlink-identity", *url_args)
            text = f"<{url}|Unlink your Slack identity> ({messages.escape(linked.email)})."
    elif command == "help":
        text = messages.HELP_TEXT
    else:
        text = f"Unknown command `{messages.escape(command[:40])}`.\n{messages.HELP_TEXT}"
    logger.info("slack.command", extra={"integration": integration.id, "command": command[:40]})
    return WebhookResponse(status=200, json={"response_type": "ephemeral", "text": text})
