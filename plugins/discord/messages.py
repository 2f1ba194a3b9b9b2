"""What the plugin says in Discord: alert embeds, buttons, selects, interaction answers.

Pure functions of hub values, so the exact bodies are easy to test. Component ``custom_id``s
read ``<action>:<issue id>`` (a dialog's select adds ``:<alert message id>``);
:mod:`plugins.discord.interactions` parses them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.types import Activity, Group, Rule, User

# https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object
PONG = 1
CHANNEL_MESSAGE_WITH_SOURCE = 4
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
EPHEMERAL = 1 << 6  # message flag: only the clicking user sees it

# https://discord.com/developers/docs/interactions/message-components#component-object-component-types
ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
PRIMARY, SECONDARY, SUCCESS, DANGER, LINK = 1, 2, 3, 4, 5

LEVEL_COLORS = {
    "fatal": 0xD1002F,
    "error": 0xE03E2F,
    "warning": 0xF5B000,
    "info": 0x2788CE,
    "debug": 0x9585A3,
}
DEFAULT_COLOR = LEVEL_COLORS["error"]
SELECT_LIMIT = 25  # Discord's maximum options per select

RESOLVED = "The issue has been resolved."
RESOLVED_IN_NEXT_RELEASE = "The issue will be resolved in the next release."
UNRESOLVED = "The issue has been unresolved."
ARCHIVED = "The issue has been archived."
MARKED_ONGOING = "The issue has been marked as ongoing."
ASSIGNEE_UPDATED = "Assignee has been updated."
INVALID_ISSUE = "Invalid issue ID."
UNKNOWN_ACTION = "Unknown action."
NOT_INSTALLED = "Integration Hub is not installed in this Discord server. An organization admin can add it."
NOT_IN_A_SERVER = "Use this command in a Discord server where Integration Hub is installed."
NOT_OUR_FORM = "This form is not Integration Hub's."
NOT_A_MEMBER = (
    "You are not a member of the organization that owns this issue. "
    "If you linked the wrong account, use /unlink and then /link."
)
NO_SELECTION = "Please choose an option first; nothing was changed."
HELP = (
    "Integration Hub commands:\n"
    "`/link` — link your Discord account to your Integration Hub account,"
    " so the buttons on alerts act as you.\n"
    "`/unlink` — remove that link.\n"
    "`/help` — show this message.\n"
    "On an alert, use Resolve, Archive and Assign… to act on the issue."
)


# -- interaction answers --------------------------------------------------------------------------


def ephemeral(content: str, components: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A reply only the user who clicked or typed sees."""
    data: dict[str, Any] = {"content": content, "flags": EPHEMERAL}
    if components is not None:
        data["components"] = components
    return {"type": CHANNEL_MESSAGE_WITH_SOURCE, "data": data}


def update_message(content: str, components: list[dict[str, Any]]) -> dict[str, Any]:
    """Edit the message the component sits on (its embeds are kept)."""
    return {"type": UPDATE_MESSAGE, "data": {"content": content, "components": components}}


def link_prompt(url: str) -> dict[str, Any]:
    return ephemeral(
        f"Link your Discord account to your Integration Hub account first: {url}\n"
        "(The link expires in 10 minutes.)",
        [
            {
                "type": ACTION_ROW,
                "components": [{"type": BUTTON, "style": LINK, "label": "Link account", "url": url}],
            }
        ],
    )


# -- alerts ------------------------------------------------------------------------------------------


def button(label: str, custom_id: str, style: int = SECONDARY) -> dict[str, Any]:
    return {"type": BUTTON, "style": style, "label": label, "custom_id": custom_id}


def alert_components(group: Group, status: str | None = None) -> list[dict[str, Any]]:
    """The action row under an alert; it reflects the issue's status (after a change too)."""
    status = status or group.status
    first = (
        button("Unresolve", f"unresolve:{group.id}")
        if status == "resolved"
        else button("Resolve", f"resolve:{group.id}")
    )
    second = (
        button("Mark as Ongoing", f"mark_ongoing:{group.id}")
        if status == "ignored"
        else button("Archive", f"archive:{group.id}")
    )
    return [
        {"type": ACTION_ROW, "components": [first, second, button("Assign…", f"assign_dialog:{group.id}")]}
    ]


def alert_message(group: Group, rule: Rule) -> dict[str, Any]:
    """The body of ``POST /channels/{id}/messages`` for an issue alert."""
    embed: dict[str, Any] = {
        "title": group.title[:256],
        "url": group.url,
        "color": LEVEL_COLORS.get(group.level, DEFAULT_COLOR),
        "footer": {"text": f"{group.short_id} via {rule.name}"[:2048]},
    }
    if group.culprit:
        embed["description"] = group.culprit[:4096]
    return {"embeds": [embed], "components": alert_components(group)}


# -- dialogs -------------------------------------------------------------------------------------------


def assign_dialog(group: Group, members: list[User]) -> dict[str, Any]:
    """An ephemeral select of the project's members; the current assignee is preselected."""
    current = group.assignee.id if group.assignee else None
    options = [{"label": "No one (unassign)", "value": "none", "default": current is None}]
    for user in members[: SELECT_LIMIT - 1]:
        options.append(
            {
                "label": (user.name or user.email)[:100],
                "value": f"user:{user.id}",
                "description": user.email[:100],
                "default": user.id == current,
            }
        )
    select = {
        "type": STRING_SELECT,
        "custom_id": f"assign:{group.id}",
        "placeholder": "Select Assignee...",
        "options": options,
        "min_values": 1,
        "max_values": 1,
    }
    return ephemeral(f"Assign {group.short_id} to:", [{"type": ACTION_ROW, "components": [select]}])


def resolve_dialog(group: Group, alert_message_id: str | None = None) -> dict[str, Any]:
    """How to resolve; the select names the alert it came from, whose buttons follow the choice."""
    options = [
        {"label": "Immediately", "value": "immediately"},
        {"label": "In the next release", "value": "inNextRelease"},
    ]
    select = {
        "type": STRING_SELECT,
        "custom_id": f"resolve:{group.id}:{alert_message_id}" if alert_message_id else f"resolve:{group.id}",
        "placeholder": "Resolve...",
        "options": options,
        "min_values": 1,
        "max_values": 1,
    }
    return ephemeral(f"Resolve {group.short_id}:", [{"type": ACTION_ROW, "components": [select]}])


# -- thread replies -------------------------------------------------------------------------------------


def _who(user: User | None) -> str:
    if user is None:
        return "Integration Hub"
    return user.name or user.email


def activity_text(activity: Activity, group: Group) -> str:
    """One line for an alert's thread: who did what to which issue."""
    data: Mapping[str, Any] = activity.data or {}
    who, sid = _who(activity.user), group.short_id
    kind = activity.type
    if kind == "set_resolved":
        text = f"{who} resolved {sid}" + (" in the next release" if data.get("inNextRelease") else "")
        if data.get("version"):
            text += f" in release {data['version']}"
    elif kind == "set_unresolved":
        text = f"{who} unresolved {sid}"
    elif kind == "set_ignored":
        text = f"{who} archived {sid}"
    elif kind == "assigned":
        text = f"{who} assigned {sid} to {data.get('assigneeEmail') or 'someone'}"
    elif kind == "unassigned":
        text = f"{who} unassigned {sid}"
    elif kind == "note":
        text = f"{who} commented on {sid}: {data.get('text', '')}"
    elif kind == "create_issue":
        text = f"{who} linked {sid} to {data.get('key') or data.get('title') or 'a ticket'}"
    else:
        text = f"{who}: {kind.replace('_', ' ')} on {sid}"
    if data.get("integration") == "discord":
        text += " (from Discord)"
    return text[:2000]
