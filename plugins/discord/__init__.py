"""Discord plugin (in progress)."""

from __future__ import annotations

from typing import Any

from hub import hookimpl

KEY = "discord"


@hookimpl
def provider_info() -> dict[str, Any]:
    return {"key": KEY, "name": "Discord", "features": []}
