"""Atlassian Connect: qsh, descriptor, signed install/uninstall, Connect JWTs, configure and link pages."""

from __future__ import annotations

import json
import re
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from hub import services
from plugins.jira.connect import canonical_request, query_string_hash
from tests.plugins.jira.conftest import (
    BASE,
    CLIENT_KEY,
    KEYS_URL,
    KID,
    SECRET,
    SITE,
    connect_token,
    install_token,
    lifecycle,
    payload,
    send_webhook,
)


def test_qsh_test_vector():
    assert query_string_hash("GET", "/extensions/jira/configure", "a=1&b=2&c=3&test=pass") == (
        "36f43b88d6a8cdf89bb8f744e2378bb0ceb6378e80ab0b513082a8b72396bccc"
    )
    # Trailing slash, key order and the jwt parameter change nothing.
    assert query_string_hash("get", "/extensions/jira/configure/", "test=pass&jwt=x.y.z&c=3&a=1&b=2") == (
        "36f43b88d6a8cdf89bb8f744e2378bb0ceb6378e80ab0b513082a8b72396bccc"
    )


def test_canonical_request_encoding_and_repeated_values():
    assert canonical_request("post", "", "") == "POST&/&"
    assert canonical_request("GET", "/a&b/", "q=a b&q=A~*&z=%2C") == "GET&/a%26b&q=A~%2A,a%20b&z=%2C"


def test_descriptor(client):
    r = client.get("/extensions/jira/descriptor/")
    assert r.status_code == 200
    d = r.json
    assert d["key"] == "io.integration-hub.jira" and d["baseUrl"] == BASE
    assert d["authentication"] == {"type": "jwt"}
    assert d["lifecycle"] == {
        "installed": "/extensions/jira/installed/",
        "uninstalled": "/extensions/jira/uninstalled/",
    }
    assert d["apiMigrations"] == {"gdpr": True, "context-qsh": True, "signed-install": True}
    assert set(d["scopes"]) == {"READ", "WRITE", "ACCESS_EMAIL_ADDRESSES"}
    assert d["modules"]["webhooks"] == [
        {"event": "jira:issue_updated", "url": "/extensions/jira/issue-updated/", "excludeBody": False}
    ]
    assert d["modules"]["configurePage"]["url"] == "/extensions/jira/configure/"
    assert client.post("/extensions/jira/descriptor/").status_code == 405


def test_install_reinstall_uninstall(client, app, rsa_key, install_keys, requests_mock):
    r = lifecycle(client, rsa_key, "installed")
    assert r.status_code == 200, r.json
    integration = services.get_integration("jira", CLIENT_KEY)
    assert integration.metadata["shared_secret"] == SECRET and integration.metadata["base_url"] == SITE
    assert integration.name == "example.atlassian.net" and integration.status == "active"
    # The public key was fetched once, then cached.
    r = lifecycle(client, rsa_key, "installed", payload("installed", sharedSecret="a-new-secret-" + "x" * 24))
    assert r.status_code == 200
    assert (
        services.get_integration("jira", CLIENT_KEY).metadata["shared_secret"] == "a-new-secret-" + "x" * 24
    )
    assert [h.url for h in requests_mock.request_history] == [f"{KEYS_URL}/{KID}"]
    r = lifecycle(client, rsa_key, "uninstalled", payload("installed", eventType="uninstalled"))
    assert r.status_code == 200
    assert services.get_integration("jira", CLIENT_KEY).status == "disabled"


def test_redelivered_install_is_processed_once(client, rsa_key, install_keys):
    token = install_token(rsa_key, "/extensions/jira/installed/")
    body = json.dumps(payload("installed"))
    sent = [
        client.post(
            "/extensions/jira/installed/",
            data=body,
            content_type="application/json",
            headers={"Authorization": f"JWT {token}"},
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in sent] == [200, 200]
    assert sent[0].json == {"detail": "Installed."} and sent[1].json == {"detail": "Already processed."}


def _nothing_stored():
    return services.get_integration("jira", CLIENT_KEY) is None


def test_install_without_kid_is_400(client, rsa_key, install_keys):
    assert lifecycle(client, rsa_key, "installed", kid=None).status_code == 400
    assert _nothing_stored()


def test_install_with_unknown_kid_is_400(client, rsa_key, install_keys):
    r = lifecycle(client, rsa_key, "installed", kid="not-a-key")
    assert r.status_code == 400 and "kid" in r.json["detail"]
    assert _nothing_stored()


def test_install_signed_by_another_key_is_400(client, rsa_key, install_keys):
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    r = lifecycle(client, rsa_key, "installed", key=forger)
    assert r.status_code == 400 and r.json["detail"] == "The install JWT is not valid."
    assert _nothing_stored()


def test_install_with_wrong_audience_expired_or_wrong_qsh_is_400(client, rsa_key, install_keys):
    assert lifecycle(client, rsa_key, "installed", aud="https://evil.example").status_code == 400
    assert lifecycle(client, rsa_key, "installed", exp_in=-120).status_code == 400
    r = lifecycle(client, rsa_key, "installed", qsh_path="/extensions/jira/uninstalled/")
    assert r.status_code == 400 and "qsh" in r.json["detail"]
    assert _nothing_stored()


def test_install_hs256_or_unsigned_is_400(client, install_keys):
    now = int(time.time())
    forged = jwt.encode(
        {
            "iss": CLIENT_KEY,
            "aud": BASE,
            "exp": now + 60,
            "qsh": query_string_hash("POST", "/extensions/jira/installed"),
        },
        SECRET,
        algorithm="HS256",
        headers={"kid": KID},
    )
    for token in (forged, "", "not-a-jwt"):
        r = client.post(
            "/extensions/jira/installed/",
            json=payload("installed"),
            headers={"Authorization": f"JWT {token}"},
        )
        assert r.status_code == 400
    assert client.post("/extensions/jira/installed/", json=payload("installed")).status_code == 400
    assert _nothing_stored()


def test_lifecycle_without_body_or_mismatched_client_key_is_400(client, rsa_key, install_keys):
    r = lifecycle(client, rsa_key, "installed", b"")
    assert r.status_code == 400 and "clientKey" in r.json["errors"]
    r = lifecycle(client, rsa_key, "installed", payload("installed", clientKey="someone-else"))
    assert r.status_code == 400
    r = lifecycle(
        client, rsa_key, "installed", {k: v for k, v in payload("installed").items() if k != "sharedSecret"}
    )
    assert r.status_code == 400 and "sharedSecret" in r.json["errors"]
    assert _nothing_stored()


def test_uninstall_of_unknown_site_is_400(client, rsa_key, install_keys):
    assert (
        lifecycle(client, rsa_key, "uninstalled", payload("installed", eventType="uninstalled")).status_code
        == 400
    )


# -- Connect JWTs on the webhook ---------------------------------------------------------------


def test_webhook_jwt_checks(client, env):
    body = payload("issue_updated_no_changelog")
    assert send_webhook(client, body).status_code == 200
    forged = send_webhook(client, body, secret="not-the-shared-secret-but-long-enough")
    assert forged.status_code == 400 and forged.json["detail"] == "The Connect JWT is not valid."
    expired = send_webhook(client, body, exp_in=-300)
    assert expired.status_code == 400 and "expired" in expired.json["detail"]
    wrong_qsh = send_webhook(client, body, qsh=query_string_hash("POST", "/extensions/jira/installed"))
    assert wrong_qsh.status_code == 400 and "qsh" in wrong_qsh.json["detail"]
    # context-qsh is for page loads only, never for webhooks.
    assert send_webhook(client, body, qsh="context-qsh").status_code == 400
    unknown = send_webhook(client, body, iss="unknown-client-key")
    assert unknown.status_code == 400 and "clientKey" in unknown.json["detail"]
    assert client.post("/extensions/jira/issue-updated/", json=body).status_code == 400  # no JWT at all
    assert (
        client.post(
            "/extensions/jira/issue-updated/", json=body, headers={"Authorization": "JWT garbage"}
        ).status_code
        == 400
    )


def test_webhook_from_uninstalled_site_is_400(client, env, rsa_key, install_keys):
    services.disable_integration(str(env["jira"].id))
    assert send_webhook(client, payload("issue_updated_no_changelog")).status_code == 400


# -- configure page and link page --------------------------------------------------------------


def _configure(client, qsh=None, query="xdm_e=https%3A%2F%2Fexample.atlassian.net&cp="):
    token = connect_token("GET", "/extensions/jira/configure/", query, qsh=qsh)
    return client.get(f"/extensions/jira/configure/?{query}&jwt={token}")


def _link_path(html: str) -> str:
    match = re.search(r'href="http://hub\.test(/extensions/jira/link/[^"/]+/)"', html)
    assert match, html
    return match.group(1)


def test_configure_page_accepts_context_qsh_and_real_qsh(client, env):
    for qsh in ("context-qsh", None):
        r = _configure(client, qsh=qsh)
        assert r.status_code == 200, r.get_data(as_text=True)
        assert "/extensions/jira/link/" in r.get_data(as_text=True)
        # Jira shows the page in an iframe: only the installed site may frame it
        assert r.headers["Content-Security-Policy"] == "frame-ancestors https://example.atlassian.net"
        assert "X-Frame-Options" not in r.headers
    assert _configure(client, qsh=query_string_hash("GET", "/extensions/jira/other")).status_code == 400
    assert client.get("/extensions/jira/configure/").status_code == 400


def test_owner_attaches_the_site_through_the_link(client, factories, rsa_key, install_keys):
    s = factories.setup()
    assert lifecycle(client, rsa_key, "installed").status_code == 200
    path = _link_path(_configure(client).get_data(as_text=True))

    anonymous = client.get(path)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith(
        "/login?next=/extensions/jira/link/"
    )
    assert client.post(path, data={"organization": "acme"}).status_code == 401

    page = client.get(path, headers=s["headers"])
    assert page.status_code == 200 and 'value="acme"' in page.get_data(as_text=True)
    done = client.post(path, data={"organization": "acme"}, headers=s["headers"])
    assert done.status_code == 200 and "now connected to" in done.get_data(as_text=True)
    listed = client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json
    assert [(i["provider"], i["externalId"], i["status"]) for i in listed] == [("jira", CLIENT_KEY, "active")]


def test_cross_site_post_cannot_attach_the_site(client, factories, rsa_key, install_keys):
    s = factories.setup()
    assert lifecycle(client, rsa_key, "installed").status_code == 200
    path = _link_path(_configure(client).get_data(as_text=True))

    forged = client.post(
        path, data={"organization": "acme"}, headers={**s["headers"], "Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    assert client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json == []
    own = client.post(path, data={"organization": "acme"}, headers={**s["headers"], "Origin": "http://hub.test"})
    assert own.status_code == 200


def test_member_of_another_org_cannot_attach(client, factories, rsa_key, install_keys):
    acme = factories.setup()
    globex = factories.setup(org_slug="globex", project_slug="web", email="boss@globex.com")
    member = factories.member(acme["org"], "dev@example.com", role="member")
    member_headers = {"Authorization": f"Bearer {factories.token(member)}"}
    assert lifecycle(client, rsa_key, "installed").status_code == 200
    path = _link_path(_configure(client).get_data(as_text=True))

    assert client.get(path, headers=member_headers).status_code == 403  # administers no org
    r = client.post(path, data={"organization": "acme"}, headers=member_headers)
    assert r.status_code == 403
    r = client.post(path, data={"organization": "acme"}, headers=globex["headers"])  # admin elsewhere
    assert r.status_code == 403 and "organization" in r.json["errors"]
    assert client.get("/api/0/organizations/acme/integrations/", headers=acme["headers"]).json == []


def test_forged_link_is_400(client, env):
    r = client.get("/extensions/jira/link/not-a-signed-token/", headers=env["headers"])
    assert r.status_code == 400 and "not valid" in r.json["detail"]


def test_manual_install_validates_metadata(client, factories):
    s = factories.setup()
    r = client.post(
        "/api/0/organizations/acme/integrations/",
        json={"provider": "jira", "externalId": "site-x", "metadata": {"base_url": SITE}},
        headers=s["headers"],
    )
    assert r.status_code == 400 and "shared_secret" in r.json["errors"]
    r = client.post(
        "/api/0/organizations/acme/integrations/",
        json={
            "provider": "jira",
            "externalId": "site-x",
            "metadata": {"base_url": "ftp://x", "shared_secret": SECRET},
        },
        headers=s["headers"],
    )
    assert r.status_code == 400 and "base_url" in r.json["errors"]
    r = client.post(
        "/api/0/organizations/acme/integrations/",
        json={
            "provider": "jira",
            "externalId": "site-x",
            "metadata": {"base_url": SITE + "/", "shared_secret": SECRET},
        },
        headers=s["headers"],
    )
    assert r.status_code == 201, r.json
    stored = services.get_integration("jira", "site-x")
    assert stored.metadata["base_url"] == SITE and stored.metadata["client_key"] == "site-x"


def test_another_org_attaches_the_site_only_with_a_token_signed_by_it(client, factories):
    from tests.plugins.jira.conftest import CLIENT_KEY, SECRET, SITE, connect_token

    factories.integration(None, "jira", CLIENT_KEY, {"base_url": SITE, "shared_secret": SECRET,
                                                       "client_key": CLIENT_KEY})
    s = factories.setup(org_slug="globex", email="boss@globex.com")
    body = {
        "provider": "jira",
        "externalId": CLIENT_KEY,
        "metadata": {"base_url": SITE, "shared_secret": SECRET},
    }
    url = "/api/0/organizations/globex/integrations/"
    assert (
        client.post(url, json=body, headers=s["headers"]).status_code == 409
    )  # installed, waiting for an org
    forged = connect_token("GET", "/", secret="not-the-shared-secret-of-this-jira-site")
    assert client.post(url, json={**body, "linkToken": forged}, headers=s["headers"]).status_code == 409
    other_site = connect_token("GET", "/", iss="another-client-key")
    assert client.post(url, json={**body, "linkToken": other_site}, headers=s["headers"]).status_code == 409
    r = client.post(url, json={**body, "linkToken": connect_token("GET", "/")}, headers=s["headers"])
    assert r.status_code == 201 and r.json["provider"] == "jira" and r.json["externalId"] == CLIENT_KEY


def test_manual_install_accepts_connect_names_and_then_syncs(client, factories, run_jobs, requests_mock):
    from hub import services
    from tests.plugins.jira.conftest import decode_outbound

    s = factories.setup()
    r = client.post("/api/0/organizations/acme/integrations/", headers=s["headers"], json={
        "provider": "jira", "externalId": "site-y", "metadata": {"baseUrl": SITE, "sharedSecret": SECRET}})
    assert r.status_code == 201, r.json
    stored = services.get_integration("jira", "site-y")
    assert stored.metadata["base_url"] == SITE and stored.metadata["shared_secret"] == SECRET
    requests_mock.get(
        f"{SITE}/rest/api/3/issue/APP-9",
        json={
            "id": "1",
            "key": "APP-9",
            "fields": {
                "summary": "Crash",
                "project": {"id": "10100"},
                "status": {"id": "3", "statusCategory": {"key": "new"}},
            },
        },
    )
    gid = factories.group(s["project"]).id
    r = client.post(f"/api/0/organizations/acme/issues/{gid}/external-issues/", headers=s["headers"],
                    json={"integrationId": stored.id, "action": "link", "externalIssue": "APP-9"})
    assert r.status_code == 201 and r.json["url"] == f"{SITE}/browse/APP-9"
    decode_outbound(requests_mock.last_request)
