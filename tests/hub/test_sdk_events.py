"""From an SDK's event to the issue's fields (hub/sdk_events.py)."""

from __future__ import annotations


def test_sdk_exception_culprit_comes_from_the_last_in_app_frame(client, env):
    key = client.get("/api/0/projects/acme/backend/keys/", headers=env["headers"]).json[0]["public"]
    event = {"exception": {"values": [{"type": "KeyError", "value": "'x'", "stacktrace": {"frames": [
        {"module": "django.core", "function": "dispatch", "in_app": False},
        {"module": "shop.views", "function": "checkout", "in_app": True},
        {"module": "shop.lib", "function": "helper", "in_app": False}]}}]}}
    r = client.post(f"/api/{env['project'].id}/store/?sentry_key={key}", json=event)
    assert r.status_code == 200
    [issue] = client.get("/api/0/organizations/acme/issues/", headers=env["headers"]).json
    assert issue["culprit"] == "shop.views in checkout"
