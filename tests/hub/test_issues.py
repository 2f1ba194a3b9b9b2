"""The one way an issue's status changes (hub/issues.py): a resolution in a release is checked before
anything is written.
"""

from __future__ import annotations

from tests.hub.conftest import post_event


def _status(client, env, gid):
    return client.get(f"/api/0/organizations/acme/issues/{gid}/", headers=env["headers"]).json["status"]


def test_release_details_need_a_resolution(client, env):
    gid = post_event(client, env["headers"])["groupId"]
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/",
                   json={"status": "ignored", "statusDetails": {"inNextRelease": True}},
                   headers=env["headers"])
    assert r.status_code == 400 and _status(client, env, gid) == "unresolved"


def test_resolving_in_an_unknown_release_is_400(client, env):
    gid = post_event(client, env["headers"], release="1.0")["groupId"]
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/",
                   json={"status": "resolved", "statusDetails": {"inRelease": "9.9"}}, headers=env["headers"])
    assert r.status_code == 400 and r.json["detail"] == "Unable to find the given release."
    assert _status(client, env, gid) == "unresolved"
