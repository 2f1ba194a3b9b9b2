"""The fast ingest path (issue 13 item 9) keeps every guarantee: against a real gunicorn (-w 2 --threads 4)
a disabled key is refused at once by every process, concurrent events of a new issue make one issue, one
``first_seen`` and one alert, a resolved issue regresses once, and an acknowledged event is readable at once.
Also: the statements one event costs, and the size bound that spares measuring small events.
"""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from hub import models as m
from hub import normalize
from hub.extensions import db
from tests.support.live import at_once, gunicorn

N = 32


def _key(project: Any) -> str:
    return db.session.scalar(select(m.ProjectKey.public_key).where(m.ProjectKey.project_id == project.id))


def _envelope(event_body: dict[str, Any]) -> bytes:
    payload = json.dumps(event_body).encode()
    header = json.dumps({"event_id": event_body.get("event_id")}).encode()
    return gzip.compress(header + b"\n" + json.dumps({"type": "event", "length": len(payload)}).encode()
                         + b"\n" + payload + b"\n")


def _event(value: str = "boom", **extra: Any) -> dict[str, Any]:
    frames = [{"module": "shop.views", "function": "checkout", "lineno": 10, "in_app": True}]
    return {"event_id": uuid.uuid4().hex, "release": "shop@1.0", "environment": "production",
            "exception": {"values": [{"type": "KeyError", "value": value, "stacktrace": {"frames": frames}}]},
            **extra}


def _count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def live(env: Any, app: Any, hub_database_url: str, hub_redis_url: str, tmp_path: Any) -> Any:
    """acme/backend's ids and a gunicorn serving it (``url``)."""
    ids = {"pid": env["project"].id, "key": _key(env["project"]), "tracker": env["tracker"].id,
           "headers": env["headers"]}
    db.session.commit()
    db.session.remove()
    with gunicorn(hub_database_url, hub_redis_url, str(tmp_path / "live-instance")) as url:
        yield {**ids, "url": url}


def _post(live: dict[str, Any], body: bytes) -> requests.Response:
    return requests.post(f"{live['url']}/api/{live['pid']}/envelope/?sentry_key={live['key']}", data=body,
                         timeout=60, headers={"Content-Encoding": "gzip"})


def test_a_disabled_key_is_refused_at_once_by_every_process(live):
    assert all(_post(live, _envelope(_event())).status_code == 200 for _ in range(8))
    key_id = db.session.scalar(select(m.ProjectKey.id).where(m.ProjectKey.public_key == live["key"]))
    r = requests.put(f"{live['url']}/api/0/projects/acme/backend/keys/{key_id}/", json={"isActive": False},
                     headers=live["headers"], timeout=30)
    assert r.status_code == 200 and r.json()["isActive"] is False

    codes = [_post(live, _envelope(_event())).status_code for _ in range(16)]  # both workers

    assert codes == [403] * 16
    assert _count(m.Event) == 8
    assert requests.put(f"{live['url']}/api/0/projects/acme/backend/keys/{key_id}/", json={"isActive": True},
                        headers=live["headers"], timeout=30).status_code == 200
    assert _post(live, _envelope(_event())).status_code == 200


def test_concurrent_events_of_a_new_issue_make_one_issue_one_first_seen_and_one_alert(live):
    rules = f"{live['url']}/api/0/projects/acme/backend/rules/"
    r = requests.post(rules, headers=live["headers"], timeout=30, json={
        "name": "new", "conditions": [{"id": "first_seen_event"}],
        "actions": [{"integrationId": str(live["tracker"]), "channelId": "C1"}]})
    assert r.status_code == 201
    bodies = [_envelope(_event(f"'user_{i}'")) for i in range(N)]
    nexts = iter(bodies)

    responses = at_once(N, lambda: _post(live, next(nexts)))

    assert [r.status_code for r in responses] == [200] * N
    assert _count(m.Group) == 1 and _count(m.Event) == N
    group = db.session.scalar(select(m.Group))
    assert group.times_seen == N
    assert _count(m.Activity, m.Activity.type == "first_seen") == 1
    assert _count(m.OutboxEntry, m.OutboxEntry.kind == "notify_issue_alert") == 1
    assert _count(m.Release) == 1 and _count(m.Environment) == 1
    # acknowledged means stored: every event is served right away
    for resp in responses[:4]:
        got = requests.get(f"{live['url']}/api/0/projects/acme/backend/events/{resp.json()['id']}/",
                           headers=live["headers"], timeout=30)
        assert got.status_code == 200 and got.json()["eventID"] == resp.json()["id"]


def test_concurrent_events_regress_a_resolved_issue_once(live):
    first = _post(live, _envelope(_event()))
    assert first.status_code == 200
    group_id = db.session.scalar(select(m.Group.id))
    issue = f"{live['url']}/api/0/organizations/acme/issues/{group_id}/"
    r = requests.put(issue, json={"status": "resolved"},
                     headers=live["headers"], timeout=30)
    assert r.status_code == 200
    bodies = iter([_envelope(_event(f"'user_{i}'")) for i in range(N)])

    responses = at_once(N, lambda: _post(live, next(bodies)))

    assert [r.status_code for r in responses] == [200] * N
    db.session.expire_all()
    group = db.session.get(m.Group, group_id)
    assert group.status == "unresolved" and group.times_seen == N + 1
    assert _count(m.Activity, m.Activity.type == "set_regression") == 1


def test_identical_concurrent_envelopes_to_gunicorn_store_one_event(live):
    body = _envelope(_event())

    responses = at_once(N, lambda: _post(live, body))

    assert [r.status_code for r in responses] == [200] * N
    assert len({r.json()["id"] for r in responses}) == 1
    assert _count(m.Event) == 1
    assert db.session.scalar(select(m.Group.times_seen)) == 1


def test_events_are_stored_when_redis_is_down(make_app):
    app = make_app(HUB_REDIS_URL="redis://127.0.0.1:1/0", HUB_SDK_RATE_LIMIT=5)
    client = app.test_client()
    with app.app_context():
        from hub.members import create_project

        org = m.Organization(slug="down", name="Down")
        db.session.add(org)
        db.session.flush()
        project = create_project(org, "p", "p")
        db.session.commit()
        key = _key(project)
        for _ in range(8):  # over the rate limit too: without Redis nothing is limited, nothing lost
            r = client.post(f"/api/{project.id}/envelope/?sentry_key={key}", data=_envelope(_event()),
                            headers={"Content-Encoding": "gzip"})
            assert r.status_code == 200
        assert _count(m.Event) == 8


def test_an_event_of_a_known_issue_costs_four_statements_and_one_commit(app, client, env):
    key = _key(env["project"])
    url = f"/api/{env['project'].id}/envelope/?sentry_key={key}"
    assert client.post(url, data=_envelope(_event()), headers={"Content-Encoding": "gzip"}).status_code == 200
    statements: list[str] = []
    commits: list[int] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", lambda conn: commits.append(1))
    try:
        r = client.post(url, data=_envelope(_event("other value")), headers={"Content-Encoding": "gzip"})
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    assert r.status_code == 200
    # the key and its project; the issue, release, environment and rules; the event; the counter
    assert statements == ["SELECT", "SELECT", "INSERT", "UPDATE"], statements
    assert len(commits) == 1
    assert _count(m.Event) == 2 and db.session.scalar(select(m.Group.times_seen)) == 2


def _stored_size(event_body: dict[str, Any]) -> int:
    out = normalize.normalize(event_body)
    out.pop("_meta", None)  # what _fit measures
    return len(json.dumps(out, separators=(",", ":")).encode())


ADDED = 512  # what normalizing adds to any event: event_id, received, timestamp, platform, type, tags


def test_normalizing_grows_adversarial_json_less_than_the_bound():
    """Floats an SDK writes short (``1e15``), booleans as strings, UTF-8 as \\u escapes, tags as pairs."""
    big = 1e15  # 4 characters in the source, 18 written out
    frames = [{k: big for k in normalize.FRAME_STRINGS} | {"vars": {"a": big, "b": [big, "😀é"]}}] * 300
    worst = {
        "message": "😀" * 2000, "logger": True, "server_name": big, "culprit": "é" * 150,
        "tags": {str(i): big for i in range(150)}, "extra": {str(i): [big, "😀"] for i in range(150)},
        "exception": {"values": [{"type": big, "value": "😀" * 3000, "stacktrace": {"frames": frames}}]},
        "breadcrumbs": [{"message": big, "timestamp": 1e9, "category": True} for _ in range(100)],
    }
    source = json.dumps(worst, ensure_ascii=False, separators=(",", ":"))
    source = source.replace("1000000000000000.0", "1e15")
    assert "1e15" in source
    size = _stored_size(json.loads(source))
    assert size > 1.5 * len(source.encode())  # it does grow
    assert size <= normalize.MAX_GROWTH * len(source.encode()) + ADDED


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.integers()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields=st.dictionaries(
        st.sampled_from(["message", "logger", "platform", "release", "environment", "server_name", "culprit",
                         "transaction", "dist", "extra", "contexts", "user", "request", "tags", "sdk"]),
        json_values, max_size=8),
    frame=st.dictionaries(st.sampled_from([*normalize.FRAME_STRINGS, "vars", "lineno", "pre_context"]),
                          json_values, max_size=6),
)
def test_normalizing_any_json_grows_it_less_than_the_bound(fields, frame):
    body = dict(fields)
    body["exception"] = {"values": [{"type": "E", "stacktrace": {"frames": [frame, frame]}}]}
    try:
        size = _stored_size(body)
    except normalize.EventError:
        return  # refused (a 400): nothing is stored
    source = len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    assert size <= normalize.MAX_GROWTH * source + ADDED
