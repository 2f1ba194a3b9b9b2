"""Issue 10 item 8: a Jira Server webhook that ends in a 500 logs the endpoint as the delivery log
shows it, never the per-integration URL token. (Every test of the suite also runs under
``hub_scan_log_secrets``: hub.testing fails a test whose log lines show a secret it knows.)"""

from __future__ import annotations

import logging

from hub import hookimpl
from hub.logs import JsonFormatter
from hub.types import Route
from plugins.jira_server.verify import verify_request

pytest_plugins = ("pytester",)


class Crashing:
    """Jira Server with a bug in its webhook handler (the real token check first): the core
    answers 500 and logs it."""

    @hookimpl
    def provider_info(self):
        return {"key": "jira_server", "name": "Jira Server", "features": []}

    @hookimpl
    def webhook_routes(self):
        return [Route("issue-updated/<token>/", ("POST",), verify=verify_request, handle=self.handle)]

    def handle(self, request, integration):
        raise RuntimeError("bug in a handler")


def test_a_500_on_the_webhook_logs_the_redacted_endpoint(app, client, installed, register_plugin, caplog):
    s = installed
    token = s["webhook_path"].rstrip("/").rsplit("/", 1)[-1]
    app.extensions["hub"].unregister("jira_server")  # this test's app only
    register_plugin(Crashing(), "crashing")
    caplog.set_level(logging.INFO)

    r = client.post(s["webhook_path"], json={"webhookEvent": "jira:issue_updated"})

    assert r.status_code == 500
    [record] = [rec for rec in caplog.records if rec.getMessage() == "webhook.plugin-error"]
    assert record.endpoint == "issue-updated/[redacted]/"
    lines = [JsonFormatter().format(rec) for rec in caplog.records]
    assert len(token) > 32 and not any(token in line for line in lines)


def test_the_log_scan_fails_a_test_that_logs_a_secret(pytester):
    """The scan itself: a test that logs a URL token it posted, or a configured secret, fails."""
    pytester.makeini("[pytest]\nhub_scan_log_secrets = true\n")
    pytester.makepyfile(test_leak='''
import logging

def test_logs_a_url_token(client):
    client.post("/extensions/jira_server/issue-updated/" + "t0ken" * 10 + "/", json={})
    logging.getLogger("hub.leaky").info("seen", extra={"endpoint": "issue-updated/" + "t0ken" * 10})

def test_logs_a_configured_secret(app):
    logging.getLogger("plugins.leaky").warning("signing with %s", app.config["HUB_SLACK_CLIENT_SECRET"])

def test_logs_nothing_secret(client):
    client.post("/extensions/jira_server/issue-updated/" + "t0ken" * 10 + "/", json={})
    logging.getLogger("hub.fine").info("seen", extra={"endpoint": "issue-updated/[redacted]/"})
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(["*secrets in the log*"])
