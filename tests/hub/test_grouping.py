"""Which issue an event joins (hub/grouping.py): exception values, system frames, message templates,
fingerprints, and issues grouped by the first version.
"""

from __future__ import annotations

from hub import models as m
from hub.extensions import db
from hub.grouping import fingerprint_hash
from tests.support.sdk import all_groups, store_event


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
    assert store_event(client, env, _key_error("'user_17'")).status_code == 200
    assert store_event(client, env, _key_error("'user_42'")).status_code == 200
    assert store_event(client, env, _key_error("'user_42'", line_module="shop.cart")).status_code == 200
    groups = all_groups()
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
        assert store_event(client, env, event(value, function)).status_code == 200
    assert [g.times_seen for g in all_groups()] == [2, 1]


def test_messages_group_by_their_template(client, env):
    for name in ("alice", "bob"):
        r = store_event(client, env, {"logentry": {"message": "Login failed for %s", "params": [name]}})
        assert r.status_code == 200
    assert store_event(client, env, {"message": "Something else"}).status_code == 200
    groups = all_groups()
    assert [g.times_seen for g in groups] == [2, 1]
    assert groups[0].title == "Login failed for alice"


def test_fingerprints_with_and_without_default(client, env):
    for tenant in ("a", "b", "a"):
        event = {**_key_error(f"'{tenant}'"), "fingerprint": ["{{ default }}", f"tenant-{tenant}"]}
        assert store_event(client, env, event).status_code == 200
    for message in ("one", "two"):
        assert store_event(client, env, {"message": message, "fingerprint": ["my-group"]}).status_code == 200
    assert [g.times_seen for g in all_groups()] == [2, 1, 2]


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
    assert store_event(client, env, _key_error("'user_17'")).status_code == 200
    groups = all_groups()
    assert len(groups) == 1 and groups[0].times_seen == 6
    r = client.post(
        "/api/0/projects/acme/backend/events/",
        headers=env["headers"],
        json={"message": "KeyError: 'user_17'", "culprit": "shop.views in checkout"},
    )
    assert r.status_code == 201 and r.json["groupId"] == str(old.id)


def test_the_default_placeholder_is_read_with_or_without_its_spaces(client, env):
    """``{{default}}`` and ``{{ default }}`` are the same placeholder, as Sentry reads them."""
    for spelling in ("{{ default }}", "{{default}}", "{{ Default}}"):
        event = {**_key_error("'x'"), "fingerprint": [spelling, "tenant-1"]}
        assert store_event(client, env, event).status_code == 200
    assert [g.times_seen for g in all_groups()] == [3]
