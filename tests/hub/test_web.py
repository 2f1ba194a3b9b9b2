"""The web pages (hub/web/, issue 14): logins, roles, org scoping, form errors, stale forms, search."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from hub.testing import csrf_token


def _as(client, user):
    with client.session_transaction() as session:
        session["user_id"] = user.id
    return csrf_token(client)


def _text(r):
    return r.get_data(as_text=True)


ADMIN_FORMS = [
    ("/organizations/acme/settings/integrations/", {"provider": "tracker", "externalId": "x"}),
    ("/organizations/acme/settings/integrations/{tracker}/", {"form": "config", "sync_comments": "on"}),
    ("/organizations/acme/settings/integrations/{tracker}/", {"form": "uninstall", "confirm": "site-1"}),
    ("/organizations/acme/settings/rules/", {"name": "r", "project": "backend", "conditions": "every_event"}),
    ("/organizations/acme/settings/members/", {"email": "new@example.com", "role": "owner"}),
    ("/organizations/acme/settings/projects/", {"name": "Frontend"}),
]


@pytest.mark.parametrize(("path", "data"), ADMIN_FORMS)
def test_a_member_posting_an_admin_form_gets_403_and_nothing_changes(client, env, path, data):
    token = _as(client, env["member"])
    r = client.post(path.format(tracker=env["tracker"].id), data={**data, "csrf_token": token})
    assert r.status_code == 403 and "Not allowed" in _text(r)
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(m.AlertRule.id))) == 0
    assert db.session.scalar(db.select(db.func.count(m.Project.id))) == 1
    assert db.session.scalar(db.select(db.func.count(m.OrganizationIntegration.id))) == 1
    oi = db.session.scalar(
        db.select(m.OrganizationIntegration).where(
            m.OrganizationIntegration.integration_id == env["tracker"].id
        )
    )
    assert oi.config.get("sync_comments") is True and oi.config.get("sync_status_forward") is True


@pytest.fixture
def other(factories):
    org = factories.org("other", "Other")
    project = factories.project(org, "web")
    outsider = factories.member(org, "o@example.com", role="owner", projects=[project])
    return {"org": org, "group": factories.group(project, "Other org's error"), "user": outsider}


def test_another_orgs_ids_are_404(client, env, other):
    token = _as(client, env["owner"])
    assert client.get(f"/organizations/acme/issues/{other['group'].id}/").status_code == 404
    r = client.post(
        f"/organizations/acme/issues/{other['group'].id}/",
        data={"action": "status", "status": "resolved", "csrf_token": token},
    )
    assert r.status_code == 404
    assert client.get("/organizations/other/issues/").status_code == 404
    r = client.get("/organizations/nope/issues/")
    assert r.status_code == 404 and "Not found" in _text(r) and 'href="/"' in _text(r)
    db.session.expire_all()
    assert db.session.get(m.Group, other["group"].id).status == "unresolved"


def test_a_stale_form_says_so_and_changes_nothing(client, env, factories):
    group = factories.group(env["project"])
    token = _as(client, env["owner"])
    page = _text(client.get(f"/organizations/acme/issues/{group.id}/"))
    version = page.split('name="version" value="')[1].split('"')[0]
    # someone else assigns it meanwhile
    r = client.put(
        f"/api/0/organizations/acme/issues/{group.id}/",
        json={"assignedTo": "dev@example.com"},
        headers=env["headers"],
    )
    assert r.status_code == 200
    r = client.post(
        f"/organizations/acme/issues/{group.id}/",
        data={"action": "status", "status": "ignored", "version": version, "csrf_token": token},
    )
    assert r.status_code == 409 and "changed since you opened the page" in _text(r)
    db.session.expire_all()
    assert db.session.get(m.Group, group.id).status == "unresolved"


def test_form_errors_show_next_to_the_field_and_keep_what_was_typed(client, env):
    token = _as(client, env["owner"])
    r = client.post(
        "/organizations/acme/settings/members/",
        data={"email": "not-an-email", "role": "member", "csrf_token": token},
    )
    assert r.status_code == 400
    page = _text(r)
    assert 'id="email-error"' in page and 'value="not-an-email"' in page
    r = client.post(
        "/organizations/acme/settings/rules/",
        data={
            "name": "Loud rule",
            "project": "backend",
            "integrationId": str(env["tracker"].id),
            "channelId": "C1",
            "csrf_token": token,
        },
    )
    assert r.status_code == 400
    assert 'id="conditions-error"' in _text(r) and 'value="Loud rule"' in _text(r)


def test_issue_page_actions_comment_and_activity_in_words(client, env, factories):
    group = factories.group(env["project"])
    token = _as(client, env["owner"])
    url = f"/organizations/acme/issues/{group.id}/"
    assert (
        client.post(
            url, data={"action": "assign", "assignedTo": f"user:{env['member'].id}", "csrf_token": token}
        ).status_code
        == 302
    )
    assert (
        client.post(url, data={"action": "comment", "text": "On it", "csrf_token": token}).status_code == 302
    )
    assert (
        client.post(
            url, data={"action": "status", "status": "resolved_next", "csrf_token": token}
        ).status_code
        == 302
    )
    page = _text(client.get(url))
    assert "resolved this issue in the next release" in page
    assert "assigned this issue to dev@example.com" in page and "On it" in page
    r = client.post(url, data={"action": "comment", "text": "", "csrf_token": token})
    assert r.status_code == 400 and 'id="text-error"' in _text(r)


def test_issues_page_search_syntax_and_unknown_values(client, env, factories):
    mine = factories.group(env["project"], "Checkout failed", culprit="shop.checkout")
    factories.group(env["project"], "Login failed", culprit="auth.login")
    client.put(
        f"/api/0/organizations/acme/issues/{mine.id}/",
        json={"assignedTo": "owner@example.com"},
        headers=env["headers"],
    )
    _as(client, env["owner"])
    page = _text(
        client.get("/organizations/acme/issues/", query_string={"query": "is:unresolved assigned:me"})
    )
    assert "Checkout failed" in page and "Login failed" not in page
    page = _text(
        client.get("/organizations/acme/issues/", query_string={"query": "login", "assigned": "none"})
    )
    assert "Login failed" in page and "Checkout failed" not in page
    r = client.get("/organizations/acme/issues/", query_string={"query": "is:bogus project:nope color:red"})
    assert r.status_code == 400
    assert "Unknown search key &#39;color&#39;" in _text(r) and "No project &#39;nope&#39;" in _text(r)
    assert "Checkout failed" not in _text(r)


def test_rest_issue_list_takes_the_same_query(client, env, factories):
    factories.group(env["project"], "Checkout failed", culprit="shop.checkout")
    factories.group(env["project"], "Login failed", culprit="auth.login")
    r = client.get(
        "/api/0/organizations/acme/issues/",
        query_string={"query": "is:unresolved checkout"},
        headers=env["headers"],
    )
    assert r.status_code == 200 and [i["title"] for i in r.json] == ["Checkout failed"]
    r = client.get(
        "/api/0/organizations/acme/issues/",
        query_string={"query": "assigned:nobody@x.org level:loud"},
        headers=env["headers"],
    )
    assert r.status_code == 400 and len(r.json["errors"]["query"]) == 2


def test_the_api_refuses_a_rule_whose_target_cannot_post(client, env, factories):
    jira_server = factories.integration(env["org"], "jira_server", "jira.example.org:hub", {})
    r = client.post(
        "/api/0/projects/acme/backend/rules/",
        headers=env["headers"],
        json={
            "name": "r",
            "conditions": [{"id": "first_seen_event"}],
            "actions": [{"integrationId": str(jira_server.id), "channelId": "x"}],
        },
    )
    assert r.status_code == 400 and "cannot post" in r.json["detail"]
    assert db.session.scalar(db.select(db.func.count(m.AlertRule.id))) == 0
    r = client.post(
        "/api/0/projects/acme/backend/rules/",
        headers=env["headers"],
        json={
            "name": "r",
            "conditions": [{"id": "first_seen_event"}],
            "actions": [{"integrationId": str(env["tracker"].id), "channelId": "x"}],
        },
    )
    assert r.status_code == 201
    rule_id = r.json["id"]
    r = client.put(
        f"/api/0/projects/acme/backend/rules/{rule_id}/",
        headers=env["headers"],
        json={
            "name": "renamed",
            "conditions": [{"id": "every_event"}],
            "actions": [{"integrationId": str(env["tracker"].id), "channelId": "y"}],
        },
    )
    assert r.status_code == 200 and r.json["name"] == "renamed" and r.json["actions"][0]["channelId"] == "y"


def _keys(project):
    db.session.expire_all()
    return db.session.scalars(
        db.select(m.ProjectKey).where(m.ProjectKey.project_id == project.id).order_by(m.ProjectKey.id)
    ).all()


def test_rotating_a_dsn_key_adds_one_then_disables_the_old_one(client, env, other):
    token = _as(client, env["owner"])
    url = "/organizations/acme/settings/projects/backend/keys/"
    (old,) = _keys(env["project"])
    r = client.post(url, data={"form": "add", "name": "Rotated", "csrf_token": token})
    assert r.status_code == 302
    old, new = _keys(env["project"])
    assert new.name == "Rotated" and new.is_active and old.is_active
    page = _text(client.get("/organizations/acme/settings/projects/"))
    assert "deploy its DSN, then disable the old key" in page and new.public_key in page
    r = client.post(url, data={"form": "disable", "key": str(old.id), "csrf_token": token})
    assert r.status_code == 302
    assert [k.is_active for k in _keys(env["project"])] == [False, True]
    # the SDK's key is refused from now on
    r = client.post(
        f"/api/{env['project'].id}/store/",
        json={"message": "hi"},
        headers={"X-Sentry-Auth": f"Sentry sentry_key={old.public_key}, sentry_version=7"},
    )
    assert r.status_code in (401, 403)
    # the same page posted again (stale): a clear message, nothing changes
    client.post(url, data={"form": "disable", "key": str(old.id), "csrf_token": token})
    page = _text(client.get("/organizations/acme/settings/projects/"))
    assert "was already disabled: nothing changed" in page
    r = client.post(url, data={"form": "enable", "key": str(old.id), "csrf_token": token})
    assert r.status_code == 302 and _keys(env["project"])[0].is_active


def test_key_forms_are_for_admins_of_the_org_only(client, env, other):
    (key,) = _keys(env["project"])
    (others,) = _keys(other["group"].project)
    token = _as(client, env["member"])
    page = _text(client.get("/organizations/acme/settings/projects/"))
    assert key.public_key in page and "Disable" not in page and "Add key" not in page
    r = client.post(
        "/organizations/acme/settings/projects/backend/keys/",
        data={"form": "disable", "key": str(key.id), "csrf_token": token},
    )
    assert r.status_code == 403 and _keys(env["project"])[0].is_active
    token = _as(client, env["owner"])
    r = client.post(
        "/organizations/acme/settings/projects/backend/keys/",
        data={"form": "disable", "key": str(others.id), "csrf_token": token},
    )
    assert r.status_code == 404
    r = client.post(
        "/organizations/acme/settings/projects/web/keys/",
        data={"form": "add", "csrf_token": token},
    )
    assert r.status_code == 404
    assert len(_keys(other["group"].project)) == 1 and _keys(other["group"].project)[0].is_active


def test_the_author_edits_a_comment_and_a_stale_edit_is_refused(client, env, factories):
    group = factories.group(env["project"])
    token = _as(client, env["owner"])
    url = f"/organizations/acme/issues/{group.id}/"
    client.post(url, data={"action": "comment", "text": "Frist draft", "csrf_token": token})
    note = db.session.scalars(
        db.select(m.Activity).where(m.Activity.group_id == group.id, m.Activity.type == "note")
    ).one()
    assert "Edit comment" in _text(client.get(url))
    edit = {"action": "edit_comment", "comment": str(note.id), "csrf_token": token}
    r = client.post(url, data={**edit, "original": "Frist draft", "text": ""})
    assert r.status_code == 400 and 'id="text-error"' in _text(r)
    r = client.post(url, data={**edit, "original": "Frist draft", "text": "First draft"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(m.Activity, note.id).data["text"] == "First draft"
    assert "First draft" in _text(client.get(url))
    # a second tab still holds the old text: refused, nothing overwritten
    r = client.post(url, data={**edit, "original": "Frist draft", "text": "Something else"})
    assert r.status_code == 409 and "edited since you opened the page" in _text(r)
    db.session.expire_all()
    assert db.session.get(m.Activity, note.id).data["text"] == "First draft"
    # someone else cannot edit it, and sees no edit form
    token = _as(client, env["member"])
    assert "Edit comment" not in _text(client.get(url))
    r = client.post(url, data={**edit, "csrf_token": token, "original": "First draft", "text": "Mine now"})
    assert r.status_code == 403 and "Only the author" in _text(r)
    db.session.expire_all()
    assert db.session.get(m.Activity, note.id).data["text"] == "First draft"


JIRA_SITE = "https://acme.atlassian.net"
APP = {"id": "10000", "key": "APP", "name": "Application"}
APP_STATUSES = [
    {
        "id": "10001",
        "name": "Bug",
        "statuses": [
            {"id": "1", "name": "To Do", "statusCategory": {"key": "new"}},
            {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}},
            {"id": "10001", "name": "Done", "statusCategory": {"key": "done"}},
        ],
    },
    {
        "id": "10002",
        "name": "Task",
        "statuses": [{"id": "1", "name": "To Do"}, {"id": "6", "name": "Closed"}],
    },
]


@pytest.fixture
def jira_site(env, factories):
    jira = factories.integration(
        env["org"], "jira", "jira:acme", {"base_url": JIRA_SITE, "shared_secret": "s" * 32}, name="acme-jira"
    )
    return jira


def test_the_status_mapping_editor_loads_jira_projects_and_statuses_and_warns(
    client, env, factories, jira_site, requests_mock
):
    from tests.support.specs import assert_valid_requests

    requests_mock.get(f"{JIRA_SITE}/rest/api/3/project", json=[APP])
    requests_mock.get(f"{JIRA_SITE}/rest/api/3/project/10000/statuses", json=APP_STATUSES)
    token = _as(client, env["owner"])
    page_url = "/organizations/acme/settings/integrations/"
    page = _text(client.get(page_url, query_string={"mapping": jira_site.id}))
    assert "Application (APP)" in page and "Load statuses" in page
    page = _text(client.get(page_url, query_string={"mapping": jira_site.id, "project": "10000"}))
    for name in ("To Do", "In Progress", "Done", "Closed"):
        assert f">{name}</option>" in page
    assert page.count(">To Do</option>") == 2  # once per select: each status once over the issue types
    assert "once a ticket of Application (APP) is linked" not in page  # nothing mapped yet

    r = client.post(
        f"{page_url}{jira_site.id}/",
        data={
            "form": "mapping",
            "external_id": "10000",
            "resolved": "10001",
            "unresolved": "1",
            "csrf_token": token,
        },
    )
    assert r.status_code == 302 and "mapping=" in r.location and "project=10000" in r.location
    row = db.session.scalars(db.select(m.IntegrationExternalProject)).one()
    assert (row.external_id, row.resolved_status, row.unresolved_status) == ("10000", "10001", "1")
    page = _text(client.get(r.location))
    assert "once a ticket of Application (APP) is linked" in page
    assert 'value="10001" selected' in page and 'value="1" selected' in page

    # a linked ticket in To Do whose workflow has no way to Done: the page says so
    factories.link(factories.group(env["project"]), jira_site, "APP-7")
    requests_mock.get(
        f"{JIRA_SITE}/rest/api/3/issue/APP-7",
        json={"key": "APP-7", "fields": {"status": {"id": "1", "name": "To Do"}}},
    )
    requests_mock.get(
        f"{JIRA_SITE}/rest/api/3/issue/APP-7/transitions",
        json={
            "transitions": [
                {"id": "21", "to": {"id": "6", "name": "Closed", "statusCategory": {"key": "done"}}}
            ]
        },
    )
    page = _text(client.get(r.location))
    assert "No transition leads from APP-7&#39;s status (To Do) to the resolved status Done" in page
    assert "will be skipped (no transition path)" in page
    # mapped to a status the project does not have
    client.post(
        f"{page_url}{jira_site.id}/",
        data={
            "form": "mapping",
            "external_id": "10000",
            "resolved": "999",
            "unresolved": "1",
            "csrf_token": token,
        },
    )
    page = _text(client.get(r.location))
    assert "The resolved status 999 is not a status of Application (APP)." in page
    assert assert_valid_requests("jira-cloud", requests_mock.request_history, JIRA_SITE) == len(
        requests_mock.request_history
    )


def test_the_mapping_editor_says_when_jira_cannot_be_asked_and_keeps_the_id_fields(
    client, env, jira_site, requests_mock
):
    requests_mock.get(f"{JIRA_SITE}/rest/api/3/project", status_code=503, text="<html>upstream down</html>")
    _as(client, env["owner"])
    r = client.get("/organizations/acme/settings/integrations/", query_string={"mapping": jira_site.id})
    page = _text(r)
    assert r.status_code == 200 and "could not be asked for its projects and statuses" in page
    assert "Project id" in page and "Save these ids" in page
    # members never get the editor, nor does anyone ask Jira for them
    requests_mock.reset_mock()
    _as(client, env["member"])
    page = _text(
        client.get("/organizations/acme/settings/integrations/", query_string={"mapping": jira_site.id})
    )
    assert "Load statuses" not in page and "Save these ids" not in page and not requests_mock.called


def test_install_guides_step_by_step_with_oauth_buttons(app, client, env):
    _as(client, env["owner"])
    configured = {k: app.config[k] for k in ("HUB_SLACK_CLIENT_ID", "HUB_SLACK_CLIENT_SECRET")}
    app.config.update(HUB_SLACK_CLIENT_ID=None)
    page = _text(client.get("/organizations/acme/settings/integrations/"))
    assert "The hub&#39;s Slack app is not configured (HUB_SLACK_CLIENT_ID" in page  # no app: no live button
    assert "/extensions/slack/oauth/?organization" not in page
    assert "Discord app is not configured (HUB_DISCORD_APPLICATION_ID" in page
    app.config.update(configured)
    page = _text(client.get("/organizations/acme/settings/integrations/"))
    assert "Slack app is not configured" not in page
    # Jira Cloud: the Connect descriptor to upload, in numbered steps
    assert "Enable development mode" in page and "Upload app" in page
    assert "/extensions/jira/descriptor/" in page and 'class="steps"' in page
    # Slack and Discord: their OAuth buttons, or why they cannot be used on this hub
    assert "Add to Slack" in page and "Add to Discord" in page
    base = app.config["HUB_BASE_URL"]
    assert (
        f'<a class="button" href="{base}/extensions/slack/oauth/?organization=acme">Add to Slack</a>' in page
    )
    assert "Jira Server" in page and "/extensions/jira_server/setup/?organization=acme" in page
    # a member sees no guide and no install form
    _as(client, env["member"])
    page = _text(client.get("/organizations/acme/settings/integrations/"))
    assert "Add to Slack" not in page and "Upload app" not in page


def _recorded_delivery(tracker, key: str, **change):
    """A verified inbound v2 delivery as the core records it: the delivery row and its typed change."""
    from hub import inbound
    from hub import types as t

    delivery = m.WebhookDelivery(
        provider="tracker", endpoint="hook/", method="POST", status_code=202, integration_id=tracker.id
    )
    db.session.add(delivery)
    db.session.flush()
    inbound.add_changes(
        [t.StatusChange(ticket=t.Ticket(key=key), **change)],
        integration_id=tracker.id,
        delivery_id=delivery.id,
    )
    db.session.commit()
    return delivery


def test_the_sync_ledger_of_a_ticket_shows_deliveries_and_jobs_and_replays_and_retries(
    client, env, factories, other
):
    from hub import inbound

    group = factories.group(env["project"], "Checkout failed")
    ext = factories.link(group, env["tracker"], "SITE-9")
    elsewhere = factories.link(factories.group(env["project"], "Login failed"), env["tracker"], "SITE-10")
    delivery = _recorded_delivery(
        env["tracker"], "SITE-9", status_id="closed", category="done", occurred_at=1000.0
    )
    _recorded_delivery(env["tracker"], "SITE-10", status_id="closed", category="done", occurred_at=1000.0)
    inbound.apply_pending()
    db.session.expire_all()
    assert db.session.get(m.Group, group.id).status == "resolved"
    dead = m.OutboxEntry(
        id="d" * 32,
        kind="sync_comment_outbound",
        payload={"external_issue_id": ext.id, "activity_id": 0},
        organization_id=env["org"].id,
        integration_id=env["tracker"].id,
        status="dead",
        attempts=5,
        last_error="503: Tracker answered 503: upstream timeout",
    )
    not_mine = m.OutboxEntry(
        id="e" * 32,
        kind="sync_comment_outbound",
        payload={"external_issue_id": elsewhere.id},
        organization_id=env["org"].id,
        integration_id=env["tracker"].id,
        status="done",
        outcome="posted",
    )
    db.session.add_all([dead, not_mine])
    db.session.commit()

    token = _as(client, env["owner"])
    assert f"/settings/deliveries/?ticket={ext.id}" in _text(
        client.get(f"/organizations/acme/issues/{group.id}/")
    )
    url = f"/organizations/acme/settings/deliveries/?ticket={ext.id}"
    page = _text(client.get(url))
    assert f"#{delivery.id}" in page and "SITE-10" not in page  # only what touched this ticket
    assert "status of <strong>SITE-9</strong>" in page and ">applied</span>" in page
    assert "upstream timeout" in page and "dddddddd" in page and "eeeeeeee" not in page

    # replay: a new delivery whose copy of the change is applied through today's guards (it changes
    # nothing now); the original keeps what it did
    r = client.post(url, data={"form": "replay", "delivery": str(delivery.id), "csrf_token": token})
    assert r.status_code == 302 and r.location.endswith(f"?ticket={ext.id}")
    page = _text(client.get(r.location))
    db.session.expire_all()
    replay = db.session.scalar(db.select(m.WebhookDelivery).where(m.WebhookDelivery.replay_of == delivery.id))
    assert f"Delivery {delivery.id} replayed as #{replay.id}:" in page
    assert f"(replay of #{delivery.id})" in page
    assert db.session.scalar(
        db.select(m.InboundChange.state).where(m.InboundChange.delivery_id == delivery.id)
    ) == "applied"
    assert db.session.scalar(
        db.select(m.InboundChange.state).where(m.InboundChange.delivery_id == replay.id)
    ) in (
        "skipped",
        "stale",
        "echo",
    )

    # retry the dead job: fresh attempts, back on the queue; a second press finds it taken
    r = client.post(url, data={"form": "retry", "job": dead.id, "csrf_token": token})
    assert r.status_code == 302
    db.session.expire_all()
    row = db.session.get(m.OutboxEntry, dead.id)
    assert (row.status, row.attempts, row.last_error) == ("enqueued", 0, None)  # on RQ, fresh attempts
    assert f"Job {dead.id[:8]} sent again: enqueued." in _text(client.get(url))
    client.post(url, data={"form": "retry", "job": dead.id, "csrf_token": token})
    assert "nothing to retry" in _text(client.get(url))


def test_the_sync_ledger_is_for_admins_of_the_org(client, env, factories, other):
    group = factories.group(env["project"])
    ext = factories.link(group, env["tracker"], "SITE-9")
    delivery = _recorded_delivery(env["tracker"], "SITE-9", status_id="closed", category="done")
    dead = m.OutboxEntry(
        id="d" * 32,
        kind="sync_comment_outbound",
        payload={"external_issue_id": ext.id},
        organization_id=env["org"].id,
        integration_id=env["tracker"].id,
        status="dead",
        attempts=5,
    )
    theirs = m.OutboxEntry(
        id="f" * 32, kind="sync_comment_outbound", payload={}, organization_id=other["org"].id, status="dead"
    )
    db.session.add_all([dead, theirs])
    db.session.commit()
    url = "/organizations/acme/settings/deliveries/"
    token = _as(client, env["member"])
    assert client.get(url).status_code == 403
    assert "sync ledger" not in _text(client.get(f"/organizations/acme/issues/{group.id}/"))
    for data in ({"form": "replay", "delivery": str(delivery.id)}, {"form": "retry", "job": dead.id}):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403
    token = _as(client, other["user"])
    assert client.get(f"/organizations/other/settings/deliveries/?ticket={ext.id}").status_code == 404
    r = client.post(
        "/organizations/other/settings/deliveries/",
        data={"form": "retry", "job": dead.id, "csrf_token": token},
    )
    assert r.status_code == 404
    r = client.post(
        "/organizations/other/settings/deliveries/",
        data={"form": "replay", "delivery": str(delivery.id), "csrf_token": token},
    )
    assert r.status_code == 404
    db.session.expire_all()
    assert db.session.get(m.OutboxEntry, dead.id).status == "dead"
    assert db.session.scalar(
        db.select(m.InboundChange.state).where(m.InboundChange.delivery_id == delivery.id)
    ) == ("pending")


def test_stale_settings_forms_say_so_and_overwrite_nothing(client, env, jira_site, requests_mock):
    token = _as(client, env["owner"])
    # sync options: the page saw them before someone turned comment sync off
    page = _text(client.get("/organizations/acme/settings/integrations/"))
    seen = page.split('name="form" value="config"><input type="hidden" name="seen" value="')[1].split('"')[0]
    r = client.put(
        f"/api/0/organizations/acme/integrations/{env['tracker'].id}/",
        json={"config": {"sync_comments": False}},
        headers=env["headers"],
    )
    assert r.status_code == 200
    url = f"/organizations/acme/settings/integrations/{env['tracker'].id}/"
    client.post(url, data={"form": "config", "seen": seen, "sync_comments": "on", "csrf_token": token})
    assert "were changed since you opened the page: nothing was saved" in _text(
        client.get("/organizations/acme/settings/integrations/")
    )
    db.session.expire_all()
    oi = db.session.scalar(
        db.select(m.OrganizationIntegration).where(
            m.OrganizationIntegration.integration_id == env["tracker"].id
        )
    )
    assert oi.config["sync_comments"] is False and "sync_status_forward" in oi.config

    # a status mapping saved meanwhile from another tab
    url = f"/organizations/acme/settings/integrations/{jira_site.id}/"
    mapping = {"form": "mapping", "external_id": "10000", "csrf_token": token}
    empty = present_fingerprint({})
    assert (
        client.post(url, data={**mapping, "seen": empty, "resolved": "5", "unresolved": "1"}).status_code
        == 302
    )
    r = client.post(url, data={**mapping, "seen": empty, "resolved": "6", "unresolved": "1"})
    assert "project=10000" in r.location
    requests_mock.get(f"{JIRA_SITE}/rest/api/3/project", json=[APP])
    requests_mock.get(f"{JIRA_SITE}/rest/api/3/project/10000/statuses", json=APP_STATUSES)
    assert "The mapping of project 10000 was changed since you opened the page" in _text(
        client.get(r.location)
    )
    assert db.session.scalars(db.select(m.IntegrationExternalProject.resolved_status)).all() == ["5"]

    # an alert rule edited, then deleted, meanwhile
    rule = client.post(
        "/api/0/projects/acme/backend/rules/",
        headers=env["headers"],
        json={
            "name": "Loud",
            "conditions": [{"id": "first_seen_event"}],
            "actions": [{"integrationId": str(env["tracker"].id), "channelId": "C1"}],
        },
    ).json
    page = _text(client.get("/organizations/acme/settings/rules/", query_string={"edit": rule["id"]}))
    seen = page.split('name="seen" value="')[1].split('"')[0]
    client.put(
        f"/api/0/projects/acme/backend/rules/{rule['id']}/",
        headers=env["headers"],
        json={
            "name": "Quiet",
            "conditions": [{"id": "every_event"}],
            "actions": [{"integrationId": str(env["tracker"].id), "channelId": "C2"}],
        },
    )
    form = {
        "rule": rule["id"],
        "seen": seen,
        "name": "Mine",
        "project": "backend",
        "conditions": "first_seen_event",
        "integrationId": str(env["tracker"].id),
        "channelId": "C3",
        "csrf_token": token,
    }
    r = client.post("/organizations/acme/settings/rules/", data=form)
    assert r.status_code == 409 and "This rule was changed since you opened the page" in _text(r)
    assert 'value="Mine"' in _text(r)  # what was typed is kept
    db.session.expire_all()
    assert db.session.get(m.AlertRule, int(rule["id"])).name == "Quiet"
    client.delete(f"/api/0/projects/acme/backend/rules/{rule['id']}/", headers=env["headers"])
    r = client.post("/organizations/acme/settings/rules/", data=form)
    assert r.status_code == 409 and "This rule was deleted since you opened the page" in _text(r)
    assert db.session.scalar(db.select(db.func.count(m.AlertRule.id))) == 0


def present_fingerprint(value):
    from hub.web.present import fingerprint

    return fingerprint(value)


def test_pages_need_a_login(client):
    r = client.get("/organizations/acme/issues/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_settings_page_saves_sync_options_and_mappings(client, env, app):
    from werkzeug.security import generate_password_hash

    env["owner"].password_hash = generate_password_hash("pw")
    db.session.commit()
    client.post("/login", data={"email": "owner@example.com", "password": "pw"})
    page = client.get("/organizations/acme/settings/integrations/")
    assert page.status_code == 200 and "site-1" in page.get_data(as_text=True)
    url = f"/organizations/acme/settings/integrations/{env['tracker'].id}/"
    token = csrf_token(client)
    assert (
        client.post(
            url, data={"form": "config", "sync_status_forward": "on", "csrf_token": token}
        ).status_code
        == 302
    )
    config = client.get("/api/0/organizations/acme/integrations/", headers=env["headers"]).json[0]["config"]
    assert config == {
        "sync_status_forward": True,
        "sync_status_reverse": False,
        "sync_assignee_outbound": False,
        "sync_assignee_inbound": False,
        "sync_comments": False,
    }
    client.post(url, data={"form": "mapping", "external_id": "10100", "resolved": "10001", "unresolved": "3",
                           "csrf_token": token})
    mapping = client.get(f"/api/0/organizations/acme/integrations/{env['tracker'].id}/external-projects/",
                         headers=env["headers"]).json
    assert [(x["externalId"], x["resolvedStatus"], x["unresolvedStatus"]) for x in mapping] == [
        ("10100", "10001", "3")
    ]


def test_members_cannot_change_settings(client, env):
    from werkzeug.security import generate_password_hash

    env["member"].password_hash = generate_password_hash("pw")
    db.session.commit()
    client.post("/login", data={"email": "dev@example.com", "password": "pw"})
    r = client.post(f"/organizations/acme/settings/integrations/{env['tracker'].id}/",
                    data={"form": "config", "csrf_token": csrf_token(client)})
    assert r.status_code == 403


def test_deliveries_page_shows_only_the_orgs_own_deliveries(client, env, factories):
    from werkzeug.security import generate_password_hash

    from tests.hub.conftest import tracker_webhook

    other = factories.setup(org_slug="globex", email="boss@globex.com")
    globex_id = factories.integration(other["org"], "tracker", "site-globex", {"webhook_token": "g"}).id
    tracker_webhook(client, {"key": "TR-1"})  # acme's site
    client.post("/extensions/tracker/hook/", json={"key": "G-1"},
                headers={"X-Tracker-Site": "site-globex", "X-Tracker-Token": "g"})
    attributed = dict(
        db.session.execute(select(m.WebhookDelivery.id, m.WebhookDelivery.integration_id)).all()
    )
    assert sorted(attributed.values()) == sorted([env["tracker"].id, globex_id])
    env["owner"].password_hash = generate_password_hash("pw")
    db.session.commit()
    client.post("/login", data={"email": "owner@example.com", "password": "pw"})
    page = client.get("/organizations/acme/settings/deliveries/").get_data(as_text=True)
    assert "hook/" in page and page.count("<td>tracker</td>") == 1


def test_web_pages_answer_404_for_ids_beyond_the_column(client, env):
    with client.session_transaction() as session:
        session["user_id"] = env["owner"].id
    huge = "99999999999999999999999"
    assert client.get(f"/organizations/acme/issues/{huge}/").status_code == 404
    token = csrf_token(client)
    r = client.post(f"/organizations/acme/issues/{huge}/", data={"status": "resolved", "csrf_token": token})
    assert r.status_code == 404
    r = client.post(f"/organizations/acme/settings/integrations/{huge}/",
                    data={"sync_comments": "on", "csrf_token": token})
    assert r.status_code == 404


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\\evil.example",
                                    "//evil.example", "https://evil.example/", "evil.example"])
def test_login_never_redirects_off_site(client, env, target):
    from werkzeug.security import generate_password_hash

    env["owner"].password_hash = generate_password_hash("pw")
    db.session.commit()
    r = client.post("/login", query_string={"next": target},
                    data={"email": "owner@example.com", "password": "pw"})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_login_goes_back_to_the_page_asked_for(client, env):
    from werkzeug.security import generate_password_hash

    env["owner"].password_hash = generate_password_hash("pw")
    db.session.commit()
    r = client.post("/login", query_string={"next": "/organizations/acme/issues/?status=resolved"},
                    data={"email": "owner@example.com", "password": "pw"})
    assert r.headers["Location"] == "/organizations/acme/issues/?status=resolved"
