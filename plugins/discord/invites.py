"""Member invite requests in Discord: posted with Approve / Reject buttons to the org's alert
channel; a click is handled by the core's door (``services.chat_invite_request``), as the linked
hub user, so Discord can never give a role the API would refuse that user."""

from __future__ import annotations

import logging
from typing import Any

from hub import services
from hub.types import ChatIdentity, Integration, InviteRequest
from plugins.discord import identity
from plugins.discord import messages as msg
from plugins.discord.client import DiscordClient

logger = logging.getLogger("hub.plugins.discord")

APPROVE, REJECT = "approve_member", "reject_member"
ACTIONS = (APPROVE, REJECT)
GONE = "This invite request no longer exists."


def text(invite: InviteRequest) -> str:
    who = invite.requester.name or invite.requester.email if invite.requester else "A member"
    return f"{who} is requesting to invite {invite.email} as {invite.role} to {invite.organization_slug}."


def post(invite: InviteRequest, channel_id: str) -> None:
    """``POST /channels/{id}/messages``: the request with its two buttons (no mentions pinged)."""
    body = {
        "content": text(invite),
        "allowed_mentions": {"parse": []},
        "components": [{"type": msg.ACTION_ROW, "components": [
            msg.button("Approve", f"{APPROVE}:{invite.id}", msg.SUCCESS),
            msg.button("Reject", f"{REJECT}:{invite.id}", msg.DANGER),
        ]}],
    }
    DiscordClient.from_config().create_message(channel_id, body)
    logger.info("discord.invite-request-posted", extra={"invite_request": invite.id, "channel": channel_id})


def handle(integration: Integration, actor: ChatIdentity, action: str, invite_id: str) -> dict[str, Any]:
    """A click on Approve or Reject: the answer to send back. Whether the Discord user may (linked to
    an owner or admin of the invite's org, who may give that role) is the core's door
    (:func:`hub.services.chat_invite_request`); this says it in Discord's words."""
    result = services.chat_invite_request(integration, actor, invite_id, action == APPROVE)
    if result.outcome == "not-found":
        return msg.ephemeral("This invite request does not belong to an organization that uses this server.")
    if result.outcome == "link-identity":
        discord_user = {"id": actor.user_id, "global_name": actor.name}
        return msg.link_prompt(identity.link_url(integration, discord_user))
    if result.outcome == "not-member":
        return msg.ephemeral("You are not a member of the organization of this invite request. "
                             "If you linked the wrong account, use /unlink and then /link.")
    if result.outcome != "applied" or result.invite is None:
        return msg.ephemeral(result.detail or GONE)
    verb = "Approved" if action == APPROVE else "Rejected"
    logger.info("discord.invite-request-handled", extra={
        "integration": integration.id, "invite_request": result.invite.id, "approved": action == APPROVE})
    answer = msg.update_message(f"{text(result.invite)}\n{verb} by <@{actor.user_id}>.", [])
    answer["data"]["allowed_mentions"] = {"parse": []}  # names are the users' own: never a ping
    return answer
