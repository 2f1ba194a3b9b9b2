"""The fast ingest path (issue 13 item 9) keeps every guarantee: against a real gunicorn (-w 2 --threads 4)
a disabled key is refused at once by every process, concurrent events of a new issue make one issue, one
``first_seen`` and one alert, a resolved issue regresses once, and an acknowledged event is readable at once.
Also: the statements one event costs, and the size bound that spares measuring small events.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from tests.support.live import at_once, gunicorn
from tests.support.sdk import _count, gzip_envelope, public_key, sdk_event

N = 32


@pytest.fixture
def live(env: Any, app: Any, hub_database_url: str, hub_redis_url: str, tmp_path: Any) -> Any:
    """acme/backend's ids and a gunicorn serving it (``url``)."""
    ids = {"pid": env["project"].id, "key": public_key(env["project"]), "tracker": env["tracker"].id,
           "headers": env["headers"]}
    db.session.commit()
    db.session.remove()
    with gunicorn(hub_database_url, hub_redis_url, str(tmp_path / "live-instance")) as url:
        yield {**ids, "url": url}


def _post(live: dict[str, Any], body: bytes) -> requests.Response:
    return requests.post(f"{live['url']}/api/{live['pid']}/envelope/?sentry_key={live['key']}", data=body,
                         timeout=60, headers={"Content-Encoding": "gzip"})


def test_a_disabled_key_is_refused_at_once_by_every_process(live):
    assert all(_post(live, gzip_envelope(sdk_event())).status_code == 200 for _ in range(8))
    key_id = db.session.scalar(select(m.ProjectKey.id).where(m.ProjectKey.public_key == live["key"]))
    r = requests.put(f"{live['url']}/api/0/projects/acme/backend/keys/{key_id}/", json={"isActive": False},
                     headers=live["headers"], timeout=30)
    assert r.status_code == 200 and r.json()["isActive"] is False

    codes = [_post(live, gzip_envelope(sdk_event())).status_code for _ in range(16)]  # both workers

    assert codes == [403] * 16
    assert _count(m.Event) == 8
    assert requests.put(f"{live['url']}/api/0/projects/acme/backend/keys/{key_id}/", json={"isActive": True},
                        headers=live["headers"], timeout=30).status_code == 200
    assert _post(live, gzip_envelope(sdk_event())).status_code == 200


def test_concurrent_events_of_a_new_issue_make_one_issue_one_first_seen_and_one_alert(live):
    rules = f"{live['url']}/api/0/projects/acme/backend/rules/"
    r = requests.post(rules, headers=live["headers"], timeout=30, json={
        "name": "new", "conditions": [{"id": "first_seen_event"}],
        "actions": [{"integrationId": str(live["tracker"]), "channelId": "C1"}]})
    assert r.status_code == 201
    bodies = [gzip_envelope(sdk_event(f"'user_{i}'")) for i in range(N)]
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
    first = _post(live, gzip_envelope(sdk_event()))
    assert first.status_code == 200
    group_id = db.session.scalar(select(m.Group.id))
    issue = f"{live['url']}/api/0/organizations/acme/issues/{group_id}/"
    r = requests.put(issue, json={"status": "resolved"},
                     headers=live["headers"], timeout=30)
    assert r.status_code == 200
    bodies = iter([gzip_envelope(sdk_event(f"'user_{i}'")) for i in range(N)])

    responses = at_once(N, lambda: _post(live, next(bodies)))

    assert [r.status_code for r in responses] == [200] * N
    db.session.expire_all()
    group = db.session.get(m.Group, group_id)
    assert group.status == "unresolved" and group.times_seen == N + 1
    assert _count(m.Activity, m.Activity.type == "set_regression") == 1


def test_identical_concurrent_envelopes_to_gunicorn_store_one_event(live):
    body = gzip_envelope(sdk_event())

    responses = at_once(N, lambda: _post(live, body))

    assert [r.status_code for r in responses] == [200] * N
    assert len({r.json()["id"] for r in responses}) == 1
    assert _count(m.Event) == 1
    assert db.session.scalar(select(m.Group.times_seen)) == 1
