"""``/extensions/<provider>/`` (hub/webhooks.py): unknown providers, size limits, recorded failures, the
dedupe key claimed before any effect and given back on failure, and the delivery log (credentials redacted
but replayable).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from sqlalchemy import event, func, select

from hub import Inbound, Route, StatusChange, Ticket, Unverified, WebhookResponse, hookimpl, services
from hub import models as m
from hub.extensions import db
from hub.webhooks import public_body, public_query
from tests.hub.conftest import tracker_webhook
from tests.support.inbound import changes, count, group, post
from tests.support.signed_tracker import sign


def test_unknown_provider_is_404(client, env):
    r = client.post("/extensions/nope/hook/", json={})
    assert r.status_code == 404 and r.json["detail"]


def test_body_over_one_mib_is_413(client, env):
    r = client.post("/extensions/tracker/hook/", data=b"x" * (1024 * 1024 + 1))
    assert r.status_code == 413


def test_plugin_exception_is_a_recorded_500_without_trace(client, env, caplog):
    with caplog.at_level(logging.ERROR):
        r = client.post("/extensions/tracker/boom/", data=b"{}", headers={"Authorization": "Bearer secret-x"})
    assert r.status_code == 500 and "Traceback" not in r.get_data(as_text=True)
    assert r.json["detail"].startswith("Internal error")
    delivery = db.session.scalar(select(m.WebhookDelivery))
    assert delivery.outcome == "error" and "tracker plugin bug" in delivery.error
    assert delivery.headers["Authorization"] == "[redacted]"  # stored without the secret
    assert any(r.getMessage() == "webhook.plugin-error" for r in caplog.records)


def test_bad_token_rejected_and_recorded(client, env):
    r = tracker_webhook(client, {"key": "TR-1"}, token="wrong")
    assert r.status_code == 401
    assert db.session.scalar(select(m.WebhookDelivery.outcome)) == "rejected"
    runner = client.application.test_cli_runner()
    out = runner.invoke(args=["deliveries", "--failed"])
    assert "tracker" in out.output and "rejected" in out.output


@pytest.mark.parametrize("how", ["cli", "api"])
def test_replay_reapplies_the_changes_a_v1_delivery_recorded(client, env, factories, how):
    """A v1 ``on_webhook`` delivery whose inbound hook recorded a change: ``hub replay`` and the API
    alike re-apply a copy of that change (through today's guards), not the webhook again."""
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    tracker_webhook(client, {"key": "TR-1", "status": "closed", "category": "done"})
    client.put(
        f"/api/0/organizations/acme/issues/{group.id}/", json={"status": "unresolved"}, headers=env["headers"]
    )
    delivery_id = db.session.scalar(select(m.WebhookDelivery.id))
    if how == "cli":
        out = client.application.test_cli_runner().invoke(args=["replay", str(delivery_id)])
        assert out.stdout.startswith("200"), out.output  # the answer on stdout; log lines go to stderr
        assert json.loads(out.stdout.split(" ", 1)[1])["replayOf"] == delivery_id
    else:
        r = client.post(f"/api/0/organizations/acme/deliveries/{delivery_id}/replay/", headers=env["headers"])
        assert r.status_code == 200 and r.json["replayOf"] == delivery_id, r.json
    db.session.expire_all()
    assert db.session.get(m.Group, group.id).status == "resolved"
    copy = db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id.desc())).first()
    assert copy.replay_of == delivery_id
    copied = db.session.scalars(select(m.InboundChange).where(m.InboundChange.delivery_id == copy.id)).all()
    assert [(c.kind, c.ticket_key, c.state) for c in copied] == [("status", "TR-1", "applied")]


class Echo:
    name = "echo"

    @hookimpl
    def provider_info(self) -> dict[str, Any]:
        return {"key": "echo", "name": "Echo", "features": ["notifications"]}

    @hookimpl
    def on_webhook(self, provider: str, endpoint: str, request: Any) -> WebhookResponse | None:
        if provider != "echo":
            return None
        return WebhookResponse(status=202, json={"endpoint": endpoint, "method": request.method,
                                                 "query": request.query.get("a")})


def test_registered_plugin_answers_its_endpoint(client, register_plugin):
    register_plugin(Echo())
    r = client.get("/extensions/echo/some/path/?a=1")
    assert r.status_code == 202 and r.json == {"endpoint": "some/path/", "method": "GET", "query": "1"}


def test_secret_path_segments_are_redacted_in_the_log_but_replayable(client, register_plugin):
    register_plugin(Echo())
    token = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6IjEifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    r = client.post(f"/extensions/echo/issue-updated/{token}/", data=b"{}")
    assert r.status_code == 202 and r.json["endpoint"] == f"issue-updated/{token}/"
    delivery = db.session.scalar(select(m.WebhookDelivery))
    assert delivery.endpoint == "issue-updated/[redacted]/" and token not in delivery.secret_headers
    out = client.application.test_cli_runner().invoke(args=["replay", str(delivery.id)])
    assert out.output.startswith("202") and token in out.output


def test_credential_query_parameters_are_redacted_but_replayable(client, register_plugin):
    register_plugin(Echo())
    r = client.get("/extensions/echo/configure/?a=1&jwt=eyJ.secret.jwt&code=oauth-code-1&state=signed-state")
    assert r.status_code == 202 and r.json["query"] == "1"
    delivery = db.session.scalar(select(m.WebhookDelivery))
    assert delivery.query_string == "a=1&jwt=%5Bredacted%5D&code=%5Bredacted%5D&state=%5Bredacted%5D"
    for secret in ("eyJ.secret.jwt", "oauth-code-1", "signed-state"):
        assert secret not in delivery.query_string and secret not in delivery.secret_headers
    out = client.application.test_cli_runner().invoke(args=["replay", str(delivery.id)])
    assert out.output.startswith("202")


def test_secret_fields_of_json_and_form_bodies_are_redacted_but_replayable(client, register_plugin):
    register_plugin(Echo())
    body = json.dumps({"clientKey": "k-1", "sharedSecret": "s3cr3t-shared", "baseUrl": "https://x"}).encode()
    client.post("/extensions/echo/installed/", data=body, content_type="application/json")
    form = "payload=" + json.dumps({"type": "block_actions", "token": "verif-tok-1", "user": {"id": "U1"}})
    client.post("/extensions/echo/action/", data=form, content_type="application/x-www-form-urlencoded")
    first, second = db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id)).all()
    assert json.loads(first.body) == {"clientKey": "k-1", "sharedSecret": "[redacted]", "baseUrl": "https://x"}
    assert b"verif-tok-1" not in second.body and b"block_actions" in second.body
    assert "s3cr3t" not in first.secret_headers
    out = client.application.test_cli_runner().invoke(args=["replay", str(first.id)])
    assert out.output.startswith("202")
    replayed = db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id.desc())).first()
    assert replayed.replay_of == first.id and b"s3cr3t" not in replayed.body


def test_a_json_body_starting_with_whitespace_has_its_secrets_redacted_too():
    for lead in (b"\n", b" ", b"\r\n\t"):
        body = lead + json.dumps({"clientKey": "k-1", "sharedSecret": "s3cr3t-shared"}).encode()
        assert json.loads(public_body(body, "application/json"))["sharedSecret"] == "[redacted]"
    form = "payload=" + " " + json.dumps({"type": "block_actions", "token": "verif-tok-1"})
    assert b"verif-tok-1" not in public_body(form.encode(), "application/x-www-form-urlencoded")


def test_bodies_without_secrets_are_kept_byte_for_byte():
    raw = b'{"a":  1, "b": [1,2]}'
    assert public_body(raw, "application/json") == raw
    form = b"team_id=T1&text=hi%20there"
    assert public_body(form, "application/x-www-form-urlencoded") == form
    assert public_body(b"not json {", "application/json") == b"not json {"
    assert public_query("a=1&b=2") == "a=1&b=2"


def _claims() -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(m.WebhookClaim)) or 0)


class Flaky:
    """Claims the body, then fails as told (raise, 503, retry=True), else counts one effect."""

    name = "flaky"

    def __init__(self) -> None:
        self.fail: list[str] = []
        self.effects = 0

    @hookimpl
    def provider_info(self) -> dict[str, Any]:
        return {"key": "flaky", "name": "Flaky", "features": []}

    @hookimpl
    def on_webhook(self, provider: str, endpoint: str, request: Any) -> WebhookResponse | None:
        if provider != "flaky":
            return None
        if request.already_processed():
            return WebhookResponse(status=200, json={"duplicate": True})
        how = self.fail.pop(0) if self.fail else ""
        if how == "raise":
            raise RuntimeError("flaky handler")
        if how == "503":
            return WebhookResponse(status=503, json={"detail": "later"})
        if how == "retry":
            return WebhookResponse(status=200, json={"detail": "not processed"}, retry=True)
        self.effects += 1
        return WebhookResponse(status=200, json={"ok": True})


@pytest.mark.parametrize("how", ["raise", "503", "retry"])
def test_a_failed_delivery_gives_its_key_back(client, register_plugin, how):
    plugin = Flaky()
    register_plugin(plugin)
    plugin.fail = [how]

    first = client.post("/extensions/flaky/hook/", data=b'{"n": 1}')
    assert first.status_code == {"raise": 500, "503": 503, "retry": 200}[how]
    assert _claims() == 0
    failed = db.session.scalar(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id))
    if how == "raise":
        assert failed.outcome == "error" and "flaky handler" in failed.error

    again = client.post("/extensions/flaky/hook/", data=b'{"n": 1}')
    assert again.status_code == 200 and again.json == {"ok": True}
    assert plugin.effects == 1 and _claims() == 1

    later = client.post("/extensions/flaky/hook/", data=b'{"n": 1}')
    assert later.status_code == 200 and later.json == {"duplicate": True}
    assert plugin.effects == 1
    outcomes = db.session.scalars(select(m.WebhookDelivery.outcome).order_by(m.WebhookDelivery.id)).all()
    assert outcomes[1:] == ["processed", "duplicate"]


def test_a_processed_delivery_keeps_its_key_even_when_the_plugin_names_its_outcome(client, register_plugin):
    class Named(Flaky):
        @hookimpl
        def on_webhook(self, provider: str, endpoint: str, request: Any) -> WebhookResponse | None:
            if provider != "flaky":
                return None
            if request.already_processed():
                return WebhookResponse(status=200, json={"duplicate": True})
            self.effects += 1
            return WebhookResponse(status=200, json={"ok": True}, outcome="closed")

    plugin = Named()
    register_plugin(plugin)
    for _ in range(3):
        assert client.post("/extensions/flaky/hook/", data=b"{}").status_code == 200
    assert plugin.effects == 1


def test_a_body_over_the_routes_limit_is_413_logged_as_rejected_without_its_body(client, signed):
    r = post(client, {"delivery": "d1", "key": "APP-1", "pad": "x" * 70_000})
    assert r.status_code == 413 and r.json["detail"] == "Request body too large (limit 64 KiB)."
    [delivery] = db.session.scalars(select(m.WebhookDelivery)).all()
    assert (delivery.status_code, delivery.outcome, delivery.body) == (413, "rejected", b"")
    assert delivery.error == f"body of {r.request.content_length} bytes over the limit of 65536"
    assert count(m.InboundChange) == 0 and count(m.WebhookClaim) == 0


def test_the_verifier_runs_before_the_body_is_parsed(client, signed):
    r = client.post(
        "/extensions/signed/hooks/site-a/", data=b"\xff not json {", headers={"X-Signature": "bad"}
    )
    assert r.status_code == 401
    assert r.json == {"detail": "Bad signature.", "errors": {"X-Signature": ["Does not match the body."]}}
    r = post(client, {"delivery": "d1", "key": "APP-1", "state": "closed"}, site="site-unknown")
    assert r.status_code == 401
    delivery = db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id)).first()
    assert delivery.outcome == "rejected" and delivery.status_code == 401
    assert count(m.InboundChange) == 0 and group(signed["group_id"]).status == "unresolved"


def test_a_handler_raising_is_a_recorded_500_and_other_deliveries_go_on(client, signed, run_jobs):
    r = post(client, {"delivery": "d1", "key": "APP-1", "boom": True})
    assert r.status_code == 500 and r.json["detail"].startswith("Internal error (")
    assert "broke" not in r.get_data(as_text=True)
    failed = db.session.scalars(select(m.WebhookDelivery)).one()
    assert failed.outcome == "error" and "RuntimeError: the handler broke" in failed.error
    shown = client.get(f"/api/0/organizations/acme/deliveries/{failed.id}/", headers=signed["headers"]).json
    assert shown["state"] == "failed" and shown["error"] == failed.error
    r = post(client, {"delivery": "d1", "key": "APP-1", "state": "closed", "updated_ms": 1})
    assert r.status_code == 200  # the failed delivery did not keep its key
    run_jobs()
    assert group(signed["group_id"]).status == "resolved"


@pytest.mark.parametrize("wrong", [{"key": ["APP-1"]}, {"updated_ms": "soon"}, {"updated_ms": float("inf")},
                                   {"delivery": 7}, {"key": ""}])
def test_an_inbound_built_wrong_is_a_recorded_500_and_nothing_of_it_is_kept(client, signed, run_jobs, wrong):
    """The plugin handed the payload's values on unchecked (a list for the ticket key, text for the
    event time): the core refuses them as a handler raising, before writing any change."""
    payload = {"delivery": "d1", "key": "APP-1", "state": "closed", "updated_ms": 1, **wrong}
    r = post(client, payload)
    assert r.status_code == 500 and r.json["detail"].startswith("Internal error (")
    failed = db.session.scalars(select(m.WebhookDelivery)).one()
    assert failed.outcome == "error" and failed.error.startswith("TypeError: ")
    assert count(m.InboundChange) == 0
    right = {"delivery": "d1", "key": "APP-1", "state": "closed", "updated_ms": 1}
    assert post(client, right).status_code == 200
    run_jobs()
    assert group(signed["group_id"]).status == "resolved"


def test_a_redelivery_is_200_and_has_no_second_effect(client, signed, run_jobs):
    payload = {"delivery": "d1", "key": "APP-1", "state": "closed", "updated_ms": 1000}
    assert post(client, payload).status_code == 200
    run_jobs()
    client.put(f"/api/0/organizations/acme/issues/{signed['group_id']}/", json={"status": "unresolved"},
               headers=signed["headers"])
    r = post(client, payload)
    assert r.status_code == 200 and r.json["detail"] == "Already processed."
    run_jobs()
    assert group(signed["group_id"]).status == "unresolved"
    assert len(changes()) == 1
    outcomes = [
        d.outcome for d in db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id))
    ]
    assert outcomes == ["received", "duplicate"]


def test_a_delivery_s_changes_are_recorded_in_its_order_with_their_keys(client, signed):
    """Every change of a delivery is recorded with what a worker needs: its kind and values, the
    integration, and an order key of its event time (else the arrival time), then the delivery's id
    and the change's place in it. On PostgreSQL the claim and the whole record are one statement."""
    statements: list[str] = []

    def note(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        statements.append(sql)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        payload = {"delivery": "d1", "key": "APP-2", "id": "10002", "project": "10000",
                   "moved_from": "APP-1", "state": "closed", "assignee": "bob@example.org",
                   "comment": "Fixed.", "updated_ms": 1234567}
        before = time.time() * 1000
        r = post(client, payload)
        r2 = post(client, {"delivery": "d2", "key": "APP-2", "state": "open"})
        after = time.time() * 1000
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert r.status_code == 200 and r.json == {"detail": "accepted"} and r2.status_code == 200
    first, second = db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id)).all()
    assert (first.outcome, first.dedupe_key, first.status_code) == ("received", "d1", 200)
    rows = changes()
    assert [(c.delivery_id, c.kind, c.ticket_key, c.ticket_id, c.state) for c in rows] == [
        *[(first.id, k, "APP-2", "10002", "pending") for k in ("moved", "status", "assignee", "comment")],
        (second.id, "status", "APP-2", "", "pending")]
    assert [c.order_key for c in rows[:4]] == [f"{1234567:015d}.{first.id * 1000 + i:016d}" for i in range(4)]
    when, sequence = rows[4].order_key.split(".")
    assert before - 1 <= int(when) <= after and sequence == f"{second.id * 1000:016d}"
    assert rows[0].data["old_key"] == "APP-1" and rows[0].data["project_id"] == "10000"
    assert rows[2].data["email"] == "bob@example.org" and rows[2].data["assign"] is True
    assert rows[3].data["text"] == "Fixed." and rows[1].occurred_at == 1234567 and rows[4].occurred_at is None
    assert {c.integration_id for c in rows} == {first.integration_id} and first.integration_id is not None
    assert all(c.activity_ids == [] and c.attempts == 0 for c in rows)
    writes = [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
    if db.engine.dialect.name == "postgresql":
        assert len(writes) == 2 and all(s.lstrip().startswith("WITH drawn") for s in writes)


@pytest.mark.parametrize("when", [10**30, -5])
def test_an_event_time_beyond_the_order_key_sorts_at_its_end_not_a_500(client, signed, when):
    r = post(client, {"delivery": "far", "key": "APP-1", "state": "closed", "updated_ms": when})
    assert r.status_code == 200, r.json
    (change,) = changes()
    first = "999999999999999" if when > 0 else "000000000000000"
    assert change.order_key.split(".")[0] == first and len(change.order_key) == 32


class Remembering:
    """A v2 plugin whose verifier remembers the integration it found for a site (a per-process cache,
    as jira_server keeps the tokens it verified): a later request is identified without a lookup
    (``remember=False``: a lookup each time).
    ``POST hooks/<site>/`` signed like the signed tracker's; ``{"boom": true}`` raises in the handler,
    ``{"answer": true}`` is answered synchronously, anything else is a status change of APP-1."""

    KEY = "remembering"

    def __init__(self, remember: bool = True) -> None:
        self.known: dict[str, Any] = {}
        self.remember = remember
        self.broken = False  # every handle raises, as a plugin's bug would until it is fixed

    @hookimpl
    def provider_info(self) -> dict[str, Any]:
        return {"key": self.KEY, "name": "Remembering tracker", "features": ["issue-sync", "status-sync"]}

    @hookimpl
    def webhook_routes(self) -> list[Route]:
        return [Route("hooks/<site>/", ("POST",), verify=self.verify, handle=self.handle)]

    def verify(self, request: Any) -> Any:
        site = request.params["site"]
        if site not in self.known or not self.remember:
            self.known[site] = services.get_integration(self.KEY, site)
        integration = self.known[site]
        secret = str(integration.metadata.get("secret", "")) if integration else ""
        if not secret or request.headers.get("X-Signature") != sign(secret, request.body):
            raise Unverified("Bad signature.")
        return integration

    def handle(self, request: Any, integration: Any) -> Inbound | WebhookResponse:
        body = request.json()
        if body.get("boom") or self.broken:
            raise RuntimeError("the handler broke")
        if body.get("answer"):
            return WebhookResponse(json={"ok": True})
        change = StatusChange(ticket=Ticket(key="APP-1"), status_id="closed", category="done")
        return Inbound(integration=integration, changes=(change,), dedupe_key=body.get("delivery"))


def _remembering(register_plugin, factories, env, remember=True):
    register_plugin(Remembering(remember))
    integration = factories.integration(env["org"], Remembering.KEY, "site-r", {"secret": "r-secret"})
    db.session.commit()
    return integration


def _post_remembering(client, payload):
    body = json.dumps(payload).encode()
    return client.post(f"/extensions/{Remembering.KEY}/hooks/site-r/", data=body,
                       headers={"Content-Type": "application/json", "X-Signature": sign("r-secret", body)})


def _listed(client, headers):
    r = client.get("/api/0/organizations/acme/deliveries/", headers=headers)
    assert r.status_code == 200
    return {d["id"]: d for d in r.json}


def test_a_failed_or_answered_delivery_is_the_org_s_when_its_verifier_identified_the_integration(
        client, env, factories, register_plugin):
    """The org's admins see every delivery of their integration, however it ended, even when the
    verifier found the integration without a lookup of this request's."""
    integration = _remembering(register_plugin, factories, env)
    assert _post_remembering(client, {"delivery": "d1"}).status_code == 200  # the verifier looks it up once
    assert _post_remembering(client, {"boom": True}).status_code == 500
    assert _post_remembering(client, {"answer": True}).status_code == 200

    listed = _listed(client, env["headers"])

    assert [(d["state"], d["integrationId"]) for d in listed.values()] == [  # newest first
        ("processed", str(integration.id)), ("failed", str(integration.id)),
        ("received", str(integration.id))]
    for delivery_id in listed:
        r = client.get(f"/api/0/organizations/acme/deliveries/{delivery_id}/", headers=env["headers"])
        assert r.status_code == 200 and r.json["integrationId"] == str(integration.id)


def test_a_replay_that_fails_or_is_answered_is_listed_under_its_integration(
        client, env, factories, register_plugin):
    """``hub replay`` of a delivery whose handler raised (or answered synchronously) records a new
    delivery; it is the integration's as the original is, so the org's API lists it and finds it."""
    integration = _remembering(register_plugin, factories, env, remember=False)
    assert _post_remembering(client, {"boom": True}).status_code == 500
    assert _post_remembering(client, {"answer": True}).status_code == 200
    failed, answered = sorted(_listed(client, env["headers"]))
    runner = client.application.test_cli_runner()

    assert runner.invoke(args=["replay", str(failed)]).exit_code == 1  # it raises again
    assert runner.invoke(args=["replay", str(answered)]).exit_code == 0

    listed = _listed(client, env["headers"])
    replays = {d["replayOf"]: d for d in listed.values() if d["replayOf"]}
    assert replays[failed]["state"] == "failed" and replays[answered]["outcome"] == "processed"
    for replay in replays.values():
        assert replay["integrationId"] == str(integration.id)
        url = f"/api/0/organizations/acme/deliveries/{replay['id']}/"
        assert client.get(url, headers=env["headers"]).status_code == 200
        r = client.post(url + "replay/", headers=env["headers"])  # re-run as it came, as `hub replay` does
        assert r.status_code == 200
        assert (r.json["replayOf"], r.json["state"]) == (replay["id"], replay["state"])


def test_the_api_replays_a_delivery_whose_handler_raised_through_its_route_again(
        client, env, factories, register_plugin):
    """A v2 handler that raised recorded no changes; once the plugin is fixed, the ledger's Replay (the
    API) runs the stored request through verify and handle again, as ``hub replay`` does, and what
    the handler returns now is applied on the new delivery; the original stays failed."""
    plugin = Remembering()
    register_plugin(plugin)
    integration = factories.integration(env["org"], Remembering.KEY, "site-r", {"secret": "r-secret"},
                                        config={"sync_status_reverse": True})
    issue = factories.group(env["project"])
    factories.link(issue, integration, "APP-1")
    plugin.broken = True
    assert _post_remembering(client, {"delivery": "d1"}).status_code == 500
    [failed] = _listed(client, env["headers"]).values()
    assert (failed["state"], failed["changes"]) == ("failed", [])
    plugin.broken = False

    r = client.post(f"/api/0/organizations/acme/deliveries/{failed['id']}/replay/", headers=env["headers"])

    assert r.status_code == 200, r.json
    assert (r.json["replayOf"], r.json["state"], r.json["statusCode"]) == (failed["id"], "applied", 200)
    assert [(c["kind"], c["state"]) for c in r.json["changes"]] == [("status", "applied")]
    db.session.expire_all()
    assert db.session.get(m.Group, issue.id).status == "resolved"
    listed = _listed(client, env["headers"])
    assert listed[failed["id"]]["state"] == "failed" and listed[r.json["id"]]["replayOf"] == failed["id"]
