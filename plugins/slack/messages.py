"""Slack messages as pure functions of hub values: alerts, thread replies, prompts, modals.

Nothing here talks to Slack or the database, so every message can be checked byte for byte.
The issue id travels in the alert's section ``block_id`` (``{"issue": 42, "rule": 7}``), the
way Sentry's "Slack group actions" find the issue a clicked button belongs to.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from hub.inputs import loads
from hub.types import Activity, Group, InviteRequest, User

ACTIONS_BLOCK_ID = "actions"
RESOLVE_DIALOG = "resolve_dialog"
ARCHIVE_DIALOG = "archive_dialog"
RESOLVE_TYPE = "resolve_type"
ARCHIVE_TYPE = "archive_type"
APPROVE_MEMBER = "approve_member"
REJECT_MEMBER = "reject_member"

#: Choices of the resolve modal: option value → (label, status details).
RESOLVE_CHOICES: dict[str, tuple[str, dict[str, Any] | None]] = {
    "resolved": ("Immediately", None),
    "resolved:inNextRelease": ("In the next release", {"inNextRelease": True}),
}
#: Choices of the archive modal: option value → label (archiving is the hub's ``ignored``).
ARCHIVE_CHOICES: dict[str, str] = {"ignored": "Forever"}

STATUS_VERBS = {"resolved": "resolved", "ignored": "archived", "unresolved": "unresolved"}
MAX_OPTIONS = 100


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn reserves."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    text = str(text)
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "…"}


def _int_or_str(value: Any) -> Any:
    return int(value) if str(value).isdigit() else str(value)


def issue_block_id(group_id: str, rule_id: str | None = None) -> str:
    """The section ``block_id`` that names the issue (and the rule that posted it)."""
    data: dict[str, Any] = {"issue": _int_or_str(group_id)}
    if rule_id is not None:
        data["rule"] = _int_or_str(rule_id)
    return json.dumps(data)


def block_id_data(blocks: Iterable[Any], key: str) -> dict[str, Any] | None:
    """The first ``block_id`` that is a JSON object with ``key`` (e.g. ``issue``), parsed."""
    for block in blocks or ():
        if not isinstance(block, dict):
            continue
        try:
            data = loads(str(block.get("block_id") or ""))
        except ValueError:
            continue
        if isinstance(data, dict) and key in data:
            return data
    return None


def user_label(user: User | None) -> str:
    if user is None:
        return "Someone"
    return user.name or user.email


def _first_seen(iso: str) -> str:
    if not iso:
        return "unknown"
    try:
        when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return escape(iso)
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|{escape(iso)}>"


def alert_text(group: Group) -> str:
    """The fallback text (notifications, screen readers)."""
    return f"[{group.project_slug}] {group.short_id}: {group.title}"


def alert_blocks(
    group: Group, members: Sequence[User], *, rule_id: str | None = None, outcome: str | None = None
) -> list[dict[str, Any]]:
    """An issue alert: title linked to the hub, culprit, facts, and the action buttons.

    ``outcome`` ("Issue resolved by <@U1>") is added under the facts after a chat action.
    """
    title = f"<{group.url}|*{escape(group.title)}*>"
    if group.culprit:
        title += f"\n{escape(group.culprit)}"
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "block_id": issue_block_id(group.id, rule_id),
            "text": {"type": "mrkdwn", "text": title},
        },
        {
            "type": "context",
            "block_id": "details",
            "elements": [
                {"type": "mrkdwn", "text": f"*Project:* {escape(group.project_slug)}"},
                {"type": "mrkdwn", "text": f"*Level:* {escape(group.level)}"},
                {"type": "mrkdwn", "text": f"*Events:* {group.count}"},
                {"type": "mrkdwn", "text": f"*First seen:* {_first_seen(group.first_seen)}"},
                {"type": "mrkdwn", "text": f"*Status:* {escape(group.status)}"},
            ],
        },
    ]
    if outcome:
        blocks.append(
            {"type": "context", "block_id": "outcome", "elements": [{"type": "mrkdwn", "text": outcome}]}
        )
    blocks.append(
        {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": action_elements(group, members)}
    )
    return blocks


def action_elements(group: Group, members: Sequence[User]) -> list[dict[str, Any]]:
    """Resolve/Unresolve, Archive/Unarchive, and the assignee select: they reflect the state."""
    elements: list[dict[str, Any]] = []
    if group.status == "resolved":
        elements.append(
            {"type": "button", "action_id": "status", "text": _plain("Unresolve"), "value": "unresolved"}
        )
    else:
        elements.append(
            {
                "type": "button",
                "action_id": "status",
                "text": _plain("Resolve"),
                "value": "resolved",
                "style": "primary",
            }
        )
    if group.status == "ignored":
        elements.append(
            {"type": "button", "action_id": "status", "text": _plain("Unarchive"), "value": "unresolved"}
        )
    else:
        elements.append(
            {
                "type": "button",
                "action_id": ARCHIVE_DIALOG,
                "text": _plain("Archive"),
                "value": ARCHIVE_DIALOG,
            }
        )
    options = [{"text": _plain(user_label(u)), "value": f"user:{u.id}"} for u in members]
    if group.assignee is not None:
        options = options[: MAX_OPTIONS - 1] + [{"text": _plain("Unassign"), "value": "none"}]
    options = options[:MAX_OPTIONS]
    if options:
        select: dict[str, Any] = {
            "type": "static_select",
            "action_id": "assign",
            "placeholder": _plain("Select Assignee..."),
            "options": options,
        }
        current = next(
            (o for o in options if group.assignee and o["value"] == f"user:{group.assignee.id}"), None
        )
        if current is not None:
            select["initial_option"] = current
        elements.append(select)
    return elements


def alert_message(
    group: Group, members: Sequence[User], *, rule_id: str | None = None, outcome: str | None = None
) -> dict[str, Any]:
    """The ``text`` + ``blocks`` of an alert (for ``chat.postMessage`` or a ``response_url`` update)."""
    return {
        "text": alert_text(group),
        "blocks": alert_blocks(group, members, rule_id=rule_id, outcome=outcome),
    }


def activity_text(activity: Activity, group: Group) -> str | None:
    """The thread reply for a user's activity ("Jess resolved BACKEND-1"), ``None`` when not posted."""
    who = escape(user_label(activity.user))
    short = escape(group.short_id)
    data = activity.data or {}
    kind = activity.type
    if kind == "set_resolved":
        if data.get("inNextRelease"):
            return f"{who} resolved {short} in the next release"
        if data.get("version"):
            return f"{who} resolved {short} in release {escape(data['version'])}"
        return f"{who} resolved {short}"
    if kind == "set_unresolved":
        return f"{who} unresolved {short}"
    if kind == "set_ignored":
        return f"{who} archived {short}"
    if kind == "assigned":
        target = data.get("assigneeEmail") or "someone"
        if activity.user is not None and target == activity.user.email:
            return f"{who} assigned {short} to themselves"
        return f"{who} assigned {short} to {escape(target)}"
    if kind == "unassigned":
        return f"{who} unassigned {short}"
    if kind == "note":
        return f"{who} commented on {short}: {escape(str(data.get('text') or ''))[:2000]}"
    if kind == "create_issue":
        return f"{who} linked {short} to {escape(str(data.get('title') or data.get('key') or 'a ticket'))}"
    return None


def status_outcome(status: str, slack_user_id: str) -> str:
    return f"Issue {STATUS_VERBS.get(status, status)} by <@{slack_user_id}>"


def assign_outcome(assignee: User | None, slack_user_id: str) -> str:
    if assignee is None:
        return f"Issue unassigned by <@{slack_user_id}>"
    return f"Issue assigned to {escape(user_label(assignee))} by <@{slack_user_id}>"


# -- ephemeral answers ----------------------------------------------------------------------------


def ephemeral(text: str) -> dict[str, Any]:
    """An answer only the clicking user sees; the original message stays."""
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def link_prompt(url: str) -> dict[str, Any]:
    return ephemeral(
        f"You need to link your Slack identity to your Integration Hub account first: <{url}|Link identity>."
    )


def not_member(unlink_url: str) -> dict[str, Any]:
    return ephemeral(
        "Your linked Integration Hub account is not a member of this issue's organization. "
        f"You can <{unlink_url}|unlink your identity> and link another account."
    )


HELP_TEXT = (
    "Available commands:\n"
    "• `/hub link`: link your Slack identity to your Integration Hub account\n"
    "• `/hub unlink`: unlink your Slack identity\n"
    "• `/hub help`: this help"
)


# -- modals ----------------------------------------------------------------------------------------


def _modal(
    callback_id: str, title: str, block_id: str, label: str, choices: dict[str, str], metadata: dict[str, Any]
) -> dict[str, Any]:
    options = [{"text": _plain(text), "value": value} for value, text in choices.items()]
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(title, 24),
        "submit": _plain(title.split()[0], 24),
        "close": _plain("Cancel", 24),
        "private_metadata": json.dumps(metadata),
        "blocks": [
            {
                "type": "input",
                "block_id": block_id,
                "label": _plain(label),
                "element": {
                    "type": "static_select",
                    "action_id": block_id,
                    "placeholder": _plain("Choose..."),
                    "options": options,
                    "initial_option": options[0],
                },
            }
        ],
    }


def resolve_modal(metadata: dict[str, Any]) -> dict[str, Any]:
    """The resolve dialog; ``metadata`` names the issue and the message to update afterwards."""
    choices = {value: label for value, (label, _) in RESOLVE_CHOICES.items()}
    return _modal(RESOLVE_DIALOG, "Resolve Issue", RESOLVE_TYPE, "Resolve", choices, metadata)


def archive_modal(metadata: dict[str, Any]) -> dict[str, Any]:
    return _modal(ARCHIVE_DIALOG, "Archive Issue", ARCHIVE_TYPE, "Archive", ARCHIVE_CHOICES, metadata)


# -- invite requests -------------------------------------------------------------------------------


def invite_text(invite: InviteRequest) -> str:
    who = escape(user_label(invite.requester)) if invite.requester else "A member"
    return (
        f"{who} is requesting to invite {escape(invite.email)} as {escape(invite.role)} "
        f"to {escape(invite.organization_slug)}."
    )


def invite_message(invite: InviteRequest, outcome: str | None = None) -> dict[str, Any]:
    """The invite request with Approve / Reject buttons, or (``outcome``) without them once handled."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "block_id": json.dumps({"invite_request": _int_or_str(invite.id)}),
            "text": {"type": "mrkdwn", "text": invite_text(invite)},
        }
    ]
    if outcome:
        blocks.append(
            {"type": "context", "block_id": "outcome", "elements": [{"type": "mrkdwn", "text": outcome}]}
        )
    else:
        blocks.append(
            {
                "type": "actions",
                "block_id": "invite_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": APPROVE_MEMBER,
                        "text": _plain("Approve"),
                        "value": str(invite.id),
                        "style": "primary",
                    },
                    {
                        "type": "button",
                        "action_id": REJECT_MEMBER,
                        "text": _plain("Reject"),
                        "value": str(invite.id),
                        "style": "danger",
                    },
                ],
            }
        )
    return {"text": invite_text(invite), "blocks": blocks}
