"""``jira:issue_updated`` as typed changes, shared by Jira Cloud and Jira Server (FLOWS §4).

In the request, :func:`issue_updated` turns a verified delivery into :mod:`hub.types` changes
(moved ticket, assignee, status) and asks Jira nothing. What the payload lacks (an email Cloud
hides, the status categories) is looked up in the worker by :func:`complete_change`, cached;
a failing lookup raises, so the core tries again later.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from hub import WebhookResponse, services
from hub.errors import ApiError, ValidationError
from hub.types import (
    AssigneeChange,
    Change,
    Inbound,
    Integration,
    StatusChange,
    Ticket,
    TicketMoved,
    WebhookRequest,
)

from .client import JiraClient
from .schemas import IssueUpdated, parse_issue_updated

logger = logging.getLogger("hub.plugins.jira")

ClientFactory = Callable[[Integration], JiraClient]

EMAIL_TTL = 24 * 3600
STATUS_TTL = 3600
#: Jira's id of one webhook, the same on each of its retries (Cloud; newer Data Center too).
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"


def load_json(request: WebhookRequest) -> Any:
    """The request body as JSON; raises ``ValidationError`` (400) when it is not."""
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError) as e:
        raise ValidationError("The body is not valid JSON.") from e


def issue_updated(request: WebhookRequest, integration: Integration) -> Inbound | WebhookResponse:
    """The changes a verified delivery reports, for the core to record and the worker to apply.

    A delivery that changes nothing the hub syncs is answered at once (and logged as skipped).
    :raises ValidationError: not JSON, no ``issue.key``, a malformed changelog (400).
    """
    event = parse_issue_updated(load_json(request))
    changes = changes_of(event)
    if not changes:
        detail = "No changelog: nothing to do." if not event.items else "Nothing the hub syncs changed."
        return WebhookResponse(status=200, json={"detail": detail}, outcome="skipped")
    key = (request.headers.get(DELIVERY_HEADER) or "").strip()
    return Inbound(integration=integration, changes=tuple(changes),
                   dedupe_key=f"jira-webhook:{key}" if key else None)


def changes_of(event: IssueUpdated) -> list[Change]:
    """Key (a move), assignee and status items of the changelog, in that order: a move re-keys the
    link before the changes under the new key apply."""
    ticket = Ticket(key=event.key, id=str(event.issue.get("id") or ""), project_id=event.project_id or "")
    when = float(event.timestamp) if event.timestamp else None
    changes: list[Change] = []
    moves = event.changed("Key")
    if moves and ticket.id:  # APP-123 → PLATFORM-45: the links follow the issue id
        old_key = moves[-1].raw.get("fromString")
        changes.append(TicketMoved(ticket=ticket, occurred_at=when,
                                   old_key=str(old_key) if old_key else None))
    assignee_items = event.changed("assignee")
    if assignee_items and not event.assignee_unreadable:
        person = event.assignee
        if person is None:  # whom it removed: Cloud's accountId, Server's user key; its email in the worker
            changes.append(AssigneeChange(ticket=ticket, occurred_at=when, assign=False,
                                          account_id=assignee_items[-1].from_id))
        else:
            changes.append(AssigneeChange(ticket=ticket, occurred_at=when, assign=True, email=person.email,
                                          account_id=None if person.email else person.account_id))
    status_items = event.changed("status")
    if status_items:
        item = status_items[-1]
        category = event.status_category if event.status_id and event.status_id == item.to_id else None
        changes.append(StatusChange(ticket=ticket, occurred_at=when, status_id=item.to_id or "",
                                    status_name=str(item.raw.get("toString") or ""), category=category,
                                    from_status_id=item.from_id))
    return changes


# -- in the worker --------------------------------------------------------------------------------


def complete_change(integration: Integration, change: Change, client_factory: ClientFactory) -> Change | None:
    """Fill in a hidden email or the status categories (cached); ``None`` when nothing to add.

    :raises ApiError: the lookup failed (the core retries a retryable one, then marks it failed).
    """
    if isinstance(change, AssigneeChange) and change.assign and not change.email and change.account_id:
        email = assignee_email(integration, change.account_id, client_factory)
        return dataclasses.replace(change, email=email) if email else None
    if (isinstance(change, AssigneeChange) and not change.assign and change.account_id
            and not change.replaces_email):
        return _naming_the_removed(integration, change, client_factory)
    if isinstance(change, StatusChange):
        return _with_categories(integration, change, client_factory)
    return None


def _naming_the_removed(integration: Integration, change: AssigneeChange,
                        client_factory: ClientFactory) -> Change | None:
    """The unassign with the email of whom the changelog says it removed, so the core removes only
    them. Jira not knowing that user (gone, or the email hidden) leaves it to the core's fallback
    (the user last synced with the ticket); a retryable failure raises, to be tried again."""
    user_id = str(change.account_id)
    cache_key = f"{integration.provider}:changelog-email:{integration.id}:{user_id}"
    cached = services.cache_get(cache_key)
    if cached is not None:  # "" when Jira hid it: asked once per EMAIL_TTL, not per unassign
        return dataclasses.replace(change, replaces_email=str(cached)) if cached else None
    try:
        email = client_factory(integration).changelog_user_email(user_id)
    except ApiError as e:
        if e.retryable:
            raise
        logger.info("jira.removed-assignee-unknown", extra={"integration": integration.id, "code": e.code})
        return None
    services.cache_set(cache_key, email or "", ttl=EMAIL_TTL)
    return dataclasses.replace(change, replaces_email=email) if email else None


def assignee_email(integration: Integration, account_id: str, client_factory: ClientFactory) -> str | None:
    """The email Jira Cloud hides, by the cached ``/user/email`` lookup (``None`` on a Server)."""
    cache_key = f"{integration.provider}:email:{integration.id}:{account_id}"
    cached = services.cache_get(cache_key)
    if cached:
        return str(cached)
    client = client_factory(integration)
    if not client.style.can_lookup_email:
        return None
    email = client.get_user_email(account_id)
    if email:
        services.cache_set(cache_key, email, ttl=EMAIL_TTL)
    return email


def status_categories(integration: Integration, client_factory: ClientFactory) -> dict[str, str]:
    """``{status id: category key}`` of the site (``new``, ``indeterminate``, ``done``), cached."""
    cache_key = f"{integration.provider}:statuses:{integration.id}"
    cached = services.cache_get(cache_key)
    if isinstance(cached, dict):
        return cached
    statuses = client_factory(integration).get_statuses()
    categories = {
        str(s.get("id")): str((s.get("statusCategory") or {}).get("key"))
        for s in statuses
        if s.get("id") is not None and (s.get("statusCategory") or {}).get("key")
    }
    services.cache_set(cache_key, categories, ttl=STATUS_TTL)
    return categories


def _with_categories(
    integration: Integration, change: StatusChange, client_factory: ClientFactory
) -> Change | None:
    """The categories of the target and the left status. When the payload named the target's,
    a failed lookup is not fatal: into ``done`` still resolves without knowing where it came from."""
    try:
        site = status_categories(integration, client_factory)
    except ApiError as e:
        if change.category is None:
            raise
        logger.info("jira.status-lookup-failed", extra={"integration": integration.id, "status": e.code})
        return None
    category = change.category or site.get(change.status_id)
    from_category = change.from_category
    if from_category is None and change.from_status_id:
        from_category = site.get(change.from_status_id)
    if (category, from_category) == (change.category, change.from_category):
        return None
    return dataclasses.replace(change, category=category, from_category=from_category)
