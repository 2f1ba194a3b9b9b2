"""The Discord plugin's settings (``plugin_settings``): read by the core from the environment."""

from __future__ import annotations

from hub.types import PluginSetting

SETTINGS = [
    PluginSetting("HUB_DISCORD_API_URL", "https://discord.com/api/v10", help="Discord HTTP API base"),
    PluginSetting("HUB_DISCORD_PUBLIC_KEY",
                  help="the Discord application's public key (interaction signatures)"),
    PluginSetting("HUB_DISCORD_APPLICATION_ID", help="the Discord application's id"),
    PluginSetting("HUB_DISCORD_BOT_TOKEN", secret=True, help="the Discord bot's token"),
    PluginSetting("HUB_DISCORD_CLIENT_SECRET", secret=True,
                  help="the application's OAuth2 client secret: lets the hub check that Discord issued an "
                       "install's code for that guild"),
]
