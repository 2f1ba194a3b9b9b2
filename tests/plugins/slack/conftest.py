"""Fixtures for the Slack plugin tests: an org with a Slack workspace, and a Slack-signing client."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.slack.helpers import BOT_TOKEN, TEAM, SlackRequests


@pytest.fixture
def slack(client: Any) -> SlackRequests:
    return SlackRequests(client)


@pytest.fixture
def env(factories: Any) -> dict[str, Any]:
    """acme/backend with an owner, a Slack workspace T07HB2Q4Z, a member Jess and one issue."""
    s = factories.setup()
    integration = factories.integration(
        s["org"],
        "slack",
        TEAM,
        metadata={"access_token": BOT_TOKEN, "bot_user_id": "U0BOT"},
        name="Acme Slack",
    )
    jess = factories.member(s["org"], "jess@example.com", role="member", projects=[s["project"]], name="Jess")
    group = factories.group(s["project"], "ZeroDivisionError: division by zero", culprit="app.views.divide")
    return {
        **s,
        "integration": integration,
        "jess": jess,
        "group": group,
        # plain values: still readable after run_jobs() ends the session that loaded the rows
        "integration_id": str(integration.id),
        "jess_id": str(jess.id),
        "owner_id": str(s["owner"].id),
        "group_id": str(group.id),
        "short_id": group.short_id,
    }
