"""hub.integrations is the one path for an integration's state: what a refused or accepted provider call,
a by-hand install and an org's uninstall do to the rows, seen through the REST API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub import hookimpl
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


class Prover:
    """A provider that recognises tokens it signed (here: the literal "signed-by-tracker")."""

    @hookimpl
    def verify_link_token(self, integration: Any, token: str) -> bool | None:
        if integration.provider != "tracker":
            return None
        return token == "signed-by-tracker"


def test_another_orgs_account_attaches_only_with_a_provider_signed_token(
    client, env, factories, register_plugin
):
    register_plugin(Prover(), name="prover")
    other = factories.setup(org_slug="globex", email="boss@globex.com")
    body = {"provider": "tracker", "externalId": "site-1", "metadata": {"base_url": "https://t"}}
    url = "/api/0/organizations/globex/integrations/"
    assert client.post(url, json={**body, "linkToken": "forged"}, headers=other["headers"]).status_code == 409
    r = client.post(url, json={**body, "linkToken": "signed-by-tracker"}, headers=other["headers"])
    assert r.status_code == 201 and r.json["externalId"] == "site-1"


def test_a_provider_install_detaches_unproven_claims_by_hand(client, factories, register_plugin):
    from hub import services

    register_plugin(Prover(), name="prover")
    squatter = factories.setup(org_slug="squat", email="x@squat.example")
    owner = factories.setup(org_slug="owner", email="y@owner.example")
    body = {"provider": "tracker", "externalId": "site-7", "metadata": {"base_url": "https://t"}}
    assert client.post("/api/0/organizations/squat/integrations/", json=body,
                       headers=squatter["headers"]).status_code == 201
    factories.integration(
        None, "tracker", "site-8", {"base_url": "https://t"}
    )  # installed, waiting for an org
    proven = {**body, "externalId": "site-8", "linkToken": "signed-by-tracker"}
    assert client.post("/api/0/organizations/owner/integrations/", json=proven,
                       headers=owner["headers"]).status_code == 201

    services.save_integration(
        "tracker", "site-7", "Tracker 7", {"base_url": "https://t"}
    )  # e.g. a signed install
    services.save_integration("tracker", "site-8", "Tracker 8", {"base_url": "https://t"})

    [claimed] = client.get("/api/0/organizations/squat/integrations/", headers=squatter["headers"]).json
    assert claimed["status"] == "disabled" and "attach it again" in claimed["error"]
    [kept] = client.get("/api/0/organizations/owner/integrations/", headers=owner["headers"]).json
    assert kept["status"] == "active" and kept["config"]["sync_status_forward"] is False


def test_a_link_token_attach_releases_claims_by_hand(client, factories, register_plugin):
    """Proving control with a provider-signed token lets go of another org's unproven claim."""
    register_plugin(Prover(), name="prover")
    squatter = factories.setup(org_slug="squat", email="x@squat.example")
    owner = factories.setup(org_slug="owner", email="y@owner.example")
    body = {"provider": "tracker", "externalId": "site-7", "metadata": {"base_url": "https://t"}}
    assert client.post("/api/0/organizations/squat/integrations/", json=body,
                       headers=squatter["headers"]).status_code == 201
    assert client.post("/api/0/organizations/owner/integrations/", json=body,
                       headers=owner["headers"]).status_code == 409
    proof = {**body, "linkToken": "signed-by-tracker"}
    r = client.post("/api/0/organizations/owner/integrations/", json=proof, headers=owner["headers"])
    assert r.status_code == 201 and r.json["status"] == "active"
    [claimed] = client.get("/api/0/organizations/squat/integrations/", headers=squatter["headers"]).json
    assert claimed["status"] == "disabled" and "attach it again" in claimed["error"]
    assert client.post("/api/0/organizations/squat/integrations/", json=body,
                       headers=squatter["headers"]).status_code == 409


def _resolve(client, env, gid, **details):
    body = {"status": "resolved", **({"statusDetails": details} if details else {})}
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/", json=body, headers=env["headers"])
    assert r.status_code == 200, r.json
    return r.json


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
