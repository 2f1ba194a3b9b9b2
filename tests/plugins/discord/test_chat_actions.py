"""The core refuses a Discord user's chat action whatever the plugin checked (``services.chat_action``)."""

from __future__ import annotations

from hub import ChatAction, ChatIdentity, services
from tests.plugins.discord.conftest import DISCORD_USER_ID, GUILD_ID


def act(discord, action, group_id=None, choice=None, user_id=DISCORD_USER_ID):
    integration = services.get_integration("discord", GUILD_ID)
    actor = ChatIdentity("discord", GUILD_ID, user_id, "Jess")
    group_id = str(group_id or discord["group"].id)
    return services.chat_action(integration, ChatAction(actor, group_id, action, choice))


def status(client, discord):
    r = client.get(f"/api/0/organizations/acme/issues/{discord['group'].id}/", headers=discord["headers"])
    return r.json["status"], r.json["assignedTo"]


def activity_types(client, discord):
    r = client.get(f"/api/0/organizations/acme/issues/{discord['group'].id}/activities/",
                   headers=discord["headers"])
    return [a["type"] for a in r.json]


def test_a_discord_user_without_a_linked_identity_is_refused(client, discord):
    result = act(discord, "resolve")
    assert (result.outcome, result.user) == ("link-identity", None)
    assert status(client, discord) == ("unresolved", None)


def test_a_linked_user_of_another_org_is_refused(client, discord, factories):
    other = factories.setup(org_slug="other", email="stranger@example.com")
    factories.identity(discord["integration"], DISCORD_USER_ID, other["owner"])
    for action in ("resolve", "ignore", "view"):
        result = act(discord, action)
        assert result.outcome == "not-member", action
    assert act(discord, "assign", choice=str(other["owner"].id)).outcome == "not-member"
    assert status(client, discord) == ("unresolved", None)
    assert activity_types(client, discord) == ["first_seen"]


def test_an_issue_of_an_org_without_this_guild_is_not_found(client, discord, factories):
    other = factories.setup(org_slug="other", email="other@example.com")
    foreign = factories.group(other["project"], "KeyError: 'x'")
    factories.member(other["org"], "owner@example.com", role="owner")  # a member of both orgs
    factories.identity(discord["integration"], DISCORD_USER_ID, discord["owner"])
    assert act(discord, "resolve", group_id=foreign.id).outcome == "not-found"
    assert act(discord, "resolve", group_id="999999").outcome == "not-found"
    r = client.get(f"/api/0/organizations/other/issues/{foreign.id}/", headers=other["headers"])
    assert r.json["status"] == "unresolved"


def test_a_linked_member_acts_once_and_view_changes_nothing(client, discord, factories):
    factories.identity(discord["integration"], DISCORD_USER_ID, discord["owner"])
    assert act(discord, "view").outcome == "unchanged"
    assert activity_types(client, discord) == ["first_seen"]
    first = act(discord, "resolve")
    assert (first.outcome, first.group.status) == ("applied", "resolved")
    assert first.user.email == "owner@example.com"
    assert act(discord, "resolve").outcome == "unchanged"
    assert activity_types(client, discord).count("set_resolved") == 1
    outsider = factories.member(discord["org"], "out@example.com", projects=[])
    refused = act(discord, "assign", choice=str(outsider.id))
    assert refused.outcome == "invalid" and refused.detail == "That user cannot be assigned to this issue."
    assert act(discord, "explode").outcome == "invalid"
    assert status(client, discord) == ("resolved", None)
