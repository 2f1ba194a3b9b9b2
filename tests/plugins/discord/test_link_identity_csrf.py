"""The Discord link page refuses a browser POST from another site (cross-site request forgery)."""

from __future__ import annotations

import re

from hub import services
from tests.plugins.discord.conftest import DISCORD_USER_ID, command, post_interaction


def _link_path(client) -> str:
    content = post_interaction(client, command("link")).json["data"]["content"]
    return re.search(r"http://hub\.test(/extensions/discord/link-identity/[^/\s]+/)", content).group(1)


def test_a_post_from_another_site_links_nothing(client, discord):
    path = _link_path(client)
    with client.session_transaction() as session:
        session["user_id"] = int(discord["owner"].id)
    r = client.post(path, headers={"Origin": "https://evil.example"})
    assert r.status_code == 400  # no CSRF token: refused by the hub's door
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)
    r = client.post(path, data={"csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403  # and another site's Origin by the page itself
    integration = services.get_integration("discord", discord["integration"].external_id)
    assert services.get_identity(integration.id, DISCORD_USER_ID) is None
    r = client.post(path, headers={"Origin": "http://hub.test"})
    assert r.status_code == 400  # same site, but no token: a same-site page cannot forge it either
    r = client.post(path, data={"csrf_token": token}, headers={"Origin": "http://hub.test"})
    assert r.status_code == 200 and b"is now linked" in r.data
