"""``POST /extensions/discord/interactions/``: PING, slash commands and message components.

Discord needs a synchronous answer (an interaction response) within 3 seconds, so the work is
done here: the hub state changes through :mod:`hub.services` as the linked hub user, and the
answer is an ephemeral message (type 4, flag 64) or an update of the clicked message (type 7).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hub import WebhookResponse, services
from hub.errors import NotFound, ValidationError
from hub.types import Group, Integration, User, WebhookRequest
from plugins.discord import identity, invites
from plugins.discord import messages as msg
from plugins.discord.verify import InvalidSignature, verify_request

logger = logging.getLogger("hub.plugins.discord")

PING, APPLICATION_COMMAND, MESSAGE_COMPONENT = 1, 2, 3


def _error(status: int, detail: str, errors: dict[str, list[str]] | None = None) -> WebhookResponse:
    return WebhookResponse(status=status, json={"detail": detail, "errors": errors or {}})


def _answer(body: dict[str, Any]) -> WebhookResponse:
    return WebhookResponse(status=200, json=body)


def handle_interaction(request: WebhookRequest) -> WebhookResponse:
    """Verify, then answer one interaction."""
    if request.method != "POST":
        return _error(405, "Use POST.")
    try:
        verify_request(
            services.config("HUB_DISCORD_PUBLIC_KEY"),
            request.headers.get("X-Signature-Ed25519"),
            request.headers.get("X-Signature-Timestamp"),
            request.body,
            check_age=not request.replayed,
        )
    except InvalidSignature as e:
        logger.warning("discord.bad-signature", extra={"reason": str(e)})
        return _error(401, str(e))
    try:
        payload = request.json()
    except ValueError:
        return _error(400, "The body is not JSON.")
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), int):
        return _error(400, "Not a Discord interaction.", {"type": ["Missing or not an integer."]})
    kind = payload["type"]
    duplicate = request.already_processed(f"interaction:{payload['id']}" if payload.get("id") else None)
    if kind == PING:
        return _answer({"type": msg.PONG})
    handler = HANDLERS.get(kind)
    if handler is None:
        return _error(400, f"Unsupported interaction type {kind}.", {"type": ["Expected 1, 2 or 3."]})
    if duplicate:
        return _answer(msg.ephemeral("This interaction was already handled."))
    integration = _integration(payload)
    if integration is None:
        return _answer(msg.ephemeral(msg.NOT_INSTALLED))
    return _answer(handler(integration, payload))


def _integration(payload: dict[str, Any]) -> Integration | None:
    guild_id = payload.get("guild_id")
    if not guild_id:
        return None
    integration = services.get_integration("discord", str(guild_id))
    if integration is None or integration.status == "disabled":
        return None
    return integration


def _obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else ``{}``: a signed payload's shape is still not trusted."""
    return value if isinstance(value, dict) else {}


def _discord_user(payload: dict[str, Any]) -> dict[str, Any]:
    return _obj(_obj(payload.get("member")).get("user") or payload.get("user"))


# -- commands ---------------------------------------------------------------------------------------


def handle_command(integration: Integration, payload: dict[str, Any]) -> dict[str, Any]:
    data = _obj(payload.get("data"))
    name = str(data.get("name") or "")
    discord_user = _discord_user(payload)
    user_id = str(discord_user.get("id") or "")
    if name == "help":
        return msg.ephemeral(msg.HELP)
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


def handle_component(integration: Integration, payload: dict[str, Any]) -> dict[str, Any]:
    data = _obj(payload.get("data"))
    action, _, issue_id = str(data.get("custom_id") or "").partition(":")
    handler = ACTIONS.get(action)
    if handler is None and action not in invites.ACTIONS:
        return msg.ephemeral(msg.UNKNOWN_ACTION)
    discord_user = _discord_user(payload)
    user = (
        services.get_identity(integration.id, str(discord_user.get("id") or ""))
        if discord_user.get("id")
        else None
    )
    if user is None:
        return msg.link_prompt(identity.link_url(integration, discord_user))
    if handler is None:  # Approve / Reject on an invite request
        return invites.handle(integration, user, action, issue_id, str(discord_user["id"]))
    group = services.group_for_integration(issue_id, integration.id) if issue_id.isdigit() else None
    if group is None:
        return msg.ephemeral(msg.INVALID_ISSUE)
    if services.org_role(user.id, group.organization_id) is None:
        return msg.ephemeral(msg.NOT_A_MEMBER)
    values = data.get("values")
    values = [str(v) for v in values] if isinstance(values, list) else None
    try:
        answer = handler(integration, user, group, values)
    except (ValidationError, NotFound) as e:
        return msg.ephemeral(getattr(e, "detail", None) or str(e) or "That did not work.")
    logger.info("discord.action", extra={"action": action, "group": group.id, "integration": integration.id})
    return answer


def _set_status(
    integration: Integration, user: User, group: Group, status: str, details: dict[str, Any] | None = None
) -> Group:
    return services.set_status(
        group.id, status, actor_user_id=user.id, integration_id=integration.id, status_details=details
    )


def _resolve(integration: Integration, user: User, group: Group, values: list[str] | None) -> dict[str, Any]:
    if values is None:  # the Resolve button on the alert
        changed = _set_status(integration, user, group, "resolved")
        return msg.update_message(msg.RESOLVED, msg.alert_components(changed))
    if not values:  # the resolve dialog's select
        return msg.ephemeral(msg.NO_SELECTION)
    if values[0] == "inNextRelease":
        _set_status(integration, user, group, "resolved", {"inNextRelease": True})
        return msg.update_message(msg.RESOLVED_IN_NEXT_RELEASE, [])
    if values[0] != "immediately":
        return msg.ephemeral("Unknown resolve option; nothing was changed.")
    _set_status(integration, user, group, "resolved")
    return msg.update_message(msg.RESOLVED, [])


def _status_action(status: str, text: str) -> Callable[..., dict[str, Any]]:
    def act(integration: Integration, user: User, group: Group, values: list[str] | None) -> dict[str, Any]:
        changed = _set_status(integration, user, group, status)
        return msg.update_message(text, msg.alert_components(changed))

    return act


def _resolve_dialog(
    integration: Integration, user: User, group: Group, values: list[str] | None
) -> dict[str, Any]:
    return msg.resolve_dialog(group)


def _assign_dialog(
    integration: Integration, user: User, group: Group, values: list[str] | None
) -> dict[str, Any]:
    return msg.assign_dialog(group, services.project_members(group.id))


def _assign(integration: Integration, user: User, group: Group, values: list[str] | None) -> dict[str, Any]:
    if not values:
        return msg.ephemeral("Select an assignee first; nothing was changed.")
    value = values[0]
    if value in ("none", ""):
        target = None
    else:
        kind, _, target = value.partition(":")
        if kind != "user" or not target.isdigit():
            return msg.ephemeral("Unknown assignee; nothing was changed.")
    services.assign(group.id, target, actor_user_id=user.id, integration_id=integration.id)
    return msg.update_message(msg.ASSIGNEE_UPDATED, [])


ACTIONS: dict[str, Callable[[Integration, User, Group, list[str] | None], dict[str, Any]]] = {
    "resolve": _resolve,
    "resolve_dialog": _resolve_dialog,
    "unresolve": _status_action("unresolved", msg.UNRESOLVED),
    "archive": _status_action("ignored", msg.ARCHIVED),
    "mark_ongoing": _status_action("unresolved", msg.MARKED_ONGOING),
    "assign_dialog": _assign_dialog,
    "assign": _assign,
}

HANDLERS: dict[int, Callable[[Integration, dict[str, Any]], dict[str, Any]]] = {
    APPLICATION_COMMAND: handle_command,
    MESSAGE_COMPONENT: handle_component,
}
