"""Discord's words for the core's identity-link page (:mod:`hub.identity`) and its signed links.

``/link`` hands the Discord user a signed URL (valid 10 minutes) naming the integration and their
Discord id; ``GET|POST /extensions/discord/link-identity/{signed}/`` is the core's page, which checks
the link, the hub login, the CSRF token and the origin, and links them.
"""

from __future__ import annotations

from typing import Any

from hub.identity import link_url as signed_link
from hub.types import IdentityPage, Integration

PAGE = IdentityPage(
    provider="discord", name="Discord", identity="Discord account", team="Discord server",
    lets_you="resolve, archive and assign issues from Discord alerts", new_link="Run /link in Discord",
    max_age=600,
)


def link_url(integration: Integration, discord_user: dict[str, Any]) -> str:
    """A signed URL (valid 10 minutes) to link this Discord user in this guild."""
    name = str(discord_user.get("global_name") or discord_user.get("username") or "")
    return signed_link(integration, str(discord_user.get("id") or ""), name=name)
