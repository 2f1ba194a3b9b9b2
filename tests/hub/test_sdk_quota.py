"""SDK rate limits (hub/sdk_quota.py): a key's limit and the project default answer 429 as Sentry does."""

from __future__ import annotations

from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db
from tests.support.sdk import project_key, store_event


def test_key_rate_limit_answers_429_as_sentry_does(client, env):
    key = project_key(env["project"])
    r = client.put(
        f"/api/0/projects/acme/backend/keys/{key.id}/",
        headers=env["headers"],
        json={"rateLimit": {"window": 60, "count": 2}},
    )
    assert r.json["rateLimit"] == {"window": 60, "count": 2}
    assert [store_event(client, env, {"message": str(i)}).status_code for i in range(3)] == [200, 200, 429]
    r = store_event(client, env, {"message": "more"})
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.headers["X-Sentry-Rate-Limits"].endswith(":error;default;security:key")
    session = b'{}\n{"type":"session"}\n{"sid":"x","status":"ok"}\n'
    assert (
        client.post(
            f"/api/{env['project'].id}/envelope/?sentry_key={key.public_key}", data=session
        ).status_code
        == 200
    )
    assert db.session.scalar(select(func.count()).select_from(m.Event)) == 2
    client.put(
        f"/api/0/projects/acme/backend/keys/{key.id}/", headers=env["headers"], json={"rateLimit": None}
    )
    assert store_event(client, env, {"message": "free again"}).status_code == 200


def test_default_project_rate_limit_from_the_environment(make_app):
    app = make_app(HUB_SDK_RATE_LIMIT=1)
    client = app.test_client()
    with app.app_context():
        from hub.members import create_project

        org = m.Organization(slug="rl", name="Rl")
        db.session.add(org)
        db.session.flush()
        project = create_project(org, "p", "p")
        db.session.commit()
        key = project_key(project).public_key
        body = b'{}\n{"type":"event"}\n{"message":"e"}\n'
        statuses = [client.post(f"/api/{project.id}/envelope/?sentry_key={key}", data=body) for _ in range(2)]
        assert [r.status_code for r in statuses] == [200, 429]
        assert statuses[1].headers["X-Sentry-Rate-Limits"].endswith(":project")


def _limit(client, env, key_id: int, count: int) -> None:
    r = client.put(f"/api/0/projects/acme/backend/keys/{key_id}/", headers=env["headers"],
                   json={"rateLimit": {"window": 3600, "count": count}})
    assert r.status_code == 200, r.json


def test_refused_events_do_not_use_up_the_quota(client, env):
    """Events refused as malformed (a 400) are not counted: the next good ones are stored."""
    key = project_key(env["project"])
    _limit(client, env, key.id, 2)
    broken = b'{}\n{"type":"event"}\n{"exception":{"values":"not a list"}}\n'
    for _ in range(3):
        r = client.post(f"/api/{env['project'].id}/envelope/?sentry_key={key.public_key}", data=broken)
        assert r.status_code == 400, r.json
    assert store_event(client, env, {"exception": {"values": "not a list"}}).status_code == 400
    assert [store_event(client, env, {"message": str(i)}).status_code for i in range(3)] == [200, 200, 429]


def test_a_new_key_does_not_inherit_a_deleted_keys_count(client, env):
    """SQLite gives a new key the id of the last one deleted: its counter is its own all the same."""
    url = "/api/0/projects/acme/backend/keys/"
    first = client.post(url, headers=env["headers"], json={"name": "A"}).json
    _limit(client, env, first["id"], 1)
    assert [store_event(client, env, {"message": str(i)}, key=first["public"]).status_code
            for i in range(2)] == [200, 429]
    assert client.delete(f"{url}{first['id']}/", headers=env["headers"]).status_code == 204
    second = client.post(url, headers=env["headers"], json={"name": "B"}).json
    _limit(client, env, second["id"], 1)
    assert store_event(client, env, {"message": "first of B"}, key=second["public"]).status_code == 200
