"""Who may give which role (adding members, asking for and approving invite requests), and
invitations: a user of another org joins only by accepting (issue 10, items 3 and 9)."""

from __future__ import annotations

import concurrent.futures

import pytest
from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db

MEMBERS = "/api/0/organizations/acme/members/"
REQUESTS = "/api/0/organizations/acme/invite-requests/"


def _headers(factories, user):
    return {"Authorization": f"Bearer {factories.token(user)}"}


def _role_of(email):
    return db.session.scalar(select(m.OrganizationMember.role).join(m.User).where(m.User.email == email))


@pytest.mark.parametrize("requester_role, role, status", [
    ("member", "member", 201), ("member", "admin", 403), ("member", "owner", 403),
    ("admin", "admin", 201), ("admin", "owner", 403), ("owner", "owner", 201),
])
def test_invite_requests_are_capped_at_the_roles_the_requester_may_ask_for(
        client, env, factories, requester_role, role, status):
    requester = factories.member(env["org"], "asker@example.com", role=requester_role)
    r = client.post(REQUESTS, json={"email": "friend@example.com", "role": role},
                    headers=_headers(factories, requester))
    assert r.status_code == status, r.json
    if status == 403:
        assert "role" in r.json["errors"]
    pending = client.get(REQUESTS, headers=env["headers"]).json
    assert [p["role"] for p in pending] == ([role] if status == 201 else [])


def test_an_admin_cannot_approve_an_owner_request_through_the_api(client, env, factories):
    """A request stored before the cap (or by an owner) for `owner`: only an owner may approve it."""
    admin = factories.member(env["org"], "admin@example.com", role="admin")
    row = m.InviteRequest(organization_id=env["org"].id, email="climber@example.com", role="owner",
                          requester_id=env["member"].id, status="pending")
    db.session.add(row)
    db.session.commit()
    url = f"{REQUESTS}{row.id}/"
    r = client.put(url, json={"approve": True}, headers=_headers(factories, admin))
    assert r.status_code == 403
    assert r.json["detail"] == "Only an owner can add an owner."
    assert _role_of("climber@example.com") is None
    assert [p["id"] for p in client.get(REQUESTS, headers=env["headers"]).json] == [str(row.id)]
    member_headers = _headers(factories, env["member"])
    assert client.put(url, json={"approve": True}, headers=member_headers).status_code == 403

    r = client.put(url, json={"approve": True}, headers=env["headers"])
    assert r.status_code == 200 and r.json["status"] == "approved"
    assert _role_of("climber@example.com") == "owner"
    assert client.put(url, json={"approve": True}, headers=env["headers"]).status_code == 404


def test_an_admin_approves_and_rejects_through_the_api(client, env, factories):
    admin = factories.member(env["org"], "admin@example.com", role="admin")
    member_headers = _headers(factories, env["member"])
    first = client.post(REQUESTS, json={"email": "one@example.com"}, headers=member_headers).json["id"]
    second = client.post(REQUESTS, json={"email": "two@example.com"}, headers=member_headers).json["id"]
    not_a_bool = client.put(f"{REQUESTS}{first}/", json={"approve": "yes"}, headers=env["headers"])
    assert not_a_bool.status_code == 400
    assert client.put(f"{REQUESTS}{first}/", json={"approve": True},
                      headers=_headers(factories, admin)).status_code == 200
    assert client.delete(f"{REQUESTS}{second}/", headers=_headers(factories, admin)).status_code == 204
    assert (_role_of("one@example.com"), _role_of("two@example.com")) == ("member", None)
    assert client.get(REQUESTS, headers=env["headers"]).json == []
    rows = db.session.scalars(select(m.InviteRequest).order_by(m.InviteRequest.id)).all()
    assert [(r.status, r.handled_by_id) for r in rows] == [("approved", admin.id), ("rejected", admin.id)]


def test_an_approver_demoted_since_the_request_cannot_approve(client, env, factories):
    """The approver's role is the one they have when they click, not when the request came."""
    admin = factories.member(env["org"], "admin@example.com", role="admin")
    invite_id = client.post(REQUESTS, json={"email": "new@example.com"},
                            headers=_headers(factories, env["member"])).json["id"]
    row = db.session.scalar(select(m.OrganizationMember).where(m.OrganizationMember.user_id == admin.id))
    row.role = "member"
    db.session.commit()
    r = client.put(f"{REQUESTS}{invite_id}/", json={"approve": True}, headers=_headers(factories, admin))
    assert r.status_code == 403
    assert _role_of("new@example.com") is None


def test_approving_once_under_concurrent_clicks(app, env, factories):
    invite_id = app.test_client().post(REQUESTS, json={"email": "new@example.com"},
                                       headers=_headers(factories, env["member"])).json["id"]
    headers = env["headers"]

    def approve(_):
        with app.test_client() as c:
            return c.put(f"{REQUESTS}{invite_id}/", json={"approve": True}, headers=headers).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(approve, range(16)))
    assert statuses.count(200) == 1 and set(statuses) <= {200, 404}, statuses
    db.session.expire_all()
    count = db.session.scalar(select(func.count()).select_from(m.OrganizationMember).join(m.User)
                              .where(m.User.email == "new@example.com"))
    assert count == 1


def test_an_admin_still_cannot_add_an_owner_directly(client, env, factories):
    admin = factories.member(env["org"], "admin@example.com", role="admin")
    headers = _headers(factories, admin)
    r = client.post(MEMBERS, json={"email": "x@example.com", "role": "owner"}, headers=headers)
    assert r.status_code == 403 and r.json["detail"] == "Only an owner can add an owner."
    r = client.post(MEMBERS, json={"email": "x@example.com", "role": "admin"}, headers=headers)
    assert r.status_code == 201 and r.json["role"] == "admin"


# -- invitations: a user of another org is never added silently ---------------------------------------


def test_a_user_of_another_org_is_invited_not_added(client, env, factories):
    other = factories.setup(org_slug="globex", project_slug="web", email="grace@globex.example")
    grace = other["owner"]  # named "Owner" in globex: acme must not learn it
    grace.name = "Grace Hopper"
    db.session.commit()
    r = client.post(MEMBERS, json={"email": "Grace@Globex.example", "role": "admin", "projects": ["backend"]},
                    headers=env["headers"])
    assert r.status_code == 201, r.json
    assert r.json == {"id": r.json["id"], "userId": str(grace.id), "email": "grace@globex.example",
                      "role": "admin", "projects": ["backend"], "pending": True}
    assert "Grace Hopper" not in r.get_data(as_text=True)
    members = client.get(MEMBERS, headers=env["headers"]).json
    assert "grace@globex.example" not in [x["email"] for x in members]
    grace_headers = {"Authorization": f"Bearer {other['token']}"}
    assert client.get("/api/0/organizations/acme/issues/", headers=grace_headers).status_code == 404
    again = client.post(MEMBERS, json={"email": "grace@globex.example"}, headers=env["headers"])
    assert again.status_code == 409 and again.json["errors"] == {"email": ["Already invited."]}

    # Only Grace can accept it; anyone else (the inviting owner included) gets a 404.
    accept = f"{MEMBERS}{r.json['id']}/accept/"
    assert client.post(accept, headers=env["headers"]).status_code == 404
    assert client.post(accept, headers=_headers(factories, env["member"])).status_code == 404
    assert client.post(f"/api/0/organizations/globex/members/{r.json['id']}/accept/",
                       headers=grace_headers).status_code == 404
    invitations = client.get("/api/0/invitations/", headers=grace_headers).json
    assert [(i["id"], i["organization"], i["role"], i["projects"]) for i in invitations] == [
        (r.json["id"], "acme", "admin", ["backend"])]

    accepted = client.post(accept, headers=grace_headers)
    assert accepted.status_code == 201, accepted.json
    got = accepted.json
    assert (got["userId"], got["role"], got["projects"], got["pending"]) == (
        str(grace.id),
        "admin",
        ["backend"],
        False,
    )
    assert client.get("/api/0/organizations/acme/issues/", headers=grace_headers).status_code == 200
    assert client.post(accept, headers=grace_headers).status_code == 404
    assert client.get("/api/0/invitations/", headers=grace_headers).json == []
    r = client.post(MEMBERS, json={"email": "grace@globex.example"}, headers=env["headers"])
    assert r.status_code == 409 and r.json["errors"] == {"email": ["Already a member."]}


def test_a_brand_new_user_is_added_at_once_as_before(client, env):
    r = client.post(MEMBERS, json={"email": "new@example.com", "name": "Newt", "projects": ["backend"]},
                    headers=env["headers"])
    assert r.status_code == 201
    assert (r.json["email"], r.json["role"], r.json["projects"], r.json["pending"]) == (
        "new@example.com", "member", ["backend"], False)
    assert "new@example.com" in [x["email"] for x in client.get(MEMBERS, headers=env["headers"]).json]


def test_an_approved_invite_request_for_a_user_of_another_org_invites_them(client, env, factories):
    other = factories.setup(org_slug="globex", project_slug="web", email="grace@globex.example")
    invite_id = client.post(REQUESTS, json={"email": "grace@globex.example"},
                            headers=_headers(factories, env["member"])).json["id"]
    r = client.put(f"{REQUESTS}{invite_id}/", json={"approve": True}, headers=env["headers"])
    assert r.status_code == 200 and r.json["status"] == "approved"
    assert _role_of("grace@globex.example") == "owner"  # of globex only
    members = client.get(MEMBERS, headers=env["headers"]).json
    assert "grace@globex.example" not in [x["email"] for x in members]
    grace_headers = {"Authorization": f"Bearer {other['token']}"}
    [invitation] = client.get("/api/0/invitations/", headers=grace_headers).json
    assert (invitation["organization"], invitation["role"]) == ("acme", "member")


def test_concurrent_invitations_of_one_user_make_one(app, env, factories):
    factories.setup(org_slug="globex", project_slug="web", email="grace@globex.example")
    headers = env["headers"]

    def invite(_):
        with app.test_client() as c:
            return c.post(MEMBERS, json={"email": "grace@globex.example"}, headers=headers).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(invite, range(16)))
    assert statuses.count(201) == 1 and set(statuses) <= {201, 409}, statuses
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(m.MemberInvitation)) == 1


def test_concurrent_adds_of_a_new_user_make_one_member(app, env):
    headers = env["headers"]

    def add(_):
        with app.test_client() as c:
            return c.post(MEMBERS, json={"email": "new@example.com"}, headers=headers).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(add, range(16)))
    assert statuses.count(201) == 1 and set(statuses) <= {201, 409}, statuses
    db.session.expire_all()
    count = db.session.scalar(select(func.count()).select_from(m.OrganizationMember).join(m.User)
                              .where(m.User.email == "new@example.com"))
    assert count == 1
