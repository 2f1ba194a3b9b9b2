"""Opt-in replay of recorded provider payloads (HUB_PAYLOADS_DIR), never needed for a normal run.

HUB_PAYLOADS_DIR names a folder with one sub-folder per provider (``slack/``, ``discord/``, ``jira/``,
``jira_server/``) of JSON request bodies other projects recorded. Each plugin's test_recorded_payloads.py
re-points every body at its own installed integration, signs it as the provider does and checks the hub
answers 2xx or a JSON 4xx, never a 500. Without the variable those modules are not collected at all."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENV = "HUB_PAYLOADS_DIR"


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def recorded(provider: str, **placeholders: Any) -> Iterator[tuple[str, Any]]:
    """(file name, parsed body) for every ``<provider>/*.json``; ``__NAME__`` placeholders filled in."""
    folder = Path(os.environ[ENV]) / provider
    files = sorted(folder.glob("*.json"))
    assert files, f"{ENV}={os.environ[ENV]}: no {provider}/*.json"
    for path in files:
        text = path.read_text(encoding="utf-8")
        for name, value in placeholders.items():
            text = text.replace(f"__{name.upper()}__", str(value))
        yield path.name, json.loads(text)


def assert_handled(name: str, response: Any) -> None:
    """A recorded body is answered, or refused with the hub's JSON error: never a server error."""
    assert response.status_code < 500, (name, response.status_code, response.data[:300])
    if response.status_code >= 400:
        assert response.is_json and response.json.get("detail"), (name, response.status_code,
                                                                  response.data[:300])
