"""Which issue an event joins (hub/grouping.py): exception values, system frames, message templates,
fingerprints, and issues grouped by the first version.
"""

from __future__ import annotations

from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from hub.grouping import fingerprint_hash


def _key(project) -> m.ProjectKey:
    return db.session.scalar(
        select(m.ProjectKey).where(m.ProjectKey.project_id == project.id).order_by(m.ProjectKey.id)
    )


def _store(client, env, event: dict, key: str | None = None, headers: dict | None = None):
    key = key or _key(env["project"]).public_key
    return client.post(f"/api/{env['project'].id}/store/?sentry_key={key}", json=event, headers=headers or {})


def _groups() -> list[m.Group]:
    db.session.expire_all()
    return list(db.session.scalars(select(m.Group).order_by(m.Group.id)))


def _key_error(value: str, line_module: str = "shop.views") -> dict:
    return {
        "exception": {
            "values": [
                {
                    "type": "KeyError",
                    "value": value,
                    "stacktrace": {
                        "frames": [
                            {
                                "module": "django.core.handlers",
                                "function": "dispatch",
                                "in_app": False,
                                "lineno": 10,
                            },
                            {"module": line_module, "function": "checkout", "in_app": True, "lineno": 42},
                        ]
                    },
                }
            ]
        }
    }


def test_exception_values_do_not_split_an_issue(client, env):
    assert _store(client, env, _key_error("'user_17'")).status_code == 200
    assert _store(client, env, _key_error("'user_42'")).status_code == 200
    assert _store(client, env, _key_error("'user_42'", line_module="shop.cart")).status_code == 200
    groups = _groups()
    assert [g.times_seen for g in groups] == [2, 1]
    assert groups[0].title == "KeyError: 'user_17'"


def test_system_frames_group_when_no_frame_is_in_app(client, env):
    def event(value, function):
        return {
            "exception": {
                "values": [
                    {
                        "type": "E",
                        "value": value,
                        "stacktrace": {"frames": [{"filename": "lib.js", "function": function}]},
                    }
                ]
            }
        }

    for value, function in (("a", "f"), ("b", "f"), ("c", "g")):
        assert _store(client, env, event(value, function)).status_code == 200
    assert [g.times_seen for g in _groups()] == [2, 1]


def test_messages_group_by_their_template(client, env):
    for name in ("alice", "bob"):
        r = _store(client, env, {"logentry": {"message": "Login failed for %s", "params": [name]}})
        assert r.status_code == 200
    assert _store(client, env, {"message": "Something else"}).status_code == 200
    groups = _groups()
    assert [g.times_seen for g in groups] == [2, 1]
    assert groups[0].title == "Login failed for alice"


def test_fingerprints_with_and_without_default(client, env):
    for tenant in ("a", "b", "a"):
        event = {**_key_error(f"'{tenant}'"), "fingerprint": ["{{ default }}", f"tenant-{tenant}"]}
        assert _store(client, env, event).status_code == 200
    for message in ("one", "two"):
        assert _store(client, env, {"message": message, "fingerprint": ["my-group"]}).status_code == 200
    assert [g.times_seen for g in _groups()] == [2, 1, 2]


def test_issues_grouped_by_the_first_version_keep_their_events(client, env):
    """An issue made before grouping version 2 (hash of message and culprit) still receives its events."""
    old = m.Group(
        organization_id=env["org"].id,
        project_id=env["project"].id,
        short_number=99,
        fingerprint=fingerprint_hash(["KeyError: 'user_17'", "shop.views in checkout"]),
        title="KeyError: 'user_17'",
        culprit="shop.views in checkout",
        level="error",
        status="unresolved",
        status_details={},
        times_seen=5,
    )
    db.session.add(old)
    db.session.commit()
    assert _store(client, env, _key_error("'user_17'")).status_code == 200
    groups = _groups()
    assert len(groups) == 1 and groups[0].times_seen == 6
    r = client.post(
        "/api/0/projects/acme/backend/events/",
        headers=env["headers"],
        json={"message": "KeyError: 'user_17'", "culprit": "shop.views in checkout"},
    )
    assert r.status_code == 201 and r.json["groupId"] == str(old.id)
