"""Discord's HTTP API, as the bot sees it.

Every call authenticates with ``Authorization: Bot <HUB_DISCORD_BOT_TOKEN>`` (one bot for all
guilds). 429s carry ``retry_after`` in the JSON body (per-route buckets); BaseApiClient turns
them into ``ApiRateLimited`` with that delay, 401/403 into ``ApiUnauthorized``.
"""

from __future__ import annotations

import base64
from typing import Any

import requests

from hub import services
from hub.errors import PluginError
from hub.http import BaseApiClient


class DiscordClient(BaseApiClient):
    """The bot's client: commands, messages, threads, guilds."""

    integration_name = "discord"
    display_name = "Discord"

    COMMANDS_URL = "/applications/{application_id}/guilds/{guild_id}/commands"
    GUILD_URL = "/guilds/{guild_id}"
    MESSAGES_URL = "/channels/{channel_id}/messages"
    MESSAGE_URL = "/channels/{channel_id}/messages/{message_id}"
    THREAD_FROM_MESSAGE_URL = "/channels/{channel_id}/messages/{message_id}/threads"
    TOKEN_URL = "/oauth2/token"

    def __init__(self, bot_token: str, base_url: str | None = None, **kw: Any) -> None:
        super().__init__(
            base_url or services.config("HUB_DISCORD_API_URL", "https://discord.com/api/v10"), **kw
        )
        self._bot_token = bot_token

    @classmethod
    def from_config(cls) -> DiscordClient:
        token = services.config("HUB_DISCORD_BOT_TOKEN")
        if not token:
            raise PluginError("HUB_DISCORD_BOT_TOKEN is not configured.")
        return cls(str(token))

    def prepare(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if "Authorization" not in request.headers:
            request.headers["Authorization"] = f"Bot {self._bot_token}"
        return request

    def public_message(self, data: Any, status: int) -> str:
        # Discord's numeric error code (50001: Missing Access) is safe to show; its text is not.
        code = data.get("code") if isinstance(data, dict) else None
        base = super().public_message(data, status)
        known = isinstance(code, int) and not isinstance(code, bool)
        return f"{base} (Discord code {code})" if known else base

    def error_message(self, data: Any, status: int) -> str:
        # Discord errors read {"code": 50001, "message": "Missing Access"}.
        if isinstance(data, dict) and data.get("message"):
            code = data.get("code")
            return f"{data['message']} (Discord code {code})" if code else str(data["message"])
        return super().error_message(data, status)

    # -- endpoints -----------------------------------------------------------------------------
    def get_guild(self, guild_id: str) -> dict[str, Any]:
        return self.get(self.path(self.GUILD_URL, guild_id=guild_id)) or {}

    def set_guild_commands(self, application_id: str, guild_id: str, commands: list[dict[str, Any]]) -> Any:
        """Bulk-overwrite the app's commands in one guild (idempotent: safe on re-install)."""
        return self.put(
            self.path(self.COMMANDS_URL, application_id=application_id, guild_id=guild_id), json=commands
        )

    def create_message(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.post(self.path(self.MESSAGES_URL, channel_id=channel_id), json=body) or {}

    def edit_message(self, channel_id: str, message_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PATCH`` one of the bot's messages; fields left out (its embeds, say) stay as they are."""
        path = self.path(self.MESSAGE_URL, channel_id=channel_id, message_id=message_id)
        return self.patch(path, json=body) or {}

    def start_thread(self, channel_id: str, message_id: str, name: str) -> dict[str, Any]:
        return (
            self.post(
                self.path(self.THREAD_FROM_MESSAGE_URL, channel_id=channel_id, message_id=message_id),
                json={"name": name[:100] or "Issue", "auto_archive_duration": 10080},
            )
            or {}
        )

    def exchange_code(
        self, code: str, redirect_uri: str, client_id: str, client_secret: str
    ) -> dict[str, Any]:
        """Trade the OAuth ``code`` for a token; for a bot install the answer names the guild."""
        return (
            self.post(
                self.TOKEN_URL,
                data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
                headers={
                    "Authorization": "Basic "
                    + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
                },
            )
            or {}
        )
