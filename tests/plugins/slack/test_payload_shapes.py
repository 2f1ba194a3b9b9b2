"""Signed interactions of an unexpected shape are a 4xx, never a 500."""

from __future__ import annotations

import pytest

from tests.plugins.slack.helpers import BOT_TOKEN, TEAM, block_actions, form_body, signed_headers


@pytest.mark.parametrize("blocks", [5, "text", {"block_id": "x"}, None])
def test_message_blocks_that_are_not_a_list_are_400(client, factories, blocks):
    s = factories.setup()
    factories.integration(s["org"], "slack", TEAM, {"access_token": BOT_TOKEN})
    group = factories.group(s["project"])
    payload = block_actions(group.id)
    payload["message"]["blocks"] = blocks
    body = form_body(payload)
    r = client.post("/extensions/slack/action/", data=body, content_type="application/x-www-form-urlencoded",
                    headers=signed_headers(body))
    assert r.status_code == 400 and r.json["detail"] == "The message does not name an issue."
