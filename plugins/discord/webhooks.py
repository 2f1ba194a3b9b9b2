"""Route ``/extensions/discord/<endpoint>`` to its handler."""

from __future__ import annotations

from hub import WebhookResponse
from hub.types import WebhookRequest
from plugins.discord.identity import handle_link_identity
from plugins.discord.install import handle_oauth
from plugins.discord.interactions import handle_interaction


def dispatch(endpoint: str, request: WebhookRequest) -> WebhookResponse | None:
    """The answer for one of our endpoints, or ``None`` (404) for an unknown path."""
    parts = [p for p in endpoint.split("/") if p]
    if parts == ["interactions"]:
        return handle_interaction(request)
    if parts == ["oauth"]:
        return handle_oauth(request)
    if len(parts) == 2 and parts[0] == "link-identity":
        return handle_link_identity(request, parts[1])
    return None
