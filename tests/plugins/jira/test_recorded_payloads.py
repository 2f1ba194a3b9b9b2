"""HUB_PAYLOADS_DIR/jira/*.json, sent with a valid Connect JWT of our site: never a 500."""

from __future__ import annotations

import re

from tests.plugins.jira.conftest import link, new_issue, send_webhook
from tests.support.recorded_payloads import assert_handled, recorded


def test_recorded_jira_webhooks_are_answered_or_refused_cleanly(client, env, requests_mock):
    link(client, env["headers"], new_issue(client, env["headers"]), env["jira"].id, requests_mock)
    requests_mock.get(re.compile(".*"), status_code=404, json={"errorMessages": ["Not here."]})
    for name, body in recorded("jira"):
        assert_handled(name, send_webhook(client, body))
