"""The Events API (``event/``): the URL check, and the app's own lifecycle (uninstall, revoked token).

The lifecycle events change the integration at once (one write, no provider call); any other
event reports nothing the hub acts on and is recorded as an :class:`~hub.types.Inbound` with no
changes, claimed by its ``event_id`` (Slack retries a slow answer with the same id).
"""

from __future__ import annotations

import logging

from hub import Inbound, WebhookResponse, services
from hub.types import WebhookRequest
from plugins.slack.request import duplicate, error, integration_for_team, obj, unknown_team

logger = logging.getLogger("hub.plugins.slack")

UNINSTALL_EVENTS = frozenset({"app_uninstalled"})


def handle(request: WebhookRequest) -> WebhookResponse | Inbound:
    """Answer a (verified) Events API request."""
    try:
        body = request.json()
    except ValueError:
        return error(400, "The body is not valid JSON.")
    if not isinstance(body, dict):
        return error(400, "The body must be a JSON object.")
    if body.get("type") == "url_verification":
        return WebhookResponse(status=200, json={"challenge": str(body.get("challenge") or "")})
    if body.get("type") != "event_callback":
        return error(
            400, "Unsupported event envelope.", {"type": ["Expected event_callback or url_verification."]}
        )
    event = obj(body.get("event"))
    kind = str(event.get("type") or "")
    event_id = str(body.get("event_id") or "") or None
    lifecycle = kind in UNINSTALL_EVENTS or kind == "tokens_revoked"
    integration = integration_for_team(body.get("team_id"), disabled_too=lifecycle)
    if integration is None:
        return unknown_team(body.get("team_id"))
    if not lifecycle:
        return Inbound(integration=integration, changes=(), dedupe_key=event_id)
    # Claimed in the integration's scope, as the Inbound above is, before the status is read: a
    # retry of the uninstall finds its claim (200), whatever the first one did to the integration.
    if request.already_processed(event_id, integration=integration):
        return duplicate("event/")
    if integration.status == "disabled":
        return unknown_team(body.get("team_id"))
    if kind in UNINSTALL_EVENTS:
        services.disable_integration(integration.id)
        logger.info("slack.uninstalled", extra={"integration": integration.id})
    elif kind == "tokens_revoked" and obj(event.get("tokens")).get("bot"):
        services.mark_needs_attention(
            integration.id, None, "Slack revoked the bot token: re-install the app."
        )
        logger.info("slack.tokens-revoked", extra={"integration": integration.id})
    return WebhookResponse(status=200)
