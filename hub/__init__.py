"""Integration Hub: connect an organization's issues to Jira, Slack, Discord and more.

Public names for plugin authors: ``hookimpl``, ``WebhookRequest``, ``WebhookResponse``,
``RetryLater``, ``PluginError``, ``InstallError``, ``SyncSkipped``; for inbound v2 ``Route``,
``Inbound``, ``Unverified`` and the typed changes (``StatusChange``, ``AssigneeChange``,
``TicketMoved``, ``CommentAdded``, ``Ticket``, ``ChatAction``, ``ChatIdentity``); and ``create_app`` to run
the hub. The rest of the plugin API is in :mod:`hub.hookspecs`, :mod:`hub.types`,
:mod:`hub.services` and :mod:`hub.http`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.errors import InstallError, PluginError, RetryLater, SyncSkipped, Unverified
from hub.hookspecs import hookimpl
from hub.types import (
    AssigneeChange,
    ChatAction,
    ChatIdentity,
    CommentAdded,
    Inbound,
    Route,
    StatusChange,
    Ticket,
    TicketMoved,
    WebhookRequest,
    WebhookResponse,
)

if TYPE_CHECKING:
    from flask import Flask

__version__ = "1.0.0"
__all__ = [
    "AssigneeChange", "ChatAction", "ChatIdentity", "CommentAdded", "Inbound", "InstallError", "PluginError",
    "RetryLater", "Route", "StatusChange", "SyncSkipped", "Ticket", "TicketMoved", "Unverified",
    "WebhookRequest", "WebhookResponse", "__version__", "create_app", "hookimpl",
]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the hub's Flask app (see :mod:`hub.app`)."""
    from hub.app import create_app as _create_app

    return _create_app(config)
