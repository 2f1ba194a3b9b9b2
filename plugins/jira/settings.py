"""The Jira Cloud plugin's settings (``plugin_settings``): read by the core from the environment."""

from __future__ import annotations

from hub.types import PluginSetting

SETTINGS = [
    PluginSetting("HUB_JIRA_INSTALL_KEYS_URL", "https://connect-install-keys.atlassian.com",
                  help="Connect signed-install public keys, by `kid`"),
    PluginSetting("HUB_JIRA_APP_KEY", "io.integration-hub.jira",
                  help="the Connect app key (descriptor `key`, `iss` of outbound JWTs)"),
]
