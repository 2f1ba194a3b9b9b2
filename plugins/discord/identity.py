"""Linking a Discord account to a hub user: ``GET|POST /extensions/discord/link-identity/{signed}/``.

``/link`` hands the Discord user a signed, expiring URL naming the integration and their
Discord id. The page is opened in the browser: GET shows who will be linked to whom, POST (the
hub user's session or bearer token) links them. The session cookie is SameSite=Lax and the door
asks a session POST for its CSRF token; a POST naming another origin is refused as well (the
core's check, :func:`hub.security.same_origin`).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from hub import WebhookResponse, services
from hub.errors import ValidationError
from hub.security import same_origin
from hub.types import Integration, WebhookRequest

logger = logging.getLogger("hub.plugins.discord")

SALT = "discord-link-identity"
MAX_AGE = 600

PAGE = """
<h1>{{ heading }}</h1>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
{% if message %}<p>{{ message }}</p>{% endif %}
{% if login_url %}
<p><a href="{{ login_url }}">Log in to Integration Hub</a>, then open this link again.</p>
{% endif %}
{% if confirm %}
<p>Link the Discord account <strong>{{ discord_name }}</strong> (server <strong>{{ guild }}</strong>)
to the Integration Hub account <strong>{{ email }}</strong>?</p>
<p class="muted">Buttons on Discord alerts will then act as {{ email }}.</p>
<form method="post"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<button type="submit">Link accounts</button></form>
{% endif %}
"""


def link_url(integration: Integration, discord_user: dict[str, Any]) -> str:
    """A signed URL (valid 10 minutes) to link this Discord user in this guild."""
    signed = services.sign(
        {
            "integration_id": integration.id,
            "discord_user_id": str(discord_user.get("id") or ""),
            "discord_name": str(discord_user.get("global_name") or discord_user.get("username") or ""),
        },
        SALT,
    )
    return f"{services.base_url()}/extensions/discord/link-identity/{signed}/"


def _bearer(request: WebhookRequest) -> bool:
    return (request.headers.get("Authorization") or "").lower().startswith("bearer ")


def _page(status: int, heading: str, **context: Any) -> WebhookResponse:
    html = services.render(PAGE, heading=heading, title=f"Discord: {heading}", **context)
    return WebhookResponse(status=status, body=html, headers={"Content-Type": "text/html; charset=utf-8"})


def handle_link_identity(request: WebhookRequest, verified: None = None) -> WebhookResponse:
    """Show (GET) or perform (POST) the link named by the signed token in the path."""
    try:
        payload = services.unsign(request.params.get("signed", ""), SALT, max_age=MAX_AGE)
    except ValidationError as e:
        return _page(
            400, "Link your Discord account", error=f"{e.detail} Run /link in Discord for a new one."
        )
    integration = services.get_integration_by_id(str(payload.get("integration_id") or "0"))
    discord_user_id = str(payload.get("discord_user_id") or "")
    if (
        integration is None
        or integration.provider != "discord"
        or integration.status == "disabled"
        or not discord_user_id
    ):
        return _page(
            400, "Link your Discord account", error="This link is not valid. Run /link in Discord again."
        )
    user = request.user
    if user is None:
        return _page(
            401, "Log in to link your Discord account", login_url=f"/login?next={quote(request.path)}"
        )
    orgs = [o for o in services.organizations_of(integration.id) if o["status"] != "disabled"]
    if not any(services.org_role(user.id, o["id"]) for o in orgs):
        return _page(
            403,
            "Link your Discord account",
            error=f"{user.email} is not a member of an organization that uses this Discord server.",
        )
    context = {
        "discord_name": payload.get("discord_name") or discord_user_id,
        "guild": integration.name,
        "email": user.email,
    }
    if request.method == "GET":
        return _page(200, "Link your Discord account", confirm=True, **context)
    if not _bearer(request) and not same_origin(request.headers):
        return _page(403, "Link your Discord account",
                     error="Confirm on the link page itself: open the link from Discord again.")
    services.link_identity(
        integration.id, discord_user_id, user.id, data={"discord_name": context["discord_name"]}
    )
    logger.info("discord.identity-linked", extra={"integration": integration.id, "user": user.id})
    return _page(
        200,
        "Discord account linked",
        message=f"Your Discord account {context['discord_name']} is now linked to {user.email}. "
        "You can go back to Discord.",
    )
