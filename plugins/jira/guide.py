"""Jira Cloud's install guide for the integrations page: the Connect app, step by step."""

from __future__ import annotations

from typing import Any


def install_guide(organization_slug: str, base_url: str) -> dict[str, Any]:
    descriptor = f"{base_url}/extensions/jira/descriptor/"
    steps = [
        "In Jira Cloud, open Settings (⚙) → Apps → Manage apps (you need to be a Jira administrator).",
        "Under Manage apps, open Settings, tick “Enable development mode” and Apply "
        "(the hub's app is private: it is not listed on the Atlassian Marketplace).",
        "Back on Manage apps, choose “Upload app”, paste the descriptor URL below and Upload. "
        "Jira fetches the "
        "descriptor and installs the app; the hub stores the site's shared secret.",
        "Find “Integration Hub” among the user-installed apps, open Configure and follow the link to connect "
        f"the site to the organization “{organization_slug}” (you log in to the hub if needed).",
        "Come back here: choose the sync options and map the statuses of each Jira project.",
    ]
    notes = []
    if not base_url.startswith("https://"):
        notes.append(
            f"Jira Cloud installs apps from https URLs only, and this hub's URL is {base_url}: "
            "set HUB_BASE_URL to its public https address first."
        )
    return {
        "steps": steps,
        "copy": [{"label": "Descriptor URL", "value": descriptor}],
        "buttons": [],
        "notes": notes,
    }
