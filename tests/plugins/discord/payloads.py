"""Interaction bodies shaped like the ones Discord POSTs to an interactions endpoint (Discord's
"Receiving and Responding" docs): our own invented snowflakes and tokens, only the keys the hub
reads plus a few Discord always sends."""

from __future__ import annotations

from typing import Any

APPLICATION_ID = "1298471650000000001"
GUILD_ID = "1298471650000000101"
CHANNEL_ID = "1298471650000000102"
DISCORD_USER_ID = "1298471650000000103"
ALERT_MESSAGE_ID = "1298471650000000104"


def _interaction(interaction_id: str, kind: int, token: str) -> dict[str, Any]:
    return {"type": kind, "id": interaction_id, "application_id": APPLICATION_ID, "token": token,
            "version": 1}


def ping() -> dict[str, Any]:
    """Type 1: Discord checks the endpoint (on save, and now and then) and expects a PONG."""
    return _interaction("1298471659000000001", 1, "cGluZy10b2tlbi1odWItdGVzdHM")


def in_guild(interaction_id: str, kind: int, *, user_id: str = DISCORD_USER_ID) -> dict[str, Any]:
    """An interaction from a guild channel: the clicking user arrives wrapped in ``member``."""
    body = _interaction(interaction_id, kind, f"aW50ZXJhY3Rpb24t{interaction_id}")
    body.update(
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        locale="en-GB",
        member={
            "user": {"id": user_id, "username": "jess.on.call", "global_name": "Jess", "discriminator": "0"},
            "roles": [],
            "nick": None,
            "permissions": "1071698660929",
        },
    )
    return body


def assign_select(issue_id: Any = 7, value: str = "none") -> dict[str, Any]:
    """Type 3: someone picked ``value`` in the assignee select under an issue alert."""
    body = in_guild("1298471659000000002", 3)
    body["message"] = {
        "id": ALERT_MESSAGE_ID,
        "channel_id": CHANNEL_ID,
        "author": {"id": APPLICATION_ID, "username": "Integration Hub", "bot": True},
        "content": "",
        "components": [
            {
                "type": 1,
                "components": [
                    {
                        "type": 3,
                        "custom_id": f"assign:{issue_id}",
                        "options": [{"label": "No one (unassign)", "value": "none"}],
                    }
                ],
            }
        ],
    }
    body["data"] = {"custom_id": f"assign:{issue_id}", "component_type": 3, "values": [value]}
    return body
