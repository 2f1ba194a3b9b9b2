"""Every Slack request is verified before it is parsed; bad input gets a clear 4xx and changes nothing."""

from __future__ import annotations

import json
import time

from hub import models as m
from hub.dispatch import replay
from hub.extensions import db
from tests.plugins.slack.helpers import (
    RESPONSE_URL,
    SLACK_USER,
    activities,
    block_actions,
    form_body,
    issue,
    load,
    signed_headers,
)


def test_url_verification_answers_the_challenge(slack):
    r = slack.event(load("url_verification"))
    assert r.status_code == 200
    assert r.json == {"challenge": "hubtests-challenge-Qm9xR2lyYWZmZS1wYXlsb2Fk"}


def test_bad_signature_is_401_and_changes_nothing(client, env, factories, requests_mock):
    factories.identity(env["integration"], SLACK_USER, env["jess"])
    body = form_body(block_actions(env["group"].id))
    r = client.post(
        "/extensions/slack/action/",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=signed_headers(body, secret="not-the-secret"),
    )
    assert r.status_code == 401
    assert r.json["detail"] == "Invalid Slack signature."
    assert issue(client, env, env["group"].id)["status"] == "unresolved"
    assert requests_mock.request_history == []


def test_body_changed_after_signing_is_401(client, env, factories):
    factories.identity(env["integration"], SLACK_USER, env["jess"])
    body = form_body(block_actions(env["group"].id))
    headers = signed_headers(body)
    tampered = body.replace(b"resolved", b"unresolved")
    r = client.post(
        "/extensions/slack/action/",
        data=tampered,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    assert r.status_code == 401


def test_missing_signature_headers_is_401(client):
    r = client.post("/extensions/slack/event/", json=load("url_verification"))
    assert r.status_code == 401
    assert r.json["detail"] == "Missing or malformed Slack signature headers."


def test_stale_timestamp_is_401(client, env, factories, slack):
    factories.identity(env["integration"], SLACK_USER, env["jess"])
    r = slack.action(block_actions(env["group"].id), timestamp=int(time.time()) - 6 * 60)
    assert r.status_code == 401
    assert "too old" in r.json["detail"]
    assert issue(client, env, env["group"].id)["status"] == "unresolved"


def test_redelivered_body_has_no_second_effect(client, env, factories, slack, requests_mock, run_jobs):
    factories.identity(env["integration"], SLACK_USER, env["jess"])
    requests_mock.post(RESPONSE_URL, text="ok")
    payload = block_actions(env["group"].id)
    assert slack.action(payload).status_code == 200
    # the user reopens it in the hub, then Slack redelivers the very same click
    client.put(
        f"/api/0/organizations/acme/issues/{env['group'].id}/",
        json={"status": "unresolved"},
        headers=env["headers"],
    )
    r = slack.action(payload)
    assert r.status_code == 200
    assert issue(client, env, env["group"].id)["status"] == "unresolved"
    assert [a["type"] for a in activities(client, env, env["group"].id)] == [
        "set_unresolved",
        "set_resolved",
        "first_seen",
    ]
    run_jobs()
    assert len(requests_mock.request_history) == 1


def test_replay_skips_only_the_time_window(app, client, env, factories, requests_mock):
    """``hub replay`` re-runs an old delivery: its signature still counts, its age does not."""

    factories.identity(env["integration"], SLACK_USER, env["jess"])
    requests_mock.post(RESPONSE_URL, text="ok")
    body = form_body(block_actions(env["group"].id))
    old = int(time.time()) - 3600
    r = client.post(
        "/extensions/slack/action/",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=signed_headers(body, timestamp=old),
    )
    assert r.status_code == 401  # stale when it arrived
    delivery_id = db.session.scalar(db.select(m.WebhookDelivery.id).order_by(m.WebhookDelivery.id.desc()))
    with app.test_request_context():
        replayed = replay(delivery_id)
    assert replayed.status_code == 200
    assert issue(client, env, env["group"].id)["status"] == "resolved"


def test_replay_with_a_forged_signature_is_still_refused(app, client, env, factories):

    factories.identity(env["integration"], SLACK_USER, env["jess"])
    body = form_body(block_actions(env["group"].id))
    client.post(
        "/extensions/slack/action/",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=signed_headers(body, timestamp=int(time.time()) - 3600, secret="forged"),
    )
    delivery_id = db.session.scalar(db.select(m.WebhookDelivery.id).order_by(m.WebhookDelivery.id.desc()))
    with app.test_request_context():
        assert replay(delivery_id).status_code == 401
    assert issue(client, env, env["group"].id)["status"] == "unresolved"


def test_unknown_team_is_403(client, env, factories, slack):
    factories.identity(env["integration"], SLACK_USER, env["jess"])
    r = slack.action(block_actions(env["group"].id, team="T9999"))
    assert r.status_code == 403
    assert r.json["detail"] == "This Slack workspace is not connected to Integration Hub."
    assert issue(client, env, env["group"].id)["status"] == "unresolved"


def test_missing_payload_is_400(slack, env):
    r = slack.post("action/", b"token=abc&team_id=T07HB2Q4Z")
    assert r.status_code == 400
    assert r.json == {"detail": "Missing payload.", "errors": {"payload": ["This field is required."]}}


def test_payload_that_is_not_json_is_400(slack, env):
    r = slack.post("action/", b"payload=%7Bnot-json")
    assert r.status_code == 400
    assert r.json["detail"] == "The payload is not valid JSON."


def test_event_for_unknown_team_is_403(slack, env):
    r = slack.event(
        {
            "type": "event_callback",
            "team_id": "T9999",
            "event_id": "Ev1",
            "event": {"type": "app_mention", "text": "hi"},
        }
    )
    assert r.status_code == 403


def test_app_uninstalled_event_disables_the_integration(client, slack, env):
    r = slack.event(
        {
            "type": "event_callback",
            "team_id": "T07HB2Q4Z",
            "event_id": "Ev2",
            "event": {"type": "app_uninstalled"},
        }
    )
    assert r.status_code == 200
    listed = client.get("/api/0/organizations/acme/integrations/", headers=env["headers"]).json
    assert [(i["provider"], i["status"]) for i in listed] == [("slack", "disabled")]


def test_a_retried_uninstall_is_answered_200_and_its_event_id_is_taken_for_any_later_body(app, slack, env):
    uninstall = {"type": "event_callback", "team_id": "T07HB2Q4Z", "event_id": "Ev7",
                 "event": {"type": "app_uninstalled"}}
    assert slack.event(uninstall).status_code == 200
    # Slack's retry of the uninstall finds the integration disabled and its own claim: 200, nothing more
    assert slack.event(uninstall, headers={"X-Slack-Retry-Num": "1"}).status_code == 200
    mention = {**uninstall, "event": {"type": "app_mention"}}
    assert slack.event(mention).status_code == 403  # a disabled workspace's other events are refused
    with app.app_context():
        outcomes = db.session.execute(db.select(m.WebhookDelivery.outcome, m.WebhookDelivery.status_code)
                                      .where(m.WebhookDelivery.provider == "slack")
                                      .order_by(m.WebhookDelivery.id)).all()
    assert [tuple(row) for row in outcomes] == [("processed", 200), ("duplicate", 200), ("rejected", 403)]


def test_unknown_endpoint_is_404(client):
    assert client.post("/extensions/slack/nope/").status_code == 404


def test_event_body_is_verified_before_it_is_parsed(client):
    body = b"{not json"
    r = client.post(
        "/extensions/slack/event/",
        data=body,
        content_type="application/json",
        headers=signed_headers(body, secret="wrong"),
    )
    assert r.status_code == 401
    r = client.post(
        "/extensions/slack/event/", data=body, content_type="application/json", headers=signed_headers(body)
    )
    assert r.status_code == 400
    assert json.loads(r.data)["detail"] == "The body is not valid JSON."


def test_url_verification_is_answered_every_time(slack):
    payload = load("url_verification")
    assert slack.event(payload).json == {"challenge": payload["challenge"]}
    assert slack.event(payload).json == {"challenge": payload["challenge"]}


def test_event_retry_is_processed_once(client, slack, env):
    event = {
        "type": "event_callback",
        "team_id": "T07HB2Q4Z",
        "event_id": "Ev42",
        "event": {"type": "app_mention"},
    }
    assert slack.event(event).status_code == 200
    # an event id Slack already delivered is never processed again, whatever the body says
    uninstall = {
        "type": "event_callback",
        "team_id": "T07HB2Q4Z",
        "event_id": "Ev42",
        "event": {"type": "app_uninstalled"},
    }
    assert slack.event(uninstall).status_code == 200
    listed = client.get("/api/0/organizations/acme/integrations/", headers=env["headers"]).json
    assert listed[0]["status"] == "active"


def test_oddly_shaped_payloads_get_4xx_not_500(env, factories, slack):
    factories.identity(env["integration"], SLACK_USER, env["jess"])
    base = block_actions(env["group_id"])
    odd = [
        {**base, "team": "T07HB2Q4Z"},
        {**base, "user": "U07JESS91"},
        {**base, "actions": "resolve"},
        {**base, "actions": [{"action_id": "status", "value": {"x": 1}}]},
        {**base, "message": {"blocks": "nope"}},
        {
            **base,
            "type": "view_submission",
            "view": {"callback_id": "resolve_dialog", "private_metadata": "[]"},
        },
        {**base, "type": "shortcut"},
        [1, 2, 3],
    ]
    for payload in odd:
        r = slack.action(payload)
        assert 400 <= r.status_code < 500, (payload, r.status_code, r.json)
