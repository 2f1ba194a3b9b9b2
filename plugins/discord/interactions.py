"""``POST /extensions/discord/interactions/``: PING, slash commands and message components.

Discord needs the interaction response within 3 seconds, so it is answered here, verified (the
route's verifier) and with no Discord API call: a button acts through the core's
:func:`hub.services.chat_action`, which checks the Discord user's linked hub user, their
membership of the issue's org and their role; the answer is an ephemeral message (type 4,
flag 64) or an update of the clicked message (type 7). What needs Discord's API afterwards (the
alert's buttons after a choice in a dialog) is deferred to a worker (:mod:`plugins.discord.tasks`).
"""

from __future__ import annotations

import logging
from typing import Any

from hub import ChatAction, ChatIdentity, WebhookResponse, services
from hub.types import ChatActionResult, Integration, WebhookRequest
from plugins.discord import identity, invites, tasks
from plugins.discord import messages as msg

logger = logging.getLogger("hub.plugins.discord")

PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
KEY = "discord"


def _error(status: int, detail: str, errors: dict[str, list[str]] | None = None) -> WebhookResponse:
    return WebhookResponse(status=status, json={"detail": detail, "errors": errors or {}})


def _answer(body: dict[str, Any]) -> WebhookResponse:
    return WebhookResponse(status=200, json=body)


def handle_interaction(request: WebhookRequest, verified: None) -> WebhookResponse:
    """Answer one (verified) interaction."""
    try:
        payload = request.json()
    except ValueError:
        return _error(400, "The body is not JSON.")
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), int):
        return _error(400, "Not a Discord interaction.", {"type": ["Missing or not an integer."]})
    kind = payload["type"]
    if kind == PING:
        return _answer({"type": msg.PONG})
    if kind == AUTOCOMPLETE:  # the hub's commands take no options: nothing to suggest
        return _answer({"type": msg.AUTOCOMPLETE_RESULT, "data": {"choices": []}})
    if kind == MODAL_SUBMIT:  # the hub opens no Discord modal: answered, so Discord shows no failure
        return _answer(msg.ephemeral(msg.NOT_OUR_FORM))
    if kind not in (APPLICATION_COMMAND, MESSAGE_COMPONENT):
        return _error(400, f"Unsupported interaction type {kind}.", {"type": ["Expected 1 to 5."]})
    if request.already_processed(f"interaction:{payload['id']}" if payload.get("id") else None):
        return _answer(msg.ephemeral("This interaction was already handled."))
    if kind == APPLICATION_COMMAND and str(_obj(payload.get("data")).get("name") or "") == "help":
        return _answer(msg.ephemeral(msg.HELP))  # help needs no installation (a DM, a server without the hub)
    integration = _integration(payload)
    if integration is None:
        return _answer(msg.ephemeral(msg.NOT_INSTALLED if payload.get("guild_id") else msg.NOT_IN_A_SERVER))
    if kind == APPLICATION_COMMAND:
        return _answer(handle_command(integration, payload))
    return _answer(handle_component(integration, payload))


def _integration(payload: dict[str, Any]) -> Integration | None:
    guild_id = payload.get("guild_id")
    if not guild_id:
        return None
    integration = services.get_integration(KEY, str(guild_id))
    if integration is None or integration.status == "disabled":
        return None
    return integration


def _obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else ``{}``: a signed payload's shape is still not trusted."""
    return value if isinstance(value, dict) else {}


def _discord_user(payload: dict[str, Any]) -> dict[str, Any]:
    return _obj(_obj(payload.get("member")).get("user") or payload.get("user"))


def _snowflake(value: Any) -> str | None:
    text = str(value or "")
    return text if text.isascii() and text.isdigit() and len(text) <= 20 else None


# -- commands ---------------------------------------------------------------------------------------


def handle_command(integration: Integration, payload: dict[str, Any]) -> dict[str, Any]:
    data = _obj(payload.get("data"))
    name = str(data.get("name") or "")
    discord_user = _discord_user(payload)
    user_id = str(discord_user.get("id") or "")
    if not user_id:
        return msg.ephemeral("Could not tell who you are; try again from a server channel.")
    if name == "link":
        linked = services.get_identity(integration.id, user_id)
        if linked is not None:
            return msg.ephemeral(f"You are already linked as {linked.email}.")
        return msg.link_prompt(identity.link_url(integration, discord_user))
    if name == "unlink":
        if services.unlink_identity(integration.id, user_id):
            logger.info("discord.identity-unlinked", extra={"integration": integration.id})
            return msg.ephemeral("Your Discord account has been unlinked from Integration Hub.")
        return msg.ephemeral("Your Discord account is not linked to Integration Hub.")
    return msg.ephemeral(f"Unknown command /{name}. Try /help.")


# -- components ---------------------------------------------------------------------------------------

#: A component's ``custom_id`` prefix → the core's chat action and what we say when it was done.
STATUS_BUTTONS = {
    "resolve": ("resolve", msg.RESOLVED),
    "unresolve": ("unresolve", msg.UNRESOLVED),
    "archive": ("ignore", msg.ARCHIVED),
    "mark_ongoing": ("unresolve", msg.MARKED_ONGOING),
}
DIALOGS = ("resolve_dialog", "assign_dialog")
SELECTS = ("resolve", "assign")  # with ``values``: a choice made in a dialog


def handle_component(integration: Integration, payload: dict[str, Any]) -> dict[str, Any]:
    """A button or a select. ``custom_id`` reads ``<action>:<issue id>[:<alert message id>]``."""
    data = _obj(payload.get("data"))
    action, _, rest = str(data.get("custom_id") or "").partition(":")
    issue_id, _, alert_id = rest.partition(":")
    values = data.get("values")
    values = [str(v) for v in values] if isinstance(values, list) else None
    discord_user = _discord_user(payload)
    if action in invites.ACTIONS:
        return _invite(integration, action, issue_id, discord_user)
    if action not in STATUS_BUTTONS and action not in DIALOGS and action not in SELECTS:
        return msg.ephemeral(msg.UNKNOWN_ACTION)
    actor = ChatIdentity(KEY, integration.external_id, str(discord_user.get("id") or ""),
                         str(discord_user.get("global_name") or discord_user.get("username") or ""))
    if not issue_id.isascii() or not issue_id.isdigit():  # the core's checks, in FLOWS' order (link first)
        viewed = services.chat_action(integration, ChatAction(actor, issue_id, "view"))
        return _refused(integration, viewed, discord_user) or msg.ephemeral(msg.INVALID_ISSUE)
    if action in DIALOGS:
        return _dialog(integration, actor, action, issue_id, payload, discord_user)
    if values is not None and action == "assign":
        return _assign(integration, actor, issue_id, values, discord_user)
    if values is not None and action == "resolve":  # the resolve dialog's select
        return _resolve_choice(integration, actor, issue_id, values, payload, alert_id, discord_user)
    if action not in STATUS_BUTTONS:  # "assign" without a select's values
        return msg.ephemeral("Select an assignee first; nothing was changed.")
    chat_action, text = STATUS_BUTTONS[action]
    result = services.chat_action(integration, ChatAction(actor, issue_id, chat_action))
    refused = _refused(integration, result, discord_user)
    if refused is not None:
        return refused
    assert result.group is not None
    _logged(integration, action, result)
    return msg.update_message(text, msg.alert_components(result.group))


def _refused(integration: Integration, result: ChatActionResult,
             discord_user: dict[str, Any]) -> dict[str, Any] | None:
    """The answer to a chat action the core refused, in Discord's words; ``None`` when it was done."""
    if result.outcome in ("applied", "unchanged"):
        return None
    if result.outcome == "link-identity":
        return msg.link_prompt(identity.link_url(integration, discord_user))
    if result.outcome == "not-member":
        return msg.ephemeral(msg.NOT_A_MEMBER)
    if result.outcome == "not-found":
        return msg.ephemeral(msg.INVALID_ISSUE)
    if result.outcome == "forbidden":
        return msg.ephemeral(result.detail or "You may not do this.")
    return msg.ephemeral(result.detail or "That did not work; nothing was changed.")


def _logged(integration: Integration, action: str, result: ChatActionResult) -> None:
    group_id = result.group.id if result.group else None
    logger.info("discord.action", extra={"action": action, "group": group_id, "integration": integration.id,
                                         "outcome": result.outcome})


def _dialog(integration: Integration, actor: ChatIdentity, action: str, issue_id: str,
            payload: dict[str, Any], discord_user: dict[str, Any]) -> dict[str, Any]:
    """An ephemeral select (resolve how, assign to whom), once the core says this user may act."""
    result = services.chat_action(integration, ChatAction(actor, issue_id, "view"))
    refused = _refused(integration, result, discord_user)
    if refused is not None:
        return refused
    assert result.group is not None
    if action == "assign_dialog":
        return msg.assign_dialog(result.group, services.project_members(result.group.id))
    alert_id = _snowflake(_obj(payload.get("message")).get("id"))
    return msg.resolve_dialog(result.group, alert_id)


def _resolve_choice(integration: Integration, actor: ChatIdentity, issue_id: str, values: list[str],
                    payload: dict[str, Any], alert_id: str, discord_user: dict[str, Any]) -> dict[str, Any]:
    """The resolve dialog's choice: the dialog says what was done; the alert's buttons are
    brought up to date afterwards, in a worker (it is another message: a Discord API call)."""
    if not values:
        return msg.ephemeral(msg.NO_SELECTION)
    if values[0] not in ("immediately", "inNextRelease"):
        return msg.ephemeral("Unknown resolve option; nothing was changed.")
    details = {"inNextRelease": True} if values[0] == "inNextRelease" else None
    result = services.chat_action(integration, ChatAction(actor, issue_id, "resolve"), status_details=details)
    refused = _refused(integration, result, discord_user)
    if refused is not None:
        return refused
    assert result.group is not None
    _logged(integration, "resolve", result)
    channel_id, message_id = _snowflake(payload.get("channel_id")), _snowflake(alert_id)
    if result.outcome == "applied" and channel_id and message_id:
        tasks.refresh_alert_later(integration, result.group, channel_id, message_id)
    return msg.update_message(msg.RESOLVED_IN_NEXT_RELEASE if details else msg.RESOLVED, [])


def _assign(integration: Integration, actor: ChatIdentity, issue_id: str, values: list[str],
            discord_user: dict[str, Any]) -> dict[str, Any]:
    if not values:
        return msg.ephemeral("Select an assignee first; nothing was changed.")
    value = values[0]
    if value in ("none", ""):
        action = ChatAction(actor, issue_id, "unassign")
    else:
        kind, _, target = value.partition(":")
        if kind != "user" or not target.isascii() or not target.isdigit():
            return msg.ephemeral("Unknown assignee; nothing was changed.")
        action = ChatAction(actor, issue_id, "assign", target)
    result = services.chat_action(integration, action)
    refused = _refused(integration, result, discord_user)
    if refused is not None:
        return refused
    _logged(integration, action.action, result)
    return msg.update_message(msg.ASSIGNEE_UPDATED, [])


def _invite(
    integration: Integration, action: str, invite_id: str, discord_user: dict[str, Any]
) -> dict[str, Any]:
    """Approve / Reject on an invite request, as the linked hub user (the core checks who may)."""
    user_id = str(discord_user.get("id") or "")
    if not user_id:
        return msg.ephemeral("Could not tell who you are; try again from a server channel.")
    actor = ChatIdentity(KEY, integration.external_id, user_id,
                         str(discord_user.get("global_name") or discord_user.get("username") or ""))
    return invites.handle(integration, actor, action, invite_id)
