"""Jira Server / Data Center's install guide: the guided OAuth 1 application link, or an existing one."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode


def install_guide(organization_slug: str, base_url: str) -> dict[str, Any]:
    setup = f"{base_url}/extensions/jira_server/setup/?{urlencode({'organization': organization_slug})}"
    return {
        "steps": [
            "Choose “Guided setup”: enter your Jira's URL; the hub makes a key pair and shows the consumer "
            "key and public key to enter in Jira.",
            "In Jira: Administration → Applications → Application links; create a link to the hub's URL, "
            "and on its Incoming Authentication enter the consumer key, a name and the public key.",
            "Back in the guided setup, continue: Jira asks you to allow the hub access; the integration "
            "appears above and the hub registers its webhook (or tells you what to register by hand).",
            "Already have an application link? Enter its base URL, consumer key, private key, access token "
            "and token secret in the by-hand form below.",
        ],
        "copy": [{"label": "The hub's URL (for the application link)", "value": base_url}],
        "buttons": [{"label": "Guided setup (OAuth 1 application link)", "url": setup}],
    }
