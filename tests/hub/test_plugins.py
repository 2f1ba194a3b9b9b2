"""The plugin manager (hub/plugins.py): entry points and validation at start, one manager per app, traced hook
calls without secrets, and the settings each plugin declares (``plugin_settings``), read from the environment,
listed by ``hub plugins`` (never a secret's value) and matched by the README's table.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from hub import config as hub_config
from hub import hookimpl
from hub.plugins import PluginStartupError, build_plugin_manager, settings_table
from hub.testing import Factories
from hub.types import PluginSetting
from tests.hub.test_webhooks import Echo

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


def test_third_party_plugin_is_listed_with_its_hooks(app):
    out = app.test_cli_runner().invoke(args=["plugins", "--json"])
    rows = {json.loads(line)["key"]: json.loads(line) for line in out.output.splitlines()}
    tracker = rows["tracker"]
    assert tracker["distribution"] == "hub-tracker" and tracker["version"] == "0.3.0"
    assert {"on_webhook", "sync_status_outbound", "notify_activity"} <= set(tracker["hooks"])
    assert {"jira", "jira_server", "slack", "discord"} <= set(rows)
    assert app.extensions["hub"].providers()["tracker"]["name"] == "Tracker"


class Duplicate:
    @hookimpl
    def provider_info(self) -> dict[str, Any]:
        return {"key": "tracker", "name": "Another tracker", "features": []}


class Misspelled:
    @hookimpl
    def on_webhok(self, provider: str) -> None:  # not a hook of the spec
        return None


def test_two_plugins_claiming_one_provider_are_refused():
    with pytest.raises(PluginStartupError, match="tracker"):
        build_plugin_manager({"HUB_PLUGINS": [Duplicate()]})


def test_unknown_hook_is_refused_at_start():
    from pluggy import PluginValidationError

    with pytest.raises(PluginValidationError):
        build_plugin_manager({"HUB_PLUGINS": [Misspelled()]})


def test_plugin_managers_are_per_app(make_app, register_plugin):
    register_plugin(Echo())
    other = make_app()
    assert "echo" not in other.extensions["hub"].providers()


def test_trace_plugins_logs_hook_calls(make_app, caplog):
    app = make_app(HUB_TRACE_PLUGINS=True)
    with caplog.at_level(logging.INFO, logger="hub.plugins"):
        app.test_client().post("/extensions/tracker/hook/", data=b"{}")
    calls = [r for r in caplog.records if r.getMessage() == "plugin.hook-call"]
    assert calls and calls[0].hook == "on_webhook"
    assert any(r.getMessage() == "plugin.hook-result" for r in caplog.records)


def test_a_plugin_that_cannot_be_imported_is_named_with_its_distribution(tmp_path, monkeypatch):
    """A distribution whose package was deleted (a stale editable install): a clear start-up error."""
    dist = tmp_path / "hub_gone-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hub-gone\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[hub.plugins]\ngone = hub_gone_missing_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        PluginStartupError, match=r"plugin 'gone' .* hub-gone cannot be imported.*pip uninstall hub-gone"
    ):
        build_plugin_manager({})


def test_trace_never_logs_install_credentials(make_app, caplog, factories):
    app = make_app(HUB_TRACE_PLUGINS=True)
    with app.app_context():
        s = factories.setup()
        with caplog.at_level(logging.INFO, logger="hub.plugins"):
            r = app.test_client().post("/api/0/organizations/acme/integrations/", headers=s["headers"], json={
                "provider": "tracker", "externalId": "t-9",
                "metadata": {"base_url": "https://t", "token": "tracker-secret-value"}})
        assert r.status_code == 201
        lines = [str(rec.__dict__) for rec in caplog.records if rec.getMessage().startswith("plugin.hook")]
        assert any("install_integration" in line for line in lines)
        assert not any("tracker-secret-value" in line for line in lines)


SECRETS = ("hub-tests-trace-shared-secret-of-forty-chars", "short-pw-1",
           "xoxb-1234-5678-abcdefghijklmnop")


def test_trace_never_logs_secrets(make_app, caplog):
    app = make_app(HUB_TRACE_PLUGINS=True)
    with app.app_context():
        setup = Factories(app).setup()
        client = app.test_client()
        with caplog.at_level(logging.INFO, logger="hub.plugins"):
            r = client.post("/api/0/organizations/acme/integrations/", headers=setup["headers"], json={
                "provider": "tracker", "externalId": "site-9",
                "metadata": {"base_url": "https://tracker.example.com", "shared_secret": SECRETS[0],
                             "password": SECRETS[1], "access_token": SECRETS[2]}})
            assert r.status_code == 201, r.json
            client.post(f"/extensions/tracker/hook/{SECRETS[0]}/", data=b"{}")
    traced = [r for r in caplog.records if r.getMessage() in ("plugin.hook-call", "plugin.hook-result")]
    assert {r.hook for r in traced} >= {"install_integration", "on_webhook"}
    text = " ".join(str(getattr(r, "arguments", "")) + str(getattr(r, "result", "")) for r in traced)
    assert "site-9" in text  # what is not secret is still shown
    for secret in SECRETS:
        assert secret not in text
