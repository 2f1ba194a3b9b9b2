"""``hub plugin new NAME``: a plugin package a third party can pip install and grow."""

from __future__ import annotations

import re
from pathlib import Path

SETUP_CFG = """[metadata]
name = hub-{dash}
version = 0.1.0
description = Integration Hub plugin for {title}

[options]
packages = find:
install_requires =
    integration-hub>=1,<2

[options.entry_points]
hub.plugins =
    {key} = hub_{key}
"""

INIT = '''"""Integration Hub plugin for {title}: hook implementations only; the work is in client.py."""

from __future__ import annotations

from typing import Any

from hub import WebhookResponse, hookimpl
from hub.types import ExternalIssue, Integration, WebhookRequest

KEY = "{key}"


@hookimpl
def provider_info() -> dict[str, Any]:
    return {{"key": KEY, "name": "{title}", "features": ["status-sync"]}}


@hookimpl
def on_webhook(provider: str, endpoint: str, request: WebhookRequest) -> WebhookResponse | None:
    if provider != KEY:
        return None
    # Verify the request here (signature or token) before reading the body.
    return WebhookResponse(status=200, json={{"ok": True, "endpoint": endpoint}})


@hookimpl
def sync_status_outbound(integration: Integration, external_issue: ExternalIssue, is_resolved: bool) -> None:
    if integration.provider != KEY:
        return None
    from hub_{key}.client import Client

    Client(integration.metadata["base_url"]).set_status(external_issue.key, is_resolved)
    return None
'''

CLIENT = '''"""HTTP client for {title}, on the hub's client base (timeouts, typed errors, 429)."""

from __future__ import annotations

from hub.http import BaseApiClient


class Client(BaseApiClient):
    integration_name = "{key}"

    def set_status(self, key: str, is_resolved: bool) -> None:
        self.put(f"/issues/{{key}}", json={{"resolved": is_resolved}})
'''

TEST = '''"""Tests run with the fixtures of hub.testing (a pytest plugin installed with the hub)."""

from hub.plugins import build_plugin_manager


def test_plugin_is_installed():
    hub = build_plugin_manager({{"HUB_LOAD_ENTRYPOINTS": True}})
    assert "{key}" in hub.providers()


def test_webhook_answers(client):
    response = client.post("/extensions/{key}/hello/", data=b"{{}}")
    assert response.status_code == 200
    assert response.json == {{"ok": True, "endpoint": "hello/"}}
'''


def scaffold(name: str, directory: Path) -> Path:
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not key or not key[0].isalpha():
        raise ValueError("the name must start with a letter")
    target = directory / f"hub-{key.replace('_', '-')}"
    if target.exists():
        raise ValueError(f"{target} already exists")
    title = name.replace("_", " ").replace("-", " ").title()
    values = {"key": key, "dash": key.replace("_", "-"), "title": title}
    (target / f"hub_{key}").mkdir(parents=True)
    (target / "tests").mkdir()
    (target / "setup.cfg").write_text(SETUP_CFG.format(**values))
    (target / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools>=68"]\n'
                                           'build-backend = "setuptools.build_meta"\n')
    (target / f"hub_{key}" / "__init__.py").write_text(INIT.format(**values))
    (target / f"hub_{key}" / "client.py").write_text(CLIENT.format(**values))
    (target / "tests" / f"test_{key}.py").write_text(TEST.format(**values))
    return target
