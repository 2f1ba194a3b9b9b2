"""Member invite requests in Discord: posted with Approve / Reject buttons to the org's alert
channel; a click is handled by the core's one rule (``services.handle_invite_request``), as the
linked hub user, so Discord can never give a role the API would refuse that user."""

from __future__ import annotations

import logging
from typing import Any

from hub import services
from hub.errors import NotFound, ValidationError
from hub.types import Integration, InviteRequest, User
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


def handle(integration: Integration, user: User, action: str, invite_id: str,
           discord_user_id: str) -> dict[str, Any]:
    """A click on Approve or Reject by a linked Discord user: the answer to send back. Whether
    they may (an owner or admin of the invite's org, who may give that role) is the core's rule."""
    invite = services.get_invite_request(invite_id) if invite_id.isdigit() else None
    if invite is None:
        return msg.ephemeral(GONE)
    orgs = {o["id"] for o in services.organizations_of(integration.id) if o["status"] != "disabled"}
    if invite.organization_id not in orgs:
        return msg.ephemeral("This invite request does not belong to an organization that uses this server.")
    try:
        handled = services.handle_invite_request(invite.id, action == APPROVE, user.id)
    except NotFound:
        return msg.ephemeral(GONE)
    except ValidationError as e:
        return msg.ephemeral(e.detail)
    verb = "Approved" if action == APPROVE else "Rejected"
    logger.info("discord.invite-request-handled", extra={
        "integration": integration.id, "invite_request": handled.id, "approved": action == APPROVE})
    answer = msg.update_message(f"{text(handled)}\n{verb} by <@{discord_user_id}>.", [])
    answer["data"]["allowed_mentions"] = {"parse": []}  # names are the users' own: never a ping
    return answer
