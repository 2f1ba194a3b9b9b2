"""HUB_PAYLOADS_DIR/jira_server/*.json, posted to our webhook URL (its token is the proof): never a 500."""

from __future__ import annotations

import json
import re

from tests.support.recorded_payloads import assert_handled, recorded


def test_recorded_jira_server_webhooks_are_answered_or_refused_cleanly(client, installed, requests_mock):
    requests_mock.get(re.compile(".*"), status_code=404, json={"errorMessages": ["Not here."]})
    for name, body in recorded("jira_server"):
        headers = {"Content-Type": "application/json"}
        assert_handled(name, client.post(installed["webhook_path"], data=json.dumps(body), headers=headers))
