"""hub/services.py: ``chat_invite_request``, the one door for invite request buttons, checks the
chat user's link, their org and their role itself, so a plugin that checks nothing is still refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hub import ChatIdentity, services
from hub import models as m
from hub.extensions import db


@pytest.fixture
def chat(env: dict[str, Any], factories: Any) -> dict[str, Any]:
    integration = factories.integration(env["org"], "chat", "T-1")
    env["chat"] = services.get_integration_by_id(str(integration.id))
    env["headers"] = {"Authorization": f"Bearer {env['token']}"}
    return env


def _file(client: Any, headers: dict[str, str], org: str = "acme", role: str = "member",
          email: str = "new@example.com") -> str:
    r = client.post(f"/api/0/organizations/{org}/invite-requests/", headers=headers,
                    json={"email": email, "role": role})
    assert r.status_code == 201, r.json
    return str(r.json["id"])


def _click(chat: dict[str, Any], user: str, invite_id: str, approve: bool) -> Any:
    """What a chat plugin that checks nothing itself does with an Approve / Reject click."""
    return services.chat_invite_request(chat["chat"], ChatIdentity("chat", "T-1", user), invite_id, approve)


def _status(invite_id: str) -> str:
    db.session.expire_all()
    row = db.session.get(m.InviteRequest, int(invite_id))
    assert row is not None
    return row.status


def _member_emails(org: Any) -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(
        select(m.User.email).join(m.OrganizationMember, m.OrganizationMember.user_id == m.User.id)
        .where(m.OrganizationMember.organization_id == org.id)))


def test_a_linked_owner_approves_and_a_second_click_finds_it_gone(client, chat, factories):
    invite_id = _file(client, chat["headers"])
    factories.identity(chat["chat"], "C-OWNER", chat["owner"])
    result = _click(chat, "C-OWNER", invite_id, True)
    assert result.outcome == "applied"
    assert (result.user.email, result.invite.email) == ("owner@example.com", "new@example.com")
    assert _status(invite_id) == "approved" and "new@example.com" in _member_emails(chat["org"])
    again = _click(chat, "C-OWNER", invite_id, False)
    assert (again.outcome, again.detail) == ("gone", "This invite request no longer exists.")
    assert _status(invite_id) == "approved"


def test_an_unlinked_chat_user_is_asked_to_link(client, chat):
    invite_id = _file(client, chat["headers"])
    result = _click(chat, "C-NOBODY", invite_id, True)
    assert (result.outcome, result.user) == ("link-identity", None)
    assert _status(invite_id) == "pending"


def test_a_chat_user_of_another_org_is_refused_in_the_core(client, chat, factories):
    other = factories.setup(org_slug="globex", email="eve@globex.test")  # an owner, of globex
    factories.identity(chat["chat"], "C-EVE", other["owner"])
    invite_id = _file(client, chat["headers"])
    result = _click(chat, "C-EVE", invite_id, True)
    assert (result.outcome, result.user.email) == ("not-member", "eve@globex.test")
    assert _status(invite_id) == "pending" and "new@example.com" not in _member_emails(chat["org"])


def test_a_member_without_the_role_is_refused_in_the_core(client, chat, factories):
    invite_id = _file(client, chat["headers"])
    factories.identity(chat["chat"], "C-DEV", chat["member"])
    result = _click(chat, "C-DEV", invite_id, True)
    assert result.outcome == "forbidden"
    assert result.detail == ("Only an owner or admin of the organization can approve or reject "
                             "invite requests.")
    assert _click(chat, "C-DEV", invite_id, False).outcome == "forbidden"
    assert _status(invite_id) == "pending"


def test_an_admin_cannot_give_the_owner_role_from_chat(client, chat, factories):
    admin = factories.member(chat["org"], "ada@example.com", role="admin")
    factories.identity(chat["chat"], "C-ADA", admin)
    invite_id = _file(client, chat["headers"], role="owner", email="boss@example.com")
    result = _click(chat, "C-ADA", invite_id, True)
    assert (result.outcome, result.detail) == ("forbidden", "Only an owner can add an owner.")
    assert _status(invite_id) == "pending" and "boss@example.com" not in _member_emails(chat["org"])
    assert _click(chat, "C-ADA", invite_id, False).outcome == "applied"
    assert _status(invite_id) == "rejected"


def test_an_invite_of_an_org_that_does_not_use_this_integration_is_not_found(client, chat, factories):
    other = factories.setup(org_slug="globex", email="boss@globex.test")
    invite_id = _file(client, {"Authorization": f"Bearer {other['token']}"}, org="globex")
    factories.member(other["org"], "owner@example.com", role="owner")  # acme's owner owns globex too
    factories.identity(chat["chat"], "C-OWNER", chat["owner"])
    result = _click(chat, "C-OWNER", invite_id, True)
    assert result.outcome == "not-found" and _status(invite_id) == "pending"


def test_an_org_that_disabled_the_integration_cannot_be_answered_from_it(client, chat, factories):
    invite_id = _file(client, chat["headers"])
    factories.identity(chat["chat"], "C-OWNER", chat["owner"])
    oi = db.session.scalar(select(m.OrganizationIntegration).where(
        m.OrganizationIntegration.integration_id == int(chat["chat"].id)))
    oi.status = "disabled"
    db.session.commit()
    assert _click(chat, "C-OWNER", invite_id, True).outcome == "not-found"
    assert _status(invite_id) == "pending"


@pytest.mark.parametrize("invite_id", ["x", "0", "-1", "99999999999999999999999", ""])
def test_a_bad_invite_id_is_gone(chat, factories, invite_id):
    factories.identity(chat["chat"], "C-OWNER", chat["owner"])
    assert _click(chat, "C-OWNER", invite_id, True).outcome == "gone"


# -- set_status / assign: the acting user and integration are checked against the org ----------


def test_set_status_refuses_a_user_or_an_integration_of_another_org(chat, factories):
    from hub.errors import Forbidden

    group = factories.group(chat["project"])
    other = factories.setup("globex", "web", "boss@globex.example")
    foreign = factories.integration(other["org"], "chat", "T-GLOBEX")

    with pytest.raises(Forbidden, match="not a member of the issue's organization"):
        services.set_status(str(group.id), "resolved", actor_user_id=str(other["owner"].id),
                            integration_id=str(chat["chat"].id))
    with pytest.raises(Forbidden, match="not installed for the issue's organization"):
        services.set_status(str(group.id), "resolved", actor_user_id=str(chat["owner"].id),
                            integration_id=str(foreign.id))
    with pytest.raises(Forbidden):
        services.assign(str(group.id), str(chat["owner"].id), actor_user_id=str(other["owner"].id),
                        integration_id=None)
    db.session.expire_all()
    row = db.session.get(m.Group, group.id)
    assert row is not None and row.status == "unresolved" and row.assignee is None  # nothing changed

    done = services.set_status(str(group.id), "resolved", actor_user_id=str(chat["owner"].id),
                               integration_id=str(chat["chat"].id))
    assert done.status == "resolved"
