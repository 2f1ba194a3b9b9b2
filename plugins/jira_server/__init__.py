"""Jira Server plugin (in progress)."""

from __future__ import annotations

from typing import Any

from hub import hookimpl

KEY = "jira_server"


@hookimpl
def provider_info() -> dict[str, Any]:
    return {"key": KEY, "name": "Jira Server", "features": []}
