"""Interactivity (``action/``): Sentry's "Slack group actions" and invite request buttons.

One path for every flavour Slack sends (``block_actions``, ``view_submission``, legacy
``interactive_message`` and ``dialog_submission``): find the issue in the payload, check it
belongs to an org that installed this workspace, map the Slack user to a hub user who is a
member of that org, parse the action into an :class:`Intent`, apply it through the hub's
state-change path as that user, then redraw the original message through ``response_url``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from hub import WebhookResponse, services
from hub.errors import ApiError, NotFound, ValidationError
from hub.inputs import loads
from hub.types import Group, Integration, User, WebhookRequest
from plugins.slack import messages
from plugins.slack.client import client_for
from plugins.slack.identity import identity_url
from plugins.slack.webhooks import error, integration_for_team, obj, parse_payload, unknown_team

logger = logging.getLogger("hub.plugins.slack")

STATUS_VALUES = {
    "resolved": "resolved",
    "unresolved": "unresolved",
    "ignored": "ignored",
    "archive": "ignored",
}


@dataclass(frozen=True)
class Intent:
    """What a click or a submission asks for: ``status``, ``assign`` or a ``dialog`` to open."""

    kind: str
    value: str | None = None
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class Interaction:
    """The parts of a Slack interaction every flavour has, read once."""

    integration: Integration
    slack_user_id: str
    channel_id: str
    response_url: str
    trigger_id: str
    rule_id: str | None = None
    modal: bool = False  # a dialog submission: Slack only takes errors or an empty answer
    message_ts: str = ""  # the alert message (for chat.update when response_url cannot be used)


def ok(json_body: Any = None) -> WebhookResponse:
    return WebhookResponse(status=200, json=json_body)


def handle(request: WebhookRequest) -> WebhookResponse:
    """Answer one (verified) interaction request."""
    payload = parse_payload(request)
    if isinstance(payload, WebhookResponse):
        return payload
    team_id = obj(payload.get("team")).get("id")
    integration = integration_for_team(team_id)
    if integration is None:
        return unknown_team(team_id)
    if not obj(payload.get("user")).get("id"):
        return error(400, "The payload names no Slack user.", {"user": ["This field is required."]})
    handlers = {
        "block_actions": _block_actions,
        "interactive_message": _interactive_message,
        "view_submission": _view_submission,
        "dialog_submission": _dialog_submission,
    }
    handler = handlers.get(str(payload.get("type")))
    if handler is None:
        return error(400, f"Unsupported interaction type {str(payload.get('type'))[:40]!r}.")
    return handler(integration, payload)


def _interaction(
    integration: Integration,
    payload: dict[str, Any],
    response_url: str | None = None,
    channel_id: str | None = None,
    rule_id: str | None = None,
    modal: bool = False,
    message_ts: str | None = None,
) -> Interaction:
    channel = obj(payload.get("channel"))
    container = obj(payload.get("container"))
    if message_ts is None:
        message_ts = str(
            container.get("message_ts")
            or obj(payload.get("message")).get("ts")
            or payload.get("message_ts")
            or ""
        )
    return Interaction(
        integration=integration,
        slack_user_id=str(obj(payload.get("user")).get("id") or ""),
        channel_id=str(channel_id or channel.get("id") or container.get("channel_id") or ""),
        response_url=str(response_url if response_url is not None else payload.get("response_url") or ""),
        trigger_id=str(payload.get("trigger_id") or ""),
        rule_id=rule_id,
        modal=modal,
        message_ts=str(message_ts or ""),
    )


# -- flavours -------------------------------------------------------------------------------------


def _block_actions(integration: Integration, payload: dict[str, Any]) -> WebhookResponse:
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return error(400, "The payload has no action.")
    action = actions[0]
    action_id = str(action.get("action_id") or "")
    value = action.get("value")
    if isinstance(action.get("selected_option"), dict):
        value = action["selected_option"].get("value")
    if action_id in (messages.APPROVE_MEMBER, messages.REJECT_MEMBER):
        return _invite_action(_interaction(integration, payload), action_id == messages.APPROVE_MEMBER, value)
    blocks = obj(payload.get("message")).get("blocks")
    issue = messages.block_id_data(
        [*(blocks if isinstance(blocks, list) else []), {"block_id": action.get("block_id")}], "issue"
    )
    intent = parse_intent(action_id, value)
    if intent is None:
        return error(
            400, "Unknown action.", {"actions": [f"{action_id!r} with this value is not an action of ours."]}
        )
    return _issue_action(_interaction(integration, payload, rule_id=_rule(issue)), issue, intent)


def _interactive_message(integration: Integration, payload: dict[str, Any]) -> WebhookResponse:
    """Legacy attachment buttons: the issue is in ``callback_id``; the action ``name`` is our action id."""
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return error(400, "The payload has no action.")
    action = actions[0]
    value = action.get("value")
    selected = action.get("selected_options")
    if isinstance(selected, list) and selected and isinstance(selected[0], dict):
        value = selected[0].get("value")
    issue = _json_object(payload.get("callback_id"))
    intent = parse_intent(str(action.get("name") or ""), value)
    if intent is None:
        return error(400, "Unknown action.", {"actions": ["Not an action of ours."]})
    return _issue_action(_interaction(integration, payload, rule_id=_rule(issue)), issue, intent)


def _view_submission(integration: Integration, payload: dict[str, Any]) -> WebhookResponse:
    view = obj(payload.get("view"))
    callback_id = view.get("callback_id")
    block = {
        messages.RESOLVE_DIALOG: messages.RESOLVE_TYPE,
        messages.ARCHIVE_DIALOG: messages.ARCHIVE_TYPE,
    }.get(str(callback_id))
    if block is None:
        return error(400, "Unknown dialog.", {"callback_id": ["Not a dialog of ours."]})
    metadata = _json_object(view.get("private_metadata"))
    if metadata is None:
        return error(400, "The dialog does not name an issue.", {"private_metadata": ["Not valid JSON."]})
    values = obj(obj(view.get("state")).get("values"))
    choice = obj(obj(obj(values.get(block)).get(block)).get("selected_option")).get("value")
    intent = _dialog_intent(str(callback_id), choice)
    if intent is None:
        return ok({"response_action": "errors", "errors": {block: "Choose an option."}})
    interaction = _interaction(
        integration,
        payload,
        response_url=str(metadata.get("orig_response_url") or ""),
        channel_id=metadata.get("channel_id"),
        rule_id=_rule(metadata),
        modal=True,
        message_ts=str(metadata.get("message_ts") or ""),
    )

    def refuse(message: dict[str, Any]) -> WebhookResponse:
        return ok({"response_action": "errors", "errors": {block: message["text"]}})

    return _issue_action(interaction, metadata, intent, refuse=refuse)


def _dialog_submission(integration: Integration, payload: dict[str, Any]) -> WebhookResponse:
    """Legacy dialogs: ``callback_id`` carries the issue and dialog, ``submission`` the choice."""
    state = _json_object(payload.get("callback_id")) or _json_object(payload.get("state"))
    if state is None or state.get("dialog") not in (messages.RESOLVE_DIALOG, messages.ARCHIVE_DIALOG):
        return error(400, "Unknown dialog.", {"callback_id": ["Not a dialog of ours."]})
    block = messages.RESOLVE_TYPE if state["dialog"] == messages.RESOLVE_DIALOG else messages.ARCHIVE_TYPE
    submission = obj(payload.get("submission"))
    intent = _dialog_intent(state["dialog"], submission.get(block))
    if intent is None:
        return ok({"errors": [{"name": block, "error": "Choose an option."}]})
    interaction = _interaction(
        integration,
        payload,
        response_url=str(state.get("orig_response_url") or ""),
        rule_id=_rule(state),
        modal=True,
        message_ts=str(state.get("message_ts") or ""),
    )

    def refuse(message: dict[str, Any]) -> WebhookResponse:
        return ok({"errors": [{"name": block, "error": message["text"]}]})

    return _issue_action(interaction, state, intent, refuse=refuse)


# -- parsing --------------------------------------------------------------------------------------


def parse_intent(action_id: str, value: Any) -> Intent | None:
    """What a button or select asks for, or ``None`` when it is not one of ours."""
    value = None if value is None else str(value)
    if action_id == "status" and value in STATUS_VALUES:
        return Intent("status", STATUS_VALUES[value])
    if action_id == "assign" and value is not None:
        if value == "none":
            return Intent("assign", None)
        prefix, _, user_id = value.partition(":")
        if prefix == "user" and user_id.isdigit():
            return Intent("assign", user_id)
        return None
    if action_id in (messages.RESOLVE_DIALOG, messages.ARCHIVE_DIALOG):
        return Intent("dialog", action_id)
    return None


def _dialog_intent(dialog: str, choice: Any) -> Intent | None:
    if not isinstance(choice, str):  # a list or an object is no option of ours (nor hashable)
        return None
    if dialog == messages.RESOLVE_DIALOG and choice in messages.RESOLVE_CHOICES:
        return Intent("status", "resolved", messages.RESOLVE_CHOICES[choice][1])
    if dialog == messages.ARCHIVE_DIALOG and choice in messages.ARCHIVE_CHOICES:
        return Intent("status", "ignored")
    return None


def _json_object(raw: Any) -> dict[str, Any] | None:
    try:
        value = loads(str(raw or ""))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _rule(data: dict[str, Any] | None) -> str | None:
    rule = (data or {}).get("rule")
    return str(rule) if rule is not None else None


# -- applying ---------------------------------------------------------------------------------------


def _issue_action(
    interaction: Interaction, issue: dict[str, Any] | None, intent: Intent, refuse: Any = None
) -> WebhookResponse:
    """Check issue, identity and membership, then apply ``intent`` and redraw the message."""
    refuse = refuse or ok
    integration = interaction.integration
    if issue is None or issue.get("issue") is None:
        return error(400, "The message does not name an issue.", {"blocks": ["No block names an issue."]})
    group = services.group_for_integration(issue["issue"], integration.id)
    if group is None:
        logger.warning(
            "slack.issue-not-installed",
            extra={"integration": integration.id, "group": str(issue["issue"])[:32]},
        )
        return error(403, "This issue does not belong to an organization that uses this Slack workspace.")
    user, refusal = _member(interaction, group.organization_id)
    if user is None:
        return refuse(refusal)
    try:
        if intent.kind == "dialog":
            return _open_dialog(interaction, group, intent)
        if intent.kind == "status":
            assert intent.value is not None
            group = services.set_status(
                group.id,
                intent.value,
                actor_user_id=user.id,
                integration_id=integration.id,
                status_details=intent.details,
            )
            outcome = messages.status_outcome(intent.value, interaction.slack_user_id)
        else:
            assignee = None
            if intent.value is not None:
                assignee = next((u for u in services.project_members(group.id) if u.id == intent.value), None)
                if assignee is None:
                    return refuse(messages.ephemeral("That user cannot be assigned to this issue."))
            group = services.assign(
                group.id, intent.value, actor_user_id=user.id, integration_id=integration.id
            )
            outcome = messages.assign_outcome(assignee, interaction.slack_user_id)
    except (ValidationError, NotFound) as e:
        return refuse(messages.ephemeral(getattr(e, "detail", None) or str(e)))
    logger.info(
        "slack.action-applied",
        extra={
            "integration": integration.id,
            "group": group.id,
            "action": intent.kind,
            "value": intent.value,
        },
    )
    return _redraw(interaction, group, outcome)


def _member(interaction: Interaction, organization_id: str) -> tuple[User | None, dict[str, Any]]:
    """The hub user behind the Slack user, if linked and a member of the org; else the ephemeral why not."""
    user = services.get_identity(interaction.integration.id, interaction.slack_user_id)
    if user is None:
        url = identity_url(
            "link-identity",
            interaction.integration.id,
            interaction.slack_user_id,
            interaction.channel_id,
            interaction.response_url,
        )
        return None, messages.link_prompt(url)
    if services.org_role(user.id, organization_id) is None:
        url = identity_url(
            "unlink-identity",
            interaction.integration.id,
            interaction.slack_user_id,
            interaction.channel_id,
            interaction.response_url,
        )
        return None, messages.not_member(url)
    return user, {}


def _open_dialog(interaction: Interaction, group: Group, intent: Intent) -> WebhookResponse:
    metadata = {
        "issue": int(group.id) if group.id.isdigit() else group.id,
        "orig_response_url": interaction.response_url,
        "channel_id": interaction.channel_id,
    }
    if interaction.rule_id is not None:
        metadata["rule"] = interaction.rule_id
    if interaction.message_ts:
        metadata["message_ts"] = interaction.message_ts
    view = (
        messages.resolve_modal(metadata)
        if intent.value == messages.RESOLVE_DIALOG
        else messages.archive_modal(metadata)
    )
    try:
        client_for(interaction.integration).open_view(interaction.trigger_id, view)
    except ApiError as e:
        logger.warning(
            "slack.open-view-failed", extra={"integration": interaction.integration.id, "error": e.message}
        )
        return ok(messages.ephemeral(f"Slack could not open the dialog ({e.message})."))
    return WebhookResponse(status=200)


def _redraw(interaction: Interaction, group: Group, outcome: str) -> WebhookResponse:
    """Replace the original message: buttons for the new state and who did it.

    Through ``response_url``; when there is none, when it is not Slack's (never called: see
    :func:`~plugins.slack.client.is_slack_url`), or when Slack's hooks host cannot be reached or
    refuses, through ``chat.update`` on the alert message (the bot posted it; its channel and ts come
    from the signature-verified payload).
    """
    if not interaction.response_url and not (interaction.channel_id and interaction.message_ts):
        return WebhookResponse(status=200)
    message = messages.alert_message(
        group, services.project_members(group.id), rule_id=interaction.rule_id, outcome=outcome
    )
    e = _try_replace(interaction, message)
    if e is not None:
        if interaction.modal:
            return WebhookResponse(status=200)
        return ok(
            messages.ephemeral(f"{outcome}, but Slack did not let us update the message ({e.message}).")
        )
    return WebhookResponse(status=200)


def _try_replace(interaction: Interaction, message: dict[str, Any]) -> ApiError | None:
    """Replace the clicked message; a failure is logged and returned for the caller to answer."""
    try:
        _replace_message(interaction, message)
    except ApiError as e:
        logger.warning(
            "slack.update-message-failed",
            extra={"integration": interaction.integration.id, "error": e.message},
        )
        return e
    return None


def _replace_message(interaction: Interaction, message: dict[str, Any]) -> None:
    """Replace the clicked message through ``response_url``, else ``chat.update``; raises ``ApiError``."""
    if interaction.response_url:
        try:
            client_for(interaction.integration).respond(
                interaction.response_url, {"replace_original": True, **message}
            )
            return
        except ApiError as e:
            if not (interaction.channel_id and interaction.message_ts):
                raise
            logger.info(
                "slack.response-url-failed",
                extra={"integration": interaction.integration.id, "error": e.message},
            )
    client_for(interaction.integration).update_message(
        interaction.channel_id, interaction.message_ts, message["text"], blocks=message["blocks"]
    )


# -- invite requests --------------------------------------------------------------------------------


def _invite_action(interaction: Interaction, approve: bool, invite_id: Any) -> WebhookResponse:
    """Approve or reject a member's invite request, as a linked owner or admin of the org."""
    if not str(invite_id or "").isdigit():
        return error(400, "Unknown action.", {"actions": ["The invite request id is not valid."]})
    gone = ok(messages.ephemeral("This invite request no longer exists."))
    invite = services.get_invite_request(str(invite_id))
    if invite is None:
        return gone
    orgs = {
        o["id"] for o in services.organizations_of(interaction.integration.id) if o["status"] != "disabled"
    }
    if invite.organization_id not in orgs:
        return error(
            403, "This invite request does not belong to an organization that uses this Slack workspace."
        )
    user, refusal = _member(interaction, invite.organization_id)
    if user is None:
        return ok(refusal)
    if services.org_role(user.id, invite.organization_id) not in ("owner", "admin"):
        return ok(
            messages.ephemeral(
                "Only an owner or admin of the organization can approve or reject invite requests."
            )
        )
    try:
        invite = services.handle_invite_request(invite.id, approve, user.id)
    except NotFound:
        return gone
    except ValidationError as e:
        return ok(messages.ephemeral(e.detail))
    verb = "Approved" if approve else "Rejected"
    message = messages.invite_message(invite, outcome=f"{verb} by <@{interaction.slack_user_id}>")
    if interaction.response_url or (interaction.channel_id and interaction.message_ts):
        _try_replace(interaction, message)
    logger.info(
        "slack.invite-request-handled",
        extra={"integration": interaction.integration.id, "invite_request": invite.id, "approved": approve},
    )
    return WebhookResponse(status=200)
