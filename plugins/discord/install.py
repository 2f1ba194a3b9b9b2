"""Installing the bot in a Discord server (a guild): OAuth2 bot flow and manual install.

OAuth: ``GET oauth/?organization=<slug>`` (an org owner or admin, logged in) → Discord's
authorize page → ``GET oauth/?code=&guild_id=&state=`` → the guild is saved and attached to the
org named in the signed state. Both ways register the ``/link``, ``/unlink``, ``/help`` commands
in the guild (bulk overwrite, so a re-install is idempotent).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, urlencode

from hub import InstallError, WebhookResponse, services
from hub.errors import ApiError, ApiHostError, ApiUnauthorized, ValidationError
from hub.types import Integration, WebhookRequest
from plugins.discord.client import DiscordClient

logger = logging.getLogger("hub.plugins.discord")

#: How the integrations page offers Discord (``provider_info``'s ``install``).
INSTALL_INFO = {
    "instructions": "Add the hub's bot to your Discord server (the server id is the external id by hand).",
    "links": [{"label": "Add to Discord", "url": "/extensions/discord/oauth/?organization={org}"}],
    "fields": [],
}

AUTHORIZE_URL = "https://discord.com/oauth2/authorize"
STATE_SALT = "discord-install"
STATE_MAX_AGE = 1800

# https://discord.com/developers/docs/topics/permissions#permissions-bitwise-permission-flags
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
BOT_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | READ_MESSAGE_HISTORY
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)

CHAT_INPUT = 1
COMMANDS: list[dict[str, Any]] = [
    {
        "name": "link",
        "description": "Link your Discord account to your Integration Hub account",
        "type": CHAT_INPUT,
    },
    {"name": "unlink", "description": "Unlink your Discord account from Integration Hub", "type": CHAT_INPUT},
    {"name": "help", "description": "What the Integration Hub bot can do", "type": CHAT_INPUT},
]


def redirect_uri() -> str:
    return f"{services.base_url()}/extensions/discord/oauth/"


def setup_guild(guild_id: str, name: str = "") -> dict[str, Any]:
    """Check the bot is in the guild and register its commands there; the integration to store.

    Raises :class:`hub.InstallError` with a message an admin can act on.
    """
    if not str(guild_id).isdigit():
        raise InstallError(
            "A Discord server id is a number (enable Developer Mode, then Copy Server ID).",
            {"externalId": ["Not a Discord server id."]},
        )
    application_id = services.config("HUB_DISCORD_APPLICATION_ID")
    if not application_id or not services.config("HUB_DISCORD_BOT_TOKEN"):
        raise InstallError(
            "Discord is not configured: set HUB_DISCORD_APPLICATION_ID and HUB_DISCORD_BOT_TOKEN."
        )
    client = DiscordClient.from_config()
    warnings: list[str] = []
    guild: dict[str, Any] = {}
    # Refused credentials (the bot is not in that server: 403 "Missing Access") or an unreachable
    # Discord stop the install; any other failure is recorded as a warning and the install goes on
    # (the commands can be registered again by re-installing).
    for step in ("read the server", "register the commands"):
        try:
            if step == "read the server":
                guild = client.get_guild(guild_id) or {}
            else:
                client.set_guild_commands(str(application_id), guild_id, COMMANDS)
        except (ApiUnauthorized, ApiHostError) as e:
            logger.warning(
                "discord.install-failed", extra={"guild": guild_id, "status": e.code, "step": step}
            )
            raise InstallError(
                f"Could not set up the bot in Discord server {guild_id}: {e.message}. "
                "Is the bot a member of that server (add it with the install link)?",
                {"externalId": [e.message]},
            ) from e
        except ApiError as e:
            logger.warning(
                "discord.install-step-failed", extra={"guild": guild_id, "status": e.code, "step": step}
            )
            warnings.append(f"could not {step}: {e.message}")
    guild_name = str(guild.get("name") or name or guild_id)
    metadata: dict[str, Any] = {"guild_id": str(guild_id), "guild_name": guild_name}
    if warnings:
        metadata["install_warnings"] = warnings
    return {"name": name or guild_name, "metadata": metadata}


def uninstall_integration(integration: Integration, organization_id: str) -> None:
    """Remove the hub's commands from the guild once no other org uses it (best effort)."""
    others = [o for o in services.organizations_of(integration.id)
              if o["id"] != str(organization_id) and o["status"] != "disabled"]
    application_id = services.config("HUB_DISCORD_APPLICATION_ID")
    if others or not application_id:
        return
    DiscordClient.from_config().set_guild_commands(str(application_id), integration.external_id, [])
    logger.info("discord.commands-removed", extra={"guild": integration.external_id})


def install_integration(external_id: str, name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The manual install (``POST .../integrations/``): ``externalId`` is the guild id."""
    result = setup_guild(str(external_id).strip(), name)
    return {"name": result["name"], "metadata": {**metadata, **result["metadata"]}}


# -- OAuth ------------------------------------------------------------------------------------------


def _page(status: int, heading: str, text: str) -> WebhookResponse:
    html = services.render(
        "<h1>{{ heading }}</h1><p>{{ text }}</p>", heading=heading, text=text, title=f"Discord: {heading}"
    )
    return WebhookResponse(status=status, body=html, headers={"Content-Type": "text/html; charset=utf-8"})


def handle_oauth(request: WebhookRequest, verified: None = None) -> WebhookResponse:
    """Start the bot install (``?organization=``) or finish it (``?code=&guild_id=&state=``)."""
    if request.query.get("error"):
        return _page(400, "Discord install cancelled", "Discord did not add the bot to a server.")
    if request.query.get("state"):
        return _finish(request)
    return _start(request)


def _login(request: WebhookRequest) -> WebhookResponse:
    target = request.path + ("?" + urlencode(list(request.query.items(multi=True))) if request.query else "")
    return WebhookResponse(status=302, headers={"Location": f"/login?next={quote(target)}"})


def _start(request: WebhookRequest) -> WebhookResponse:
    slug = (request.query.get("organization") or "").strip()
    if not slug:
        return _page(400, "Add Discord", "Name the organization: ?organization=<slug>.")
    if request.user is None:
        return _login(request)
    org = services.get_organization(slug)
    if org is None or services.org_role(request.user.id, org["id"]) not in ("owner", "admin"):
        return _page(403, "Add Discord", "Only an owner or admin of that organization can add Discord to it.")
    application_id = services.config("HUB_DISCORD_APPLICATION_ID")
    if not application_id:
        return _page(400, "Add Discord", "Discord is not configured (HUB_DISCORD_APPLICATION_ID).")
    state = services.sign({"organization": slug, "user_id": request.user.id}, STATE_SALT)
    query = urlencode(
        {
            "client_id": application_id,
            "permissions": str(BOT_PERMISSIONS),
            "scope": "bot applications.commands",
            "response_type": "code",
            "redirect_uri": redirect_uri(),
            "state": state,
        }
    )
    return WebhookResponse(status=302, headers={"Location": f"{AUTHORIZE_URL}?{query}"})


def _finish(request: WebhookRequest) -> WebhookResponse:
    try:
        state = services.unsign(request.query.get("state") or "", STATE_SALT, max_age=STATE_MAX_AGE)
    except ValidationError as e:
        return _page(400, "Discord install failed", f"{e.detail} Start the install again.")
    if request.user is None:
        return _login(request)
    if str(state.get("user_id")) != request.user.id:
        return _page(403, "Discord install failed", "This install was started by another user.")
    guild_id = (request.query.get("guild_id") or "").strip()
    code = request.query.get("code") or ""
    if not guild_id.isdigit() or not code:
        return _page(400, "Discord install failed", "Discord did not name a server; start the install again.")
    slug = str(state.get("organization") or "")
    try:
        verified = _check_code(code, guild_id)
        existing = services.get_integration("discord", guild_id)
        # A verified install (Discord named this guild for this code) lets go of claims made by hand
        # without proof (the core releases them on save); an unverified one proves nothing either.
        if existing is not None and any(
            o["slug"] != slug and o["status"] != "disabled" and (o.get("proven", True) or not verified)
            for o in services.organizations_of(existing.id)
        ):
            return _page(
                409, "Discord install failed", "This Discord server is connected to another organization."
            )
        result = setup_guild(guild_id)
    except InstallError as e:
        return _page(400, "Discord install failed", e.message)
    metadata = {**(dict(existing.metadata) if existing else {}), **result["metadata"]}
    integration = services.save_integration("discord", guild_id, result["name"], metadata)
    try:
        services.attach_integration(integration.id, slug, request.user.id, proven=verified)
    except ValidationError as e:
        if existing is None:
            services.disable_integration(integration.id)  # nobody may own it: keep nothing active
        return _page(403, "Discord install failed", e.detail)
    logger.info("discord.installed", extra={"integration": integration.id, "guild": guild_id})
    return _page(
        200,
        "Discord connected",
        f"The Discord server {result['name']} is now connected to {slug}. "
        "Add a Discord action (its channel id) to an alert rule to get alerts there.",
    )


def _check_code(code: str, guild_id: str) -> bool:
    """With a client secret configured, prove Discord issued ``code`` for this very guild.

    Returns whether it was proven (``False``: no secret, so the guild id in the link is unchecked).
    """
    secret = services.config("HUB_DISCORD_CLIENT_SECRET")
    if not secret:
        return False
    client = DiscordClient.from_config()
    try:
        token = client.exchange_code(
            code, redirect_uri(), str(services.config("HUB_DISCORD_APPLICATION_ID")), str(secret)
        )
    except ApiError as e:
        raise InstallError(f"Discord refused the authorization code: {e.message}") from e
    guild = token.get("guild") if isinstance(token, dict) else None
    if not isinstance(guild, dict) or str(guild.get("id")) != guild_id:
        raise InstallError("Discord's answer names another server than the one in the link.")
    return True
