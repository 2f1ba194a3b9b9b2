"""The hub's commands: one list (hub.commands.COMMANDS), on the ``hub`` script and on the app's own CLI."""

from __future__ import annotations

from click.testing import CliRunner

CONTRACT_COMMANDS = {"bootstrap", "token", "user", "plugins", "worker", "deliveries", "replay", "outbox",
                     "reconcile", "plugin"}


def test_the_hub_script_and_the_apps_cli_offer_the_same_commands(app):
    from hub.cli import main

    help_text = CliRunner().invoke(main, ["--help"]).output
    for name in CONTRACT_COMMANDS:
        assert f"\n  {name} " in help_text
    assert CONTRACT_COMMANDS <= set(main.commands)
    # registered by create_app (init_app), as Flask's tutorial adds init-db; "db" is flask-migrate's
    assert set(app.cli.commands) == CONTRACT_COMMANDS | {"db"}


def test_a_command_runs_through_the_apps_cli(app, client, factories):
    s = factories.setup()
    result = app.test_cli_runner().invoke(args=["token", "create", "--email", "OWNER@example.com"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert client.get("/api/0/organizations/acme/issues/",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert s["token"] != token
    missing = app.test_cli_runner().invoke(args=["token", "create", "--email", "nobody@example.com"])
    assert missing.exit_code == 1 and "no user with email nobody@example.com" in missing.output
