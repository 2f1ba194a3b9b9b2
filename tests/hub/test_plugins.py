"""Providers own their settings: each plugin declares them (``plugin_settings``), the core reads them from
the environment, ``hub plugins`` lists them (never a secret's value) and the README's table matches."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hub import config as hub_config
from hub import hookimpl
from hub.plugins import PluginStartupError, settings_table
from hub.types import PluginSetting

README = Path(__file__).resolve().parents[2] / "README.md"


def _bundled(app):
    plugins = app.extensions["hub"]
    return [(key, st) for key, st in plugins.settings()
            if plugins.records[key].distribution == "integration-hub"]


def test_the_readme_table_is_the_plugins_declarations(app):
    text = README.read_text()
    found = re.search(r"<!-- plugin-settings[^>]*-->\n(.*?)\n<!-- /plugin-settings -->", text, re.S)
    assert found, "README.md lost its plugin-settings table"
    assert found.group(1) == settings_table(_bundled(app)), "regenerate it with: hub plugins --settings"


def test_provider_settings_are_declared_by_their_plugins_not_the_core(app):
    names = {st.name: key for key, st in _bundled(app)}
    assert {n for n in names if n.startswith(("HUB_JIRA_", "HUB_SLACK_", "HUB_DISCORD_"))} == set(names)
    assert names["HUB_JIRA_APP_KEY"] == "jira" and names["HUB_SLACK_SIGNING_SECRET"] == "slack"
    assert names["HUB_DISCORD_BOT_TOKEN"] == "discord"
    providers = ("HUB_JIRA_", "HUB_SLACK_", "HUB_DISCORD_")
    assert not [key for key in hub_config.DEFAULTS if key.startswith(providers)]


def test_the_environment_sets_a_plugins_setting_else_its_default(make_app, monkeypatch):
    default = make_app()
    assert default.config["HUB_JIRA_APP_KEY"] == "io.integration-hub.jira"
    assert default.config["HUB_DISCORD_API_URL"] == "https://discord.com/api/v10"
    assert default.config["HUB_DISCORD_BOT_TOKEN"] is None
    monkeypatch.setenv("HUB_JIRA_APP_KEY", "com.example.our-hub")
    app = make_app()
    assert app.test_client().get("/extensions/jira/descriptor/").json["key"] == "com.example.our-hub"
    given = make_app(HUB_JIRA_APP_KEY="given.wins")  # the mapping given to create_app, then the environment
    assert given.test_client().get("/extensions/jira/descriptor/").json["key"] == "given.wins"


def test_hub_plugins_lists_the_settings_and_never_a_secret(app):
    runner = app.test_cli_runner()
    table = runner.invoke(args=["plugins", "--settings"])
    assert table.exit_code == 0
    assert table.output.strip() == settings_table(app.extensions["hub"].settings())
    listing = runner.invoke(args=["plugins", "--json"])
    assert listing.exit_code == 0
    assert app.config["HUB_SLACK_SIGNING_SECRET"] not in listing.output  # set in the test config
    assert app.config["HUB_SLACK_CLIENT_SECRET"] not in listing.output
    [slack] = [json.loads(line) for line in listing.output.splitlines() if json.loads(line)["key"] == "slack"]
    by_name = {st["name"]: st for st in slack["settings"]}
    assert by_name["HUB_SLACK_SIGNING_SECRET"] == {"name": "HUB_SLACK_SIGNING_SECRET", "default": None,
                                                   "secret": True, "help": "the Slack app's signing secret",
                                                   "set": True}
    assert by_name["HUB_SLACK_API_URL"]["value"] == "https://slack.com/api"
    assert by_name["HUB_SLACK_API_URL"]["set"]
    plain = runner.invoke(args=["plugins"])
    assert plain.exit_code == 0 and "HUB_" not in plain.output  # the listing itself is as it was


class Squatter:
    def __init__(self, name: str) -> None:
        self.setting_name = name

    @hookimpl
    def plugin_settings(self):
        return [PluginSetting(self.setting_name, "x")]


@pytest.mark.parametrize("name", ["HUB_SLACK_API_URL", "HUB_REDIS_URL", "SLACK_TOKEN"])
def test_a_setting_another_plugin_or_the_core_owns_or_not_named_hub_is_refused(app, name):
    with pytest.raises(PluginStartupError, match=name):
        app.extensions["hub"].register(Squatter(name), name="squatter")
    assert "squatter" not in app.extensions["hub"].records
