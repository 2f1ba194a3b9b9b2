"""``hub plugin new`` (hub/scaffold.py): a package a third party can pip install, whose own tests pass."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.scaffold import scaffold


def _fake_install(package: Path, site: Path) -> None:
    """What ``pip install`` leaves for the hub to find: a dist-info with the entry points of setup.cfg.

    Written into a private directory put on ``PYTHONPATH`` of a child process, so the plugin never
    leaks into this interpreter (or anyone else's test run) as a real install would.
    """
    cfg = configparser.ConfigParser()
    cfg.read(package / "setup.cfg")
    name, version = cfg["metadata"]["name"], cfg["metadata"]["version"]
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, value in cfg["options.entry_points"].items():
        lines.append(f"[{group}]")
        lines += [line.strip() for line in value.strip().splitlines()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")


def test_a_scaffolded_plugin_passes_its_own_end_to_end_tests(tmp_path: Path, hub_redis_url: str) -> None:
    """The generated tests install it over the REST API, link, resolve, run the worker, post a signed
    webhook: they must pass as generated (the old scaffold's webhook accepted anything, its client
    sent no credentials and nothing tested its outbound sync)."""
    package = scaffold("Scaffold Probe", tmp_path)
    assert package.name == "hub-scaffold-probe"
    site = tmp_path / "site"
    _fake_install(package, site)
    env = {k: v for k, v in os.environ.items()  # not an xdist worker's either: it is a run of its own
           if k not in ("HUB_TEST_DATABASE_URL", "PYTEST_ADDOPTS") and not k.startswith("PYTEST_XDIST")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), str(package), env.get("PYTHONPATH")) if p)
    env["HUB_TEST_REDIS_URL"] = hub_redis_url  # this worker's database: it runs nothing else meanwhile
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=package, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "5 passed" in result.stdout, result.stdout[-2000:]


def test_the_scaffold_refuses_a_provider_key_that_is_taken(tmp_path: Path) -> None:
    """Installing a second ``jira`` would stop the hub's start-up: say so before writing anything."""
    with pytest.raises(ValueError, match="'jira' is already taken by the installed integration-hub"):
        scaffold("jira", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_scaffold_creates_an_installable_plugin(app, tmp_path):
    out = app.test_cli_runner().invoke(args=["plugin", "new", "linear", "--directory", str(tmp_path)])
    assert out.exit_code == 0, out.output
    root = tmp_path / "hub-linear"
    assert "linear = hub_linear" in (root / "setup.cfg").read_text()
    source = (root / "hub_linear" / "__init__.py").read_text()
    compile(source, "hub_linear/__init__.py", "exec")
    assert "@hookimpl" in source and (root / "tests" / "test_linear.py").exists()
