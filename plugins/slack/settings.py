"""The Slack plugin's settings (``plugin_settings``): read by the core from the environment."""

from __future__ import annotations

from hub.types import PluginSetting

SETTINGS = [
    PluginSetting("HUB_SLACK_API_URL", "https://slack.com/api",
                  help="Slack Web API base; a `response_url` is called only on its host or, over https, "
                       "on `slack.com`, `slack-gov.com` and their subdomains (else `chat.update` redraws the "
                       "message)"),
    PluginSetting("HUB_SLACK_SIGNING_SECRET", secret=True, help="the Slack app's signing secret"),
    PluginSetting("HUB_SLACK_CLIENT_ID", help="the Slack app's client id (OAuth install)"),
    PluginSetting("HUB_SLACK_CLIENT_SECRET", secret=True,
                  help="the Slack app's client secret (OAuth install)"),
]
