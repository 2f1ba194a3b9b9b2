"""Interactivity (``action/``): Sentry's "Slack group actions" and invite request buttons.

One path for every flavour Slack sends (``block_actions``, ``view_submission``, legacy
``interactive_message`` and ``dialog_submission``): find the issue in the payload, parse the
action into an :class:`Intent` and apply it through :func:`hub.services.chat_action`, which checks
that the issue's org uses this workspace and that the Slack user is linked to a member allowed the
action. The answer goes back at once (Slack waits 3 s); the redraw of the original message
(``response_url``, else ``chat.update``) is a deferred job (``run_task("redraw")``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub import WebhookResponse, services
from hub.errors import ApiError
from hub.inputs import loads
from hub.types import ChatAction, ChatIdentity, Group, Integration, WebhookRequest
from plugins.slack import messages
from plugins.slack.client import client_for
from plugins.slack.identity import identity_url
from plugins.slack.request import error, integration_for_team, obj, parse_payload, unknown_team

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


_DIALOG_BLOCKS = {
    messages.RESOLVE_DIALOG: messages.RESOLVE_TYPE,
    messages.ARCHIVE_DIALOG: messages.ARCHIVE_TYPE,
}


def _view_submission(integration: Integration, payload: dict[str, Any]) -> WebhookResponse:
    """A modal's submission. The dialog is the view's ``callback_id``, else the one its metadata names,
    else the one whose option was chosen: Sentry's own resolve modal (a submission its users' tools
    replay) has no callback id and a select under block and action ids of Slack's making."""
    view = obj(payload.get("view"))
    metadata = _json_object(view.get("private_metadata"))
    values = obj(obj(view.get("state")).get("values"))
    named = (view.get("callback_id"), (metadata or {}).get("dialog"))
    dialog = next((d for d in named if isinstance(d, str) and d in _DIALOG_BLOCKS), None)
    choice = _chosen(values, _DIALOG_BLOCKS.get(dialog) if dialog else None)
    if dialog is None and view.get("callback_id") in (None, ""):
        dialog = next((d for d in _DIALOG_BLOCKS if _dialog_intent(d, choice) is not None), None)
    if dialog is None:
        return error(400, "Unknown dialog.", {"callback_id": ["Not a dialog of ours."]})
    block = _DIALOG_BLOCKS[dialog]
    if metadata is None:
        return error(400, "The dialog does not name an issue.", {"private_metadata": ["Not valid JSON."]})
    intent = _dialog_intent(dialog, choice)
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


def _chosen(values: dict[str, Any], block: str | None) -> Any:
    """The option chosen in a modal's state: under our block and action ids, else (``block`` None, or
    nothing there) the one select of the view, whatever Slack named it."""
    if block is not None:
        mine = obj(obj(obj(values.get(block)).get(block)).get("selected_option")).get("value")
        if mine is not None:
            return mine
    chosen = [obj(action.get("selected_option")).get("value") for element in values.values()
              if isinstance(element, dict) for action in element.values() if isinstance(action, dict)]
    chosen = [c for c in chosen if c is not None]
    return chosen[0] if len(chosen) == 1 else None


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

#: An intent's status as the core's chat action names it.
CHAT_STATUS_ACTIONS = {"resolved": "resolve", "unresolved": "unresolve", "ignored": "ignore"}


def chat_action_of(interaction: Interaction, group_id: str, intent: Intent) -> ChatAction:
    """The core's :class:`~hub.types.ChatAction` for a status or assign intent."""
    actor = ChatIdentity("slack", interaction.integration.external_id, interaction.slack_user_id)
    if intent.kind == "status":
        return ChatAction(actor, group_id, CHAT_STATUS_ACTIONS[str(intent.value)])
    if intent.value is None:
        return ChatAction(actor, group_id, "unassign")
    return ChatAction(actor, group_id, "assign", intent.value)


def _issue_action(
    interaction: Interaction,
    issue: dict[str, Any] | None,
    intent: Intent,
    refuse: Callable[[dict[str, Any]], WebhookResponse] | None = None,
) -> WebhookResponse:
    """Apply ``intent`` through the core's chat action (identity, membership and role are checked
    there), answer at once in Slack's words, and leave the message redraw to a job."""
    refuse = refuse or ok
    integration = interaction.integration
    if issue is None or issue.get("issue") is None:
        return error(400, "The message does not name an issue.", {"blocks": ["No block names an issue."]})
    if intent.kind == "dialog":
        group = services.group_for_integration(issue["issue"], integration.id)
        if group is None:
            return _not_installed(interaction, issue)
        return _open_dialog(interaction, group, intent)
    result = services.chat_action(integration, chat_action_of(interaction, str(issue["issue"]), intent),
                                  status_details=intent.details)
    if result.outcome == "not-found":
        return _not_installed(interaction, issue)
    if result.outcome == "link-identity":
        return refuse(messages.link_prompt(_identity_url("link-identity", interaction)))
    if result.outcome == "not-member":
        return refuse(messages.not_member(_identity_url("unlink-identity", interaction)))
    if result.outcome in ("forbidden", "invalid"):
        return refuse(messages.ephemeral(result.detail or "You may not do this."))
    assert result.group is not None
    logger.info(
        "slack.action-applied",
        extra={"integration": integration.id, "group": result.group.id, "action": intent.kind,
               "value": intent.value, "outcome": result.outcome},
    )
    if intent.kind == "status":
        outcome = messages.status_outcome(str(intent.value), interaction.slack_user_id)
    else:
        assignee = result.group.assignee if intent.value is not None else None
        outcome = messages.assign_outcome(assignee, interaction.slack_user_id)
    _defer_redraw(interaction, {"group_id": result.group.id, "rule_id": interaction.rule_id,
                                "outcome": outcome})
    return WebhookResponse(status=200)


def _not_installed(interaction: Interaction, issue: dict[str, Any]) -> WebhookResponse:
    logger.warning(
        "slack.issue-not-installed",
        extra={"integration": interaction.integration.id, "group": str(issue["issue"])[:32]},
    )
    return error(403, "This issue does not belong to an organization that uses this Slack workspace.")


def _identity_url(kind: str, interaction: Interaction) -> str:
    return identity_url(kind, interaction.integration, interaction.slack_user_id,
                        interaction.channel_id, interaction.response_url)


def _open_dialog(interaction: Interaction, group: Group, intent: Intent) -> WebhookResponse:
    """Open the modal now (Slack's trigger id expires in 3 s); the submission acts through the core.

    An unlinked Slack user is sent the link prompt instead: a dialog they could not submit helps no one.
    """
    if services.get_identity(interaction.integration.id, interaction.slack_user_id) is None:
        return ok(messages.link_prompt(_identity_url("link-identity", interaction)))
    metadata = {
        "issue": int(group.id) if group.id.isdigit() else group.id,
        "orig_response_url": interaction.response_url,
        "channel_id": interaction.channel_id,
        "dialog": intent.value,
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


# -- the message redraw (a job: a slow Slack Web API never delays the interaction's answer) ---------

REDRAW = "redraw"


def _defer_redraw(interaction: Interaction, what: dict[str, Any]) -> None:
    """Queue the redraw of the clicked message, when there is a way to reach it."""
    if not interaction.response_url and not (interaction.channel_id and interaction.message_ts):
        return
    services.defer(interaction.integration.id, REDRAW, {
        "response_url": interaction.response_url, "channel_id": interaction.channel_id,
        "message_ts": interaction.message_ts, **what,
    })


def run_redraw(integration: Integration, payload: dict[str, Any]) -> str:
    """``run_task("redraw")``: replace the clicked message with its new state and who did it.

    Through ``response_url``; when there is none, when it is not Slack's (never called: see
    :func:`~plugins.slack.client.is_slack_url`), or when Slack's hooks host cannot be reached or
    refuses, through ``chat.update`` on the alert message (the bot posted it; its channel and ts came
    from the signature-verified payload). An ``ApiError`` is the outbox's to retry or settle.
    """
    message = payload.get("message")
    if message is None:
        group = services.get_group(str(payload.get("group_id") or ""))
        if group is None:
            return "issue gone"
        rule = payload.get("rule_id")
        message = messages.alert_message(group, services.project_members(group.id),
                                         rule_id=str(rule) if rule is not None else None,
                                         outcome=str(payload.get("outcome") or ""))
    _replace_message(integration, str(payload.get("response_url") or ""),
                     str(payload.get("channel_id") or ""), str(payload.get("message_ts") or ""), message)
    return "redrawn"


def _replace_message(
    integration: Integration, response_url: str, channel_id: str, message_ts: str, message: dict[str, Any]
) -> None:
    """Replace the clicked message through ``response_url``, else ``chat.update``; raises ``ApiError``."""
    if response_url:
        try:
            client_for(integration).respond(response_url, {"replace_original": True, **message})
            return
        except ApiError as e:
            if not (channel_id and message_ts):
                logger.warning("slack.update-message-failed",
                               extra={"integration": integration.id, "error": e.message})
                raise
            logger.info("slack.response-url-failed",
                        extra={"integration": integration.id, "error": e.message})
    client_for(integration).update_message(channel_id, message_ts, message["text"], blocks=message["blocks"])


# -- invite requests --------------------------------------------------------------------------------


def _invite_action(interaction: Interaction, approve: bool, invite_id: Any) -> WebhookResponse:
    """Approve or reject a member's invite request through the core's door
    (:func:`hub.services.chat_invite_request` checks the link, the org and the role), in Slack's words."""
    if not str(invite_id or "").isdigit():
        return error(400, "Unknown action.", {"actions": ["The invite request id is not valid."]})
    actor = ChatIdentity("slack", interaction.integration.external_id, interaction.slack_user_id)
    result = services.chat_invite_request(interaction.integration, actor, str(invite_id), approve)
    if result.outcome == "not-found":
        return error(
            403, "This invite request does not belong to an organization that uses this Slack workspace."
        )
    if result.outcome == "link-identity":
        return ok(messages.link_prompt(_identity_url("link-identity", interaction)))
    if result.outcome == "not-member":
        return ok(messages.not_member(_identity_url("unlink-identity", interaction)))
    if result.outcome != "applied" or result.invite is None:
        return ok(messages.ephemeral(result.detail or "That did not work; nothing was changed."))
    verb = "Approved" if approve else "Rejected"
    message = messages.invite_message(result.invite, outcome=f"{verb} by <@{interaction.slack_user_id}>")
    _defer_redraw(interaction, {"message": message})
    logger.info(
        "slack.invite-request-handled",
        extra={"integration": interaction.integration.id, "invite_request": result.invite.id,
               "approved": approve},
    )
    return WebhookResponse(status=200)
