"""The REST API of CONTRACT §2: shapes, permissions, isolation and bad input."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db
from tests.hub.conftest import post_event
from tests.support.inbound import post
from tests.support.sdk import all_groups, project_key, store_event

DEEP = b"[" * 100000 + b"]" * 100000


def test_no_or_bad_token_is_401(client, env):
    assert client.get("/api/0/organizations/acme/issues/").status_code == 401
    r = client.get("/api/0/organizations/acme/issues/", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert set(r.json) == {"detail", "errors"}


def test_members_and_projects(client, env):
    h = env["headers"]
    r = client.post("/api/0/organizations/acme/projects/", json={"name": "Web Front"}, headers=h)
    assert r.status_code == 201 and r.json["slug"] == "web-front"
    r = client.post("/api/0/organizations/acme/members/",
                    json={"email": "New@Example.com", "role": "admin", "projects": ["web-front"]}, headers=h)
    assert r.status_code == 201
    assert (
        r.json["email"] == "new@example.com"
        and r.json["role"] == "admin"
        and r.json["projects"] == ["web-front"]
    )
    assert set(r.json) >= {"id", "userId", "email", "role", "projects"}
    again = client.post("/api/0/organizations/acme/members/", json={"email": "new@example.com"}, headers=h)
    assert again.status_code == 409
    bad = client.post(
        "/api/0/organizations/acme/members/", json={"email": "x@example.com", "role": "king"}, headers=h
    )
    assert bad.status_code == 400 and "role" in bad.json["errors"]
    dup = client.post("/api/0/organizations/acme/projects/", json={"slug": "web-front"}, headers=h)
    assert dup.status_code == 409


def test_member_cannot_add_members(client, env, factories):
    token = factories.token(env["member"])
    r = client.post("/api/0/organizations/acme/members/", json={"email": "x@example.com"},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403


def test_a_member_lists_alert_rules_but_may_not_create_change_or_delete_them(client, env, factories):
    """As on the settings page: rules belong to owners and admins."""
    h = env["headers"]
    integration_id = str(factories.integration(env["org"], "slack", "T07RULES", {"bot_token": "xoxb-x"}).id)
    body = {"name": "Alerts", "conditions": [{"id": "every_event"}],
            "actions": [{"integrationId": integration_id, "channelId": "C1"}]}
    rule = client.post("/api/0/projects/acme/backend/rules/", json=body, headers=h)
    assert rule.status_code == 201, rule.json
    member = {"Authorization": f"Bearer {factories.token(env['member'])}"}
    url = f"/api/0/projects/acme/backend/rules/{rule.json['id']}/"
    assert client.get("/api/0/projects/acme/backend/rules/", headers=member).status_code == 200
    assert client.post("/api/0/projects/acme/backend/rules/", json=body, headers=member).status_code == 403
    assert client.put(url, json={**body, "name": "Mine"}, headers=member).status_code == 403
    assert client.delete(url, headers=member).status_code == 403
    [kept] = client.get("/api/0/projects/acme/backend/rules/", headers=h).json
    assert kept["name"] == "Alerts"


def test_events_group_by_fingerprint_and_dedupe(client, env):
    h = env["headers"]
    first = post_event(client, h, event_id="a" * 32, culprit="app.views")
    assert first["isNew"] is True
    same = post_event(client, h, event_id="b" * 32, culprit="app.views")
    assert same["groupId"] == first["groupId"] and same["isNew"] is False
    repeat = post_event(client, h, event_id="b" * 32, culprit="app.views")
    assert repeat["groupId"] == first["groupId"]
    other = post_event(
        client, h, message="KeyError: 'x'", fingerprint=["custom"], release="1.0", environment="prod"
    )
    assert other["groupId"] != first["groupId"]
    fp = post_event(client, h, message="another message", fingerprint=["custom"])
    assert fp["groupId"] == other["groupId"]
    issue = client.get(f"/api/0/organizations/acme/issues/{first['groupId']}/", headers=h).json
    assert issue["count"] == "2"  # the repeated event_id was not counted twice
    assert issue["shortId"] == "BACKEND-1" and issue["culprit"] == "app.views"
    assert set(issue) >= {
        "id",
        "shortId",
        "title",
        "culprit",
        "status",
        "project",
        "assignedTo",
        "externalIssues",
        "count",
        "firstSeen",
        "lastSeen",
    }
    assert issue["firstSeen"].endswith("Z")
    assert db.session.scalar(select(m.Release.version)) == "1.0"
    assert db.session.scalar(select(m.Environment.name)) == "prod"


def test_issue_list_order_filters_and_cursor_pages(client, env):
    h = env["headers"]
    ids = [post_event(client, h, message=f"error {i}")["groupId"] for i in range(5)]
    r = client.get("/api/0/organizations/acme/issues/?limit=2", headers=h)
    assert r.status_code == 200
    assert [i["id"] for i in r.json] == [ids[4], ids[3]]
    assert 'rel="next"; results="true"' in r.headers["Link"]
    seen = [i["id"] for i in r.json]
    while 'rel="next"; results="true"' in r.headers["Link"]:
        cursor = r.headers["Link"].split('rel="next"; results="true"; cursor="')[1].split('"')[0]
        r = client.get(f"/api/0/organizations/acme/issues/?limit=2&cursor={cursor}", headers=h)
        seen += [i["id"] for i in r.json]
    assert seen == list(reversed(ids))
    client.put(f"/api/0/organizations/acme/issues/{ids[0]}/", json={"status": "resolved"}, headers=h)
    resolved = client.get("/api/0/organizations/acme/issues/?status=resolved&project=backend", headers=h).json
    assert [i["id"] for i in resolved] == [ids[0]]
    assert client.get("/api/0/organizations/acme/issues/?status=nope", headers=h).status_code == 400
    assert client.get("/api/0/organizations/acme/issues/?limit=0", headers=h).status_code == 400


def test_update_status_and_assignee(client, env):
    h = env["headers"]
    gid = post_event(client, h)["groupId"]
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/",
                   json={"status": "resolved", "assignedTo": "dev@example.com"}, headers=h)
    assert r.status_code == 200
    assert r.json["status"] == "resolved"
    assert r.json["assignedTo"]["email"] == "dev@example.com" and r.json["assignedTo"]["type"] == "user"
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/", json={"assignedTo": f"user:{env['owner'].id}"},
                   headers=h)
    assert r.json["assignedTo"]["id"] == str(env["owner"].id)
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/", json={"assignedTo": None}, headers=h)
    assert r.json["assignedTo"] is None
    types = [
        a["type"] for a in client.get(f"/api/0/organizations/acme/issues/{gid}/activities/", headers=h).json
    ]
    assert types == ["unassigned", "assigned", "set_resolved", "assigned", "first_seen"]
    activity = client.get(f"/api/0/organizations/acme/issues/{gid}/activities/", headers=h).json[0]
    assert activity["user"]["email"] == "owner@example.com" and activity["dateCreated"].endswith("Z")


def test_assigning_a_non_member_changes_nothing(client, env, factories):
    h = env["headers"]
    factories.member(env["org"], "outsider@example.com", projects=[])  # in the org, not in the project
    gid = post_event(client, h)["groupId"]
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/",
                   json={"status": "resolved", "assignedTo": "outsider@example.com"}, headers=h)
    assert r.status_code == 400 and "assignedTo" in r.json["errors"]
    issue = client.get(f"/api/0/organizations/acme/issues/{gid}/", headers=h).json
    assert issue["status"] == "unresolved" and issue["assignedTo"] is None  # nothing half-applied
    r = client.put(
        f"/api/0/organizations/acme/issues/{gid}/", json={"assignedTo": "ghost@example.com"}, headers=h
    )
    assert r.status_code == 400


def test_bad_input_is_a_clear_4xx(client, env):
    h = env["headers"]
    gid = post_event(client, h)["groupId"]
    url = f"/api/0/organizations/acme/issues/{gid}/"
    cases = [
        (client.put(url, json={"status": "fixed"}, headers=h), 400, "status"),
        (client.put(url, json={"status": 3}, headers=h), 400, "status"),
        (client.put(url, data="{not json", headers={**h, "Content-Type": "application/json"}), 400, "body"),
        (client.put(url, data="status=resolved", headers={**h, "Content-Type": "text/plain"}), 415, None),
        (
            client.post("/api/0/projects/acme/backend/events/", json={"level": "error"}, headers=h),
            400,
            "message",
        ),
        (client.post("/api/0/projects/acme/backend/events/", json={"message": 5}, headers=h), 400, "message"),
        (
            client.post(
                "/api/0/projects/acme/backend/rules/",
                json={"name": "r", "conditions": [{"id": "x"}], "actions": []},
                headers=h,
            ),
            400,
            "conditions",
        ),
    ]
    for response, status, field in cases:
        assert response.status_code == status, response.json
        assert set(response.json) == {"detail", "errors"}
        if field:
            assert field in response.json["errors"]
    big = client.post("/api/0/projects/acme/backend/events/", data=b"x" * (1024 * 1024 + 1),
                      headers={**h, "Content-Type": "application/json"})
    assert big.status_code == 413
    assert client.get(url, headers=h).json["status"] == "unresolved"


def test_other_orgs_objects_are_404(client, env, factories):
    gid = post_event(client, env["headers"])["groupId"]
    other = factories.setup(org_slug="globex", email="boss@globex.com")
    h = other["headers"]
    assert client.get(f"/api/0/organizations/acme/issues/{gid}/", headers=h).status_code == 404
    assert client.get(f"/api/0/organizations/globex/issues/{gid}/", headers=h).status_code == 404
    assert client.put(f"/api/0/organizations/globex/issues/{gid}/", json={"status": "resolved"},
                      headers=h).status_code == 404
    assert client.get("/api/0/organizations/acme/integrations/", headers=h).status_code == 404
    assert client.get("/api/0/organizations/globex/issues/", headers=h).json == []


def test_integrations_api_never_returns_secrets(client, env):
    h = env["headers"]
    r = client.get("/api/0/organizations/acme/integrations/", headers=h)
    assert r.status_code == 200
    [item] = r.json
    assert item["provider"] == "tracker" and item["externalId"] == "site-1" and item["status"] == "active"
    assert "tracker-api-token" not in r.get_data(as_text=True)
    stored = db.session.scalar(select(m.Integration.metadata_encrypted))
    assert "tracker-api-token" not in stored  # Fernet-encrypted at rest
    r = client.put(f"/api/0/organizations/acme/integrations/{item['id']}/",
                   json={"config": {"sync_comments": False}}, headers=h)
    assert r.status_code == 200 and r.json["config"]["sync_comments"] is False
    assert r.json["config"]["sync_status_forward"] is True
    bad = client.put(f"/api/0/organizations/acme/integrations/{item['id']}/",
                     json={"config": {"sync_comments": "yes"}}, headers=h)
    assert bad.status_code == 400


def test_manual_install_conflict_and_uninstall(client, env, factories):
    h = env["headers"]
    r = client.post("/api/0/organizations/acme/integrations/",
                    json={"provider": "tracker", "externalId": "site-2", "metadata": {"base_url": "https://t2"}},
                    headers=h)
    assert r.status_code == 201 and r.json["config"]["sync_status_forward"] is False
    missing = client.post("/api/0/organizations/acme/integrations/",
                          json={"provider": "tracker", "externalId": "site-3", "metadata": {}}, headers=h)
    assert missing.status_code == 400 and db.session.scalar(
        select(func.count()).select_from(m.Integration).where(m.Integration.external_id == "site-3")) == 0
    assert client.post("/api/0/organizations/acme/integrations/",
                       json={"provider": "nope", "externalId": "x"}, headers=h).status_code == 400
    other = factories.setup(org_slug="globex", email="boss@globex.com")
    stolen = client.post("/api/0/organizations/globex/integrations/",
                         json={"provider": "tracker", "externalId": "site-2", "metadata": {"base_url": "https://evil"}},
                         headers=other["headers"])
    assert stolen.status_code == 409
    assert (
        client.delete(f"/api/0/organizations/acme/integrations/{r.json['id']}/", headers=h).status_code == 204
    )
    ids = [i["id"] for i in client.get("/api/0/organizations/acme/integrations/", headers=h).json]
    assert r.json["id"] not in ids


def test_external_projects_and_rules(client, env):
    h = env["headers"]
    iid = env["tracker"].id
    r = client.post(
        f"/api/0/organizations/acme/integrations/{iid}/external-projects/",
        json={"externalId": "10100", "resolvedStatus": "10001", "unresolvedStatus": "3"},
        headers=h,
    )
    assert r.status_code == 201 and r.json["resolvedStatus"] == "10001"
    assert client.post(f"/api/0/organizations/acme/integrations/{iid}/external-projects/",
                       json={"externalId": "10100"}, headers=h).status_code == 400
    r = client.post("/api/0/projects/acme/backend/rules/",
                    json={"name": "all", "conditions": [{"id": "first_seen_event"}],
                          "actions": [{"integrationId": str(iid), "channelId": "C1"}]}, headers=h)
    assert r.status_code == 201
    bad = client.post("/api/0/projects/acme/backend/rules/",
                      json={"name": "x", "conditions": [{"id": "every_event"}],
                            "actions": [{"integrationId": "999", "channelId": "C1"}]}, headers=h)
    assert bad.status_code == 400


def test_keys_openapi_and_health(client, env):
    keys = client.get("/api/0/projects/acme/backend/keys/", headers=env["headers"]).json
    assert keys[0]["isActive"] is True and keys[0]["dsn"] == f"http://{keys[0]['public']}@hub.test/{env['project'].id}"
    spec = client.get("/api/0/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/0/organizations/{org}/issues/{id}/" in spec["paths"]
    put = spec["paths"]["/api/0/organizations/{org}/issues/{id}/"]["put"]
    assert "requestBody" in put and "IssueUpdate" in str(put["requestBody"])
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_health_names_redis_when_down(make_app):
    app = make_app(HUB_REDIS_URL="redis://127.0.0.1:1/0")
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.json["redis"] == "down" and r.json["database"] == "ok"


def test_delete_project_removes_rules_and_parents(client, env, factories):
    h = env["headers"]
    group = factories.group(env["project"])
    client.post("/api/0/projects/acme/backend/rules/", json={
        "name": "r", "conditions": [{"id": "every_event"}],
        "actions": [{"integrationId": str(env["tracker"].id), "channelId": "C1"}]}, headers=h)
    factories.parent(group, env["tracker"], "C1", "m1")
    assert client.delete("/api/0/projects/acme/backend/", headers=h).status_code == 204
    assert db.session.scalar(select(func.count()).select_from(m.AlertRule)) == 0
    assert db.session.scalar(select(func.count()).select_from(m.NotificationMessage)) == 0
    assert db.session.scalar(select(func.count()).select_from(m.Group)) == 0


def test_sentry_sdk_store_and_envelope(client, env):
    key = client.get("/api/0/projects/acme/backend/keys/", headers=env["headers"]).json[0]["public"]
    pid = env["project"].id
    event = {"event_id": "c" * 32, "level": "error", "transaction": "views.index", "release": "2.0",
             "exception": {"values": [{"type": "ValueError", "value": "bad"}]}}
    r = client.post(f"/api/{pid}/store/", json=event,
                    headers={"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key}"})
    assert r.status_code == 200 and r.json["id"] == "c" * 32
    item = b'{"type":"event"}\n' + b'{"message":"from envelope","event_id":"' + b"d" * 32 + b'"}'
    r = client.post(
        f"/api/{pid}/envelope/?sentry_key={key}", data=b'{"event_id":"' + b"d" * 32 + b'"}\n' + item
    )
    assert r.status_code == 200
    titles = sorted(
        i["title"] for i in client.get("/api/0/organizations/acme/issues/", headers=env["headers"]).json
    )
    assert titles == ["ValueError: bad", "from envelope"]
    assert client.post(f"/api/{pid}/store/", json=event, headers={"X-Sentry-Auth": "Sentry sentry_key=00"}
                       ).status_code == 401


def test_invite_request_is_recorded(client, env, factories):
    token = factories.token(env["member"])
    r = client.post("/api/0/organizations/acme/invite-requests/", json={"email": "friend@example.com"},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201 and r.json["status"] == "pending"
    pending = client.get("/api/0/organizations/acme/invite-requests/", headers=env["headers"]).json
    assert [p["email"] for p in pending] == ["friend@example.com"]


def test_comments(client, env):
    h = env["headers"]
    gid = post_event(client, h)["groupId"]
    r = client.post(f"/api/0/organizations/acme/issues/{gid}/comments/", json={"text": "looking"}, headers=h)
    assert r.status_code == 201 and r.json["type"] == "note" and r.json["data"]["text"] == "looking"
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/comments/{r.json['id']}/", json={"text": "fixed"},
                   headers=h)
    assert r.status_code == 200 and r.json["data"]["text"] == "fixed"


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]


def test_event_timestamps(client, env):
    h = env["headers"]
    for value in ("2026-11-21T07:42:10Z", "2026-11-21T07:42:10", 1795246930, 1795246930.5):
        assert post_event(client, h, timestamp=value, message=f"t {value}")["isNew"] is True
    r = client.post("/api/0/projects/acme/backend/events/", json={"message": "x", "timestamp": "yesterday"},
                    headers=h)
    assert r.status_code == 400 and "timestamp" in r.json["errors"]
    stored = db.session.scalars(select(m.Event.timestamp).order_by(m.Event.id)).all()
    assert stored[0] == stored[1] and stored[0].tzinfo is not None


def test_out_of_range_ids_are_404_not_500(client, env):
    h = env["headers"]
    for bad in ("99999999999999999999", "0", "-1", "abc", "１２"):
        assert client.get(f"/api/0/organizations/acme/issues/{bad}/", headers=h).status_code == 404
        assert client.get(f"/api/0/organizations/acme/integrations/{bad}/", headers=h).status_code == 404
    r = client.put(
        "/api/0/organizations/acme/issues/99999999999999999999/", json={"status": "resolved"}, headers=h
    )
    assert r.status_code == 404


def test_over_long_values_are_400(client, env):
    h = env["headers"]
    r = client.post("/api/0/projects/acme/backend/rules/", json={
        "name": "r", "conditions": [{"id": "every_event"}],
        "actions": [{"integrationId": str(env["tracker"].id), "channelId": "C" * 200}]}, headers=h)
    assert r.status_code == 400 and "actions" in r.json["errors"]
    r = client.post("/api/0/organizations/acme/integrations/",
                    json={"provider": "tracker", "externalId": "x" * 300, "metadata": {"base_url": "https://t"}},
                    headers=h)
    assert r.status_code == 400 and "externalId" in r.json["errors"]


@pytest.mark.parametrize("path", [
    "/api/0/organizations/acme/members/",
    "/api/0/organizations/acme/projects/",
    "/api/0/projects/acme/backend/events/",
    "/api/0/organizations/acme/integrations/",
    "/api/0/projects/acme/backend/rules/",
])
def test_deeply_nested_json_body_is_400(client, env, path):
    r = client.post(path, data=DEEP, headers={**env["headers"], "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["detail"] == "Malformed JSON body."


def test_out_of_range_cursor_is_400(client, env):
    r = client.get("/api/0/organizations/acme/issues/?cursor=0:99999999999999999999999999:0",
                   headers=env["headers"])
    assert r.status_code == 400 and "cursor" in r.json["errors"]


def test_keys_rotate_disable_and_limit(client, env, factories):
    r = client.post("/api/0/projects/acme/backend/keys/", headers=env["headers"], json={"name": "Rotated"})
    assert r.status_code == 201 and r.json["isActive"] and r.json["name"] == "Rotated"
    new = r.json
    assert new["dsn"] == f"http://{new['public']}@hub.test/{env['project'].id}"
    assert store_event(client, env, {"message": "new key"}, key=new["public"]).status_code == 200
    old = project_key(env["project"])
    r = client.put(
        f"/api/0/projects/acme/backend/keys/{old.id}/", headers=env["headers"], json={"isActive": False}
    )
    assert r.status_code == 200 and r.json["isActive"] is False
    assert store_event(client, env, {"message": "old key"}, key=old.public_key).status_code == 403
    listed = client.get("/api/0/projects/acme/backend/keys/", headers=env["headers"]).json
    assert [k["isActive"] for k in listed] == [False, True]
    for bad in ({"isActive": "no"}, {"rateLimit": {"window": "x", "count": 1}}, {"rateLimit": {"count": 1}}):
        r = client.put(f"/api/0/projects/acme/backend/keys/{old.id}/", headers=env["headers"], json=bad)
        assert r.status_code == 400, bad
    assert (
        client.put(
            "/api/0/projects/acme/backend/keys/999/", headers=env["headers"], json={"isActive": True}
        ).status_code
        == 404
    )
    member_token = factories.token(env["member"])
    assert (
        client.post(
            "/api/0/projects/acme/backend/keys/", json={}, headers={"Authorization": f"Bearer {member_token}"}
        ).status_code
        == 403
    )


def test_event_api_pages_and_refuses_bad_queries(client, env):
    ids = []
    for i in range(5):
        eid = uuid.uuid4().hex
        ids.append(eid)
        assert (
            store_event(
                client,
                env,
                {"event_id": eid, "message": "same", "timestamp": 1767225600 + i, "extra": {"i": i}},
            ).status_code
            == 200
        )
    group_id = all_groups()[0].id
    seen, url = [], f"/api/0/organizations/acme/issues/{group_id}/events/?limit=2"
    while url:
        r = client.get(url, headers=env["headers"])
        assert r.status_code == 200
        seen += [e["eventID"] for e in r.json]
        nxt = [
            part
            for part in r.headers["Link"].split(", ")
            if 'rel="next"' in part and 'results="true"' in part
        ]
        url = nxt[0].split(";")[0].strip("<>").replace("http://hub.test", "") if nxt else None
    assert seen == list(reversed(ids))
    for query in ("limit=0", "limit=x", "cursor=bad"):
        r = client.get(f"/api/0/organizations/acme/issues/{group_id}/events/?{query}", headers=env["headers"])
        assert r.status_code == 400
    base = f"/api/0/organizations/acme/issues/{group_id}/events"
    assert client.get(f"{base}/oldest/", headers=env["headers"]).json["eventID"] == ids[0]
    assert client.get(f"{base}/{ids[2]}/", headers=env["headers"]).json["context"] == {"i": 2}
    assert client.get(f"{base}/{uuid.uuid4().hex}/", headers=env["headers"]).status_code == 404
    assert client.get(f"{base}/%00/", headers=env["headers"]).status_code == 400  # the API's NUL rule


def test_event_api_is_org_scoped(client, env, factories):
    assert store_event(client, env, {"message": "secret"}).status_code == 200
    event = db.session.scalar(select(m.Event))
    other = factories.setup("other-org", "web", "someone@example.com")
    headers = other["headers"]
    for path in (
        f"/api/0/organizations/acme/issues/{event.group_id}/events/",
        f"/api/0/organizations/other-org/issues/{event.group_id}/events/",
        f"/api/0/organizations/other-org/issues/{event.group_id}/tags/",
        f"/api/0/projects/other-org/web/events/{event.event_id}/",
        f"/api/0/projects/acme/backend/events/{event.event_id}/attachments/",
    ):
        assert client.get(path, headers=headers).status_code == 404, path
    assert client.get(f"/api/0/projects/acme/backend/events/{event.event_id}/").status_code == 401


def test_rest_events_are_served_in_the_same_shape(client, env):
    r = client.post(
        "/api/0/projects/acme/backend/events/",
        headers=env["headers"],
        json={"message": "Disk full", "level": "warning", "tags": {"host": "db1"}, "release": "1.0"},
    )
    event = client.get(
        f"/api/0/projects/acme/backend/events/{r.json['eventId']}/", headers=env["headers"]
    ).json
    assert event["title"] == "Disk full" and event["level"] == "warning" and event["release"] == "1.0"
    assert {"key": "host", "value": "db1"} in event["tags"]
    assert event["entries"] == [
        {"type": "message", "data": {"formatted": "Disk full", "message": None, "params": None}}
    ]


def test_events_kept_before_this_version_are_still_served(client, env):
    r = client.post("/api/0/projects/acme/backend/events/", headers=env["headers"], json={"message": "old"})
    row = db.session.scalar(select(m.Event))
    row.data = {}
    db.session.commit()
    event = client.get(
        f"/api/0/projects/acme/backend/events/{r.json['eventId']}/", headers=env["headers"]
    ).json
    assert event["message"] == "old" and event["entries"] == []


def test_request_entry_and_openapi(client, env):
    event = {
        "message": "with request",
        "request": {
            "url": "https://shop.example.com/cart",
            "method": "POST",
            "headers": {"User-Agent": "Mozilla"},
            "data": {"q": 1},
        },
    }
    r = store_event(client, env, event)
    served = client.get(f"/api/0/projects/acme/backend/events/{r.json['id']}/", headers=env["headers"]).json
    request = next(e["data"] for e in served["entries"] if e["type"] == "request")
    assert request["url"] == "https://shop.example.com/cart" and request["headers"] == [
        ["User-Agent", "Mozilla"]
    ]
    paths = client.get("/api/0/openapi.json").json["paths"]
    for path in (
        "/api/0/organizations/{org}/issues/{id}/events/",
        "/api/0/organizations/{org}/issues/{id}/tags/",
        "/api/0/organizations/{org}/issues/{id}/events/{event_id}/",
        "/api/0/projects/{org}/{project}/events/{event_id}/",
        "/api/0/projects/{org}/{project}/events/{event_id}/attachments/",
        "/api/0/projects/{org}/{project}/keys/{key_id}/",
    ):
        assert path in paths, path
    assert "post" in paths["/api/0/projects/{org}/{project}/keys/"]


def test_cors_preflight_and_headers_default_to_any_origin(client, env):
    pid = env["project"].id
    r = client.options(
        f"/api/{pid}/envelope/",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-sentry-auth",
        },
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "x-sentry-auth" in r.headers["Access-Control-Allow-Headers"]
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    r = store_event(client, env, {"message": "from a browser"}, headers={"Origin": "https://app.example.com"})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "retry-after" in r.headers["Access-Control-Expose-Headers"]


def test_per_project_allowed_origins(client, env):
    r = client.put(
        "/api/0/projects/acme/backend/",
        headers=env["headers"],
        json={"allowedDomains": ["https://shop.example.com", "*.example.org"]},
    )
    assert r.status_code == 200 and r.json["allowedDomains"] == ["https://shop.example.com", "*.example.org"]
    for origin, ok in (
        ("https://shop.example.com", True),
        ("https://a.example.org", True),
        ("https://evil.example", False),
        ("http://shop.example.com", False),
    ):
        r = store_event(client, env, {"message": origin}, headers={"Origin": origin})
        assert r.status_code == (200 if ok else 403), origin
        assert (r.headers.get("Access-Control-Allow-Origin") == origin) is ok
    pre = client.options(f"/api/{env['project'].id}/store/", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in pre.headers
    assert db.session.scalar(select(func.count()).select_from(m.Event)) == 2
    assert (
        client.put(
            "/api/0/projects/acme/backend/", headers=env["headers"], json={"allowedDomains": "x"}
        ).status_code
        == 400
    )


@pytest.mark.parametrize("count", [32])
def test_identical_concurrent_envelopes_have_one_effect(app, env, count):
    """32 threads post the same envelope at once: one event, one attachment, the issue counted once."""
    import threading

    key = project_key(env["project"]).public_key
    eid = uuid.uuid4().hex
    body = (
        json.dumps({"event_id": eid}) + '\n{"type":"event"}\n{"message":"race"}\n'
        '{"type":"attachment","filename":"f.txt"}\nabc\n'
    ).encode()
    statuses: list[int] = []

    def post():
        with app.test_client() as c:
            statuses.append(
                c.post(f"/api/{env['project'].id}/envelope/?sentry_key={key}", data=body).status_code
            )

    threads = [threading.Thread(target=post) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [200] * count
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(m.Event)) == 1
    assert db.session.scalar(select(func.count()).select_from(m.EventAttachment)) == 1
    assert db.session.scalar(select(m.Group.times_seen)) == 1


def test_the_deliveries_api_is_for_owners_and_admins_of_the_org(client, signed, run_jobs, factories):
    post(client, {"delivery": "a", "key": "APP-1", "state": "closed", "updated_ms": 2})
    run_jobs()
    r = client.get("/api/0/organizations/acme/deliveries/?ticket=APP-1", headers=signed["headers"])
    assert r.status_code == 200 and [d["state"] for d in r.json] == ["applied"]
    assert r.json[0]["changes"][0]["state"] == "applied"
    assert (
        client.get("/api/0/organizations/acme/deliveries/?ticket=NOPE-1", headers=signed["headers"]).json
        == []
    )
    delivery_id = r.json[0]["id"]
    member = {"Authorization": f"Bearer {factories.token(signed['member'])}"}
    assert client.get("/api/0/organizations/acme/deliveries/", headers=member).status_code == 403
    other = factories.setup("globex", email="g@example.com")
    r = client.get(f"/api/0/organizations/globex/deliveries/{delivery_id}/", headers=other["headers"])
    assert r.status_code == 404
    r = client.post(f"/api/0/organizations/acme/deliveries/{delivery_id}/replay/", headers=signed["headers"])
    assert r.status_code == 200 and r.json["changes"][0]["state"] in ("applied", "skipped")
    assert (
        client.get("/api/0/organizations/acme/deliveries/?limit=zero", headers=signed["headers"]).status_code
        == 400
    )


def _conforms(client: Any, response: Any) -> None:
    """The response matches the hub's own OpenAPI document (status, content type and body schema)."""
    from openapi_core import OpenAPI
    from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse

    spec = {**client.get("/api/0/openapi.json").json, "servers": [{"url": "http://localhost"}]}
    OpenAPI.from_dict(spec).validate_response(
        WerkzeugOpenAPIRequest(response.request), WerkzeugOpenAPIResponse(response)
    )


def test_served_events_and_attachments_match_the_openapi_document(client, env):
    key = project_key(env["project"]).public_key
    event_id = uuid.uuid4().hex
    event = {"event_id": event_id, "message": "documented", "modules": {"flask": "3.0"}}
    body = b"\n".join([
        json.dumps({"event_id": event_id}).encode(),
        json.dumps({"type": "event"}).encode(), json.dumps(event).encode(),
        json.dumps({"type": "attachment", "filename": "a.txt", "length": 3}).encode(), b"abc",
    ])
    r = client.post(f"/api/{env['project'].id}/envelope/?sentry_key={key}", data=body)
    assert r.status_code == 200
    served = client.get(f"/api/0/projects/acme/backend/events/{event_id}/", headers=env["headers"])
    assert served.json["packages"] == {"flask": "3.0"} and served.json["errors"] == []
    _conforms(client, served)
    group_id = served.json["groupID"]
    for path in (f"/api/0/organizations/acme/issues/{group_id}/events/",
                 f"/api/0/organizations/acme/issues/{group_id}/events/latest/",
                 f"/api/0/projects/acme/backend/events/{event_id}/attachments/"):
        _conforms(client, client.get(path, headers=env["headers"]))


def test_listed_keys_carry_their_name_and_rate_limit(client, env):
    r = client.post("/api/0/projects/acme/backend/keys/", headers=env["headers"],
                    json={"name": "Browser", "rateLimit": {"window": 60, "count": 10}})
    assert r.status_code == 201
    listed = client.get("/api/0/projects/acme/backend/keys/", headers=env["headers"])
    assert [(k["name"], k["rateLimit"]) for k in listed.json] == [
        (project_key(env["project"]).name, None), ("Browser", {"window": 60, "count": 10})]
    assert listed.json[1] == r.json  # the list shows each key as PUT and POST answer it
    _conforms(client, listed)


def test_the_attachments_of_an_event_that_does_not_exist_are_404(client, env):
    key = project_key(env["project"]).public_key
    event_id = uuid.uuid4().hex  # an envelope with an attachment and no event: Sentry's API has no such event
    body = b"\n".join([json.dumps({"event_id": event_id}).encode(),
                       json.dumps({"type": "attachment", "filename": "a.txt", "length": 3}).encode(), b"abc"])
    assert client.post(f"/api/{env['project'].id}/envelope/?sentry_key={key}", data=body).status_code == 200
    for unknown in (event_id, uuid.uuid4().hex):
        r = client.get(f"/api/0/projects/acme/backend/events/{unknown}/attachments/", headers=env["headers"])
        assert r.status_code == 404 and r.json["detail"] == "The requested resource does not exist."


@pytest.mark.parametrize("limit", ["0", "-5", "501", "100000"])
def test_a_deliveries_limit_out_of_its_range_is_400(client, signed, limit):
    """Out of range was clamped silently while "abc" got "Must be a number from 1 to 500"."""
    r = client.get(f"/api/0/organizations/acme/deliveries/?limit={limit}", headers=signed["headers"])
    assert r.status_code == 400 and r.json["errors"] == {"limit": ["Must be a number from 1 to 500."]}


def test_a_request_entry_serves_query_and_cookies_as_pairs_like_headers(client, env):
    """Relay parses ``query_string`` and ``cookies`` (a string or an object) into pairs, as Sentry's API
    serves them: the SDKs send ``"a=1&b=2"`` and ``{"session": "x"}`` or ``"session=x; theme=dark"``."""
    shapes = [("a=1&b=&c=%20x", "session=x; theme=dark", [["a", "1"], ["b", ""], ["c", " x"]],
               [["session", "x"], ["theme", "dark"]]),
              ({"a": "1"}, {"session": "x"}, [["a", "1"]], [["session", "x"]]),
              ([["a", "1"]], [["session", "x"]], [["a", "1"]], [["session", "x"]])]
    for query, cookies, want_query, want_cookies in shapes:
        event = {"message": "req", "request": {"url": "https://shop.example.com/", "query_string": query,
                                               "cookies": cookies}}
        r = store_event(client, env, event)
        path = f"/api/0/projects/acme/backend/events/{r.json['id']}/"
        served = client.get(path, headers=env["headers"]).json
        request = next(e["data"] for e in served["entries"] if e["type"] == "request")
        assert (request["query"], request["cookies"]) == (want_query, want_cookies), query


def test_a_browser_request_with_only_a_referer_is_checked_against_the_allowed_origins(client, env):
    """As Sentry and Relay: no Origin (or the privacy "null") → the Referer's scheme://host[:port] is the
    origin, allowed or refused like an Origin, on both SDK endpoints."""
    client.put("/api/0/projects/acme/backend/", headers=env["headers"],
               json={"allowedDomains": ["https://shop.example.com", "*.example.org", "http://localhost:3000"]})
    pid, key = env["project"].id, project_key(env["project"]).public_key
    envelope = b'{}\n{"type": "event"}\n{"message": "from an envelope"}\n'
    for headers, ok in (
        ({"Referer": "https://shop.example.com/checkout?step=2#pay"}, True),
        ({"Referer": "https://shop.example.com:443/"}, True),
        ({"Referer": "https://a.example.org/"}, True),
        ({"Referer": "http://localhost:3000/dev"}, True),
        ({"Origin": "null", "Referer": "https://a.example.org/"}, True),
        ({"Referer": "https://evil.example/shop.example.com"}, False),
        ({"Referer": "https://shop.example.com:8443/"}, False),
        ({"Referer": "http://shop.example.com/"}, False),
        ({"Origin": "null", "Referer": "https://evil.example/"}, False),
        ({"Origin": "https://shop.example.com", "Referer": "https://evil.example/"}, True),  # Origin first
    ):
        for r in (store_event(client, env, {"message": "x"}, headers=headers),
                  client.post(f"/api/{pid}/envelope/?sentry_key={key}", data=envelope, headers=headers)):
            assert r.status_code == (200 if ok else 403), (headers, r.json)
            if not ok:
                origin = headers["Referer"].split("/")[0] + "//" + headers["Referer"].split("/")[2]
                why = f"{origin} is not an allowed origin of this project."
                assert r.json == {"detail": "Invalid origin.", "errors": {"origin": [why]}}
                assert r.headers["X-Sentry-Error"] == "Invalid origin."
    assert db.session.scalar(select(func.count()).select_from(m.Event)) == 12  # only the allowed ones


def test_one_key_is_served_as_the_list_shows_it_to_whoever_may_list_them(client, env, factories):
    r = client.post("/api/0/projects/acme/backend/keys/", headers=env["headers"],
                    json={"name": "Browser", "rateLimit": {"window": 60, "count": 10}})
    listed = client.get("/api/0/projects/acme/backend/keys/", headers=env["headers"]).json
    member = {"Authorization": f"Bearer {factories.token(env['member'])}"}
    for key in listed:
        for headers in (env["headers"], member):
            one = client.get(f"/api/0/projects/acme/backend/keys/{key['id']}/", headers=headers)
            assert one.status_code == 200 and one.json == key
    assert listed[1] == r.json
    one = client.get(f"/api/0/projects/acme/backend/keys/{r.json['id']}/", headers=env["headers"])
    _conforms(client, one)
    other = factories.setup("globex", email="g@example.com")
    for path, headers in ((f"/api/0/projects/acme/backend/keys/{r.json['id']}/", other["headers"]),
                          (f"/api/0/projects/globex/{other['project'].slug}/keys/{r.json['id']}/",
                           other["headers"]),  # not that project's key
                          ("/api/0/projects/acme/backend/keys/999/", env["headers"]),
                          ("/api/0/projects/acme/backend/keys/nope/", env["headers"])):
        missing = client.get(path, headers=headers)
        assert missing.status_code == 404
        assert missing.json["detail"] == "The requested resource does not exist."
    assert client.get(f"/api/0/projects/acme/backend/keys/{r.json['id']}/").status_code == 401
    paths = client.get("/api/0/openapi.json").json["paths"]["/api/0/projects/{org}/{project}/keys/{key_id}/"]
    assert {"get", "put", "delete"} <= set(paths) and "204" in paths["delete"]["responses"]


def test_a_deleted_key_stops_authenticating_and_only_admins_delete_one(client, env, factories):
    new = client.post("/api/0/projects/acme/backend/keys/", headers=env["headers"], json={"name": "New"}).json
    old = project_key(env["project"])
    assert store_event(client, env, {"message": "before"}, key=old.public_key).status_code == 200
    url = f"/api/0/projects/acme/backend/keys/{old.id}/"
    member = {"Authorization": f"Bearer {factories.token(env['member'])}"}
    assert client.delete(url, headers=member).status_code == 403

    r = client.delete(url, headers=env["headers"])

    assert r.status_code == 204 and r.get_data() == b""
    r = store_event(client, env, {"message": "after"}, key=old.public_key)
    assert r.status_code == 401 and r.json["detail"] == "Invalid DSN key for this project."
    envelope = b'{}\n{"type": "event"}\n{"message": "after"}\n'
    assert client.post(f"/api/{env['project'].id}/envelope/?sentry_key={old.public_key}",
                       data=envelope).status_code == 401
    assert store_event(client, env, {"message": "new key"}, key=new["public"]).status_code == 200
    listed = client.get("/api/0/projects/acme/backend/keys/", headers=env["headers"]).json
    assert [k["id"] for k in listed] == [new["id"]]
    assert client.get(url, headers=env["headers"]).status_code == 404
    assert client.delete(url, headers=env["headers"]).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(m.Event)) == 2


def test_an_issues_count_is_served_as_a_string_as_sentry_and_the_openapi_document_say(client, env):
    h = env["headers"]
    first = post_event(client, h, event_id="a" * 32, culprit="app.views")
    post_event(client, h, event_id="b" * 32, culprit="app.views")
    url = f"/api/0/organizations/acme/issues/{first['groupId']}/"
    one = client.get(url, headers=h)
    assert one.json["count"] == "2"
    listed = client.get("/api/0/organizations/acme/issues/", headers=h)
    assert [i["count"] for i in listed.json] == ["2"]
    changed = client.put(url, headers=h, json={"status": "resolved"})
    assert changed.json["count"] == "2"
    for response in (one, listed):
        _conforms(client, response)
    schema = client.get("/api/0/openapi.json").json["components"]["schemas"]["IssueOut"]
    assert schema["properties"]["count"]["type"] == "string"
