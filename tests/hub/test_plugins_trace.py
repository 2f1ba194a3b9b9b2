"""HUB_TRACE_PLUGINS logs every hook call and result, never a secret in them."""

from __future__ import annotations

import logging

from hub.testing import Factories

SECRETS = ("hub-tests-trace-shared-secret-of-forty-chars", "short-pw-1",
           "xoxb-1234-5678-abcdefghijklmnop")


def test_trace_never_logs_secrets(make_app, caplog):
    app = make_app(HUB_TRACE_PLUGINS=True)
    with app.app_context():
        setup = Factories(app).setup()
        client = app.test_client()
        with caplog.at_level(logging.INFO, logger="hub.plugins"):
            r = client.post("/api/0/organizations/acme/integrations/", headers=setup["headers"], json={
                "provider": "tracker", "externalId": "site-9",
                "metadata": {"base_url": "https://tracker.example.com", "shared_secret": SECRETS[0],
                             "password": SECRETS[1], "access_token": SECRETS[2]}})
            assert r.status_code == 201, r.json
            client.post(f"/extensions/tracker/hook/{SECRETS[0]}/", data=b"{}")
    traced = [r for r in caplog.records if r.getMessage() in ("plugin.hook-call", "plugin.hook-result")]
    assert {r.hook for r in traced} >= {"install_integration", "on_webhook"}
    text = " ".join(str(getattr(r, "arguments", "")) + str(getattr(r, "result", "")) for r in traced)
    assert "site-9" in text  # what is not secret is still shown
    for secret in SECRETS:
        assert secret not in text
