"""The ``hub`` console script (hub/cli.py): its version, the working directory's env only, a broken plugin
install named in one line.
"""

from __future__ import annotations

import os


def test_cli_survives_a_broken_plugin_install(tmp_path):
    """`hub plugin new` works and app commands fail with one clear line when a plugin cannot be imported."""
    import os
    import subprocess
    import sys

    dist = tmp_path / "site" / "hub_gone-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hub-gone\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[hub.plugins]\ngone = hub_gone_missing_module\n")
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path / "site"),
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "HUB_REDIS_URL": "redis://127.0.0.1:1/0",
    }
    run = [sys.executable, "-c", "from hub.cli import main; main()"]
    new = subprocess.run([*run, "plugin", "new", "acme", "--directory", str(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=60)
    assert new.returncode == 0, new.stderr
    assert (tmp_path / "hub-acme" / "setup.cfg").exists()
    listing = subprocess.run([*run, "plugins"], env=env, capture_output=True, text=True, timeout=60)
    assert listing.returncode == 1
    assert "Error: plugin 'gone'" in listing.stderr and "pip uninstall hub-gone" in listing.stderr
    assert "Traceback" not in listing.stderr


def test_the_hub_command_reads_only_the_working_directorys_env_like_the_web_processes(tmp_path, monkeypatch):
    """``hub worker`` must not pick up a parent directory's ``.env`` (or ``.flaskenv``) that gunicorn never
    sees."""
    from click.testing import CliRunner

    from hub.cli import main

    (tmp_path / ".env").write_text("HUB_QUEUE_NAME=from-a-parent-directory\n")
    (tmp_path / ".flaskenv").write_text("HUB_LOG_LEVEL=DEBUG\n")
    (tmp_path / "deploy").mkdir()
    monkeypatch.chdir(tmp_path / "deploy")
    for name in ("HUB_QUEUE_NAME", "HUB_LOG_LEVEL"):
        monkeypatch.setenv(name, "sentinel")
        monkeypatch.delenv(name)
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0
    assert "HUB_QUEUE_NAME" not in os.environ and "HUB_LOG_LEVEL" not in os.environ


def test_hub_version_is_the_hubs_own():
    from importlib.metadata import version

    from click.testing import CliRunner

    from hub.cli import main

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"Integration Hub {version('integration-hub')}"
