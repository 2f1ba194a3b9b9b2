"""hub.integrations is the one path for an integration's state: what a refused or accepted provider call,
a by-hand install and an org's uninstall do to the rows, seen through the REST API."""

from __future__ import annotations

from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from tests.hub.conftest import TRACKER


def _status(client, env, integration):
    r = client.get(f"/api/0/organizations/acme/integrations/{integration.id}/", headers=env["headers"])
    assert r.status_code == 200
    return r.json["status"], r.json["error"]


def test_refused_credentials_need_attention_and_the_next_good_call_makes_it_healthy(
        client, env, factories, run_jobs, requests_mock):
    group = factories.group(env["project"])
    requests_mock.get(f"{TRACKER}/issues/TR-1", status_code=401, json={"error": "token revoked at tracker"})
    r = client.post(f"/api/0/organizations/acme/issues/{group.id}/external-issues/",
                    json={"integrationId": str(env["tracker"].id), "action": "link", "externalIssue": "TR-1"},
                    headers=env["headers"])
    assert r.status_code == 400 and "token revoked" not in r.get_data(as_text=True)
    status, error = _status(client, env, env["tracker"])
    assert status == "needs_attention"
    assert "token revoked at tracker" in error  # owners and admins see the provider's words
    factories.link(group, env["tracker"], "TR-2")
    requests_mock.get(f"{TRACKER}/issues/TR-2", json={"key": "TR-2", "state": "open"})
    requests_mock.put(f"{TRACKER}/issues/TR-2/state", json={})
    assert client.put(f"/api/0/organizations/acme/issues/{group.id}/", json={"status": "resolved"},
                      headers=env["headers"]).status_code == 200
    run_jobs()
    assert _status(client, env, env["tracker"]) == ("active", None)


def test_a_refusal_for_every_org_leaves_a_disabled_attachment_disabled(client, env, factories):
    from hub import services

    other = factories.setup(org_slug="other", email="owner@other.example")
    shared = factories.integration(other["org"], "tracker", "site-1")  # the same account, attached to both
    oi = db.session.scalar(select(m.OrganizationIntegration).where(
        m.OrganizationIntegration.organization_id == other["org"].id))
    oi.status = "disabled"
    db.session.commit()
    services.mark_needs_attention(str(shared.id), None, "Tracker refused the credentials")  # every org
    db.session.expire_all()
    assert _status(client, env, env["tracker"]) == ("needs_attention", "Tracker refused the credentials")
    assert db.session.get(m.OrganizationIntegration, oi.id).status == "disabled"


def test_an_org_uninstall_disables_an_account_no_org_uses(client, env):
    r = client.delete(f"/api/0/organizations/acme/integrations/{env['tracker'].id}/", headers=env["headers"])
    assert r.status_code == 204
    db.session.expire_all()
    assert db.session.get(m.Integration, env["tracker"].id).status == "disabled"
    assert client.get(f"/api/0/organizations/acme/integrations/{env['tracker'].id}/",
                      headers=env["headers"]).status_code == 404


def test_an_unknown_provider_and_a_taken_account_are_refused_by_hand(client, env, factories):
    bad = client.post("/api/0/organizations/acme/integrations/",
                      json={"provider": "nope", "externalId": "x", "metadata": {}}, headers=env["headers"])
    assert bad.status_code == 400
    assert bad.json["errors"] == {"provider": ["No installed plugin provides 'nope'."]}
    other = factories.setup(org_slug="other", email="owner@other.example")
    taken = client.post("/api/0/organizations/other/integrations/",
                        json={"provider": "tracker", "externalId": "site-1",
                              "metadata": {"base_url": TRACKER}}, headers=other["headers"])
    assert taken.status_code == 409 and taken.json["errors"] == {}
    assert db.session.scalar(select(m.OrganizationIntegration).where(
        m.OrganizationIntegration.organization_id == other["org"].id)) is None
