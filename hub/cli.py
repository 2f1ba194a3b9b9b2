"""The ``hub`` console script: Flask's CLI with the app preset; the commands live in :mod:`hub.commands`."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from hub.commands import COMMANDS
from hub.worker import run_worker  # noqa: F401  (scripts and tests call it from here)


def _create_app() -> Flask:
    from hub.app import create_app
    from hub.keycheck import KeyMismatch
    from hub.plugins import PluginStartupError

    try:
        return create_app()
    except (PluginStartupError, KeyMismatch) as e:  # a broken install, other keys: one line, no traceback
        raise click.ClickException(str(e)) from e


# load_dotenv=False: the app reads ``.env`` from the working directory itself (hub.config), as gunicorn's
# processes do; Flask's own loader would also pick up ``.flaskenv`` and a ``.env`` from any parent directory,
# so ``hub worker`` and the web processes could run on different settings. ``--env-file`` still works.
@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
@click.version_option(package_name="integration-hub", prog_name="Integration Hub",
                      message="%(prog)s %(version)s")
def main() -> None:
    """Integration Hub: issues in step with Jira, Slack, Discord and your own plugins."""


# Also on the group itself, not only on the app: ``hub plugin new`` and ``--help`` work even when the app
# (or a plugin) cannot load; commands that need the app load it when they run (``with_appcontext``).
for _command in COMMANDS:
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
