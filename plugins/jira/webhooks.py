"""``jira:issue_updated`` handling shared by Jira Cloud and Jira Server (FLOWS §4).

The caller verifies the request (Connect JWT, or the Server's signed token) and drops
redeliveries first; :func:`handle_issue_updated` then parses the payload and reports the
changes to the core's inbound sync hooks. It calls Jira only for what the payload lacks: a
hidden email (Cloud) and the status categories of the statuses involved, both cached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hub import WebhookResponse, services
from hub.errors import ApiError, ValidationError
from hub.types import Integration, WebhookRequest

from .client import JiraClient
from .schemas import IssueUpdated, JiraUser, parse_issue_updated

logger = logging.getLogger("hub.plugins.jira")

ClientFactory = Callable[[], JiraClient]

EMAIL_TTL = 24 * 3600
STATUS_TTL = 3600


def load_json(request: WebhookRequest) -> Any:
    """The request body as JSON; raises ``ValidationError`` (400) when it is not."""
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError) as e:
        raise ValidationError("The body is not valid JSON.") from e


def handle_issue_updated(
    integration: Integration, payload: Any, client_factory: ClientFactory
) -> WebhookResponse:
    """Apply an issue-updated delivery: assignee and status changes, nothing else.

    :param integration: the (verified) integration the delivery came from.
    :param payload: the decoded JSON body.
    :param client_factory: builds the site's client, only called when Jira must be asked.
    :returns: 200 when processed or uninteresting; 200 with ``error_message`` when a hidden
        email could not be looked up (then nothing changed).
    :raises ValidationError: no ``issue.key`` or a malformed payload (400).
    """
    event = parse_issue_updated(payload)
    if not event.items:
        return WebhookResponse(status=200, json={"detail": "No changelog: nothing to do."})
    hook = services.hook()
    ticket_id = str(event.issue.get("id") or "") or None
    timing: dict[str, Any] | None = {"timestamp": event.timestamp} if event.timestamp else None
    if ticket_id:
        timing = {**(timing or {}), "external_id": ticket_id}
    result: dict[str, Any] = {"detail": "processed", "key": event.key}

    moves = event.changed("Key")
    if moves and ticket_id:  # moved (APP-123 → PLATFORM-45): the links follow the issue id
        old_key = moves[-1].raw.get("fromString")
        result["moved"] = hook.sync_ticket_moved_inbound(
            integration=integration, external_id=ticket_id,
            old_key=str(old_key) if old_key else None, new_key=event.key) or 0

    assignee_items = event.changed("assignee")
    email: str | None = None
    if assignee_items and event.assignee is not None:
        try:
            email = assignee_email(integration, event.assignee, client_factory)
        except ApiError as e:
            logger.warning(
                "jira.email-lookup-failed",
                extra={"integration": integration.id, "key": event.key, "status": e.code},
            )
            return WebhookResponse(
                status=200,
                json={
                    "detail": "not processed",
                    "error_message": f"Could not look up the assignee's email: {e.message}",
                },
                outcome="lookup-failed",
                retry=True,  # nothing was done: a redelivery is handled again
            )

    if assignee_items:
        if event.assignee is None:
            changed = hook.sync_assignee_inbound(
                integration=integration, email=None, external_issue_key=event.key, assign=False, data=timing
            )
            result["assignee"] = len(changed or [])
        elif email:
            changed = hook.sync_assignee_inbound(
                integration=integration, email=email, external_issue_key=event.key, assign=True, data=timing
            )
            result["assignee"] = len(changed or [])
        else:  # never unassign for an email we cannot see
            logger.info(
                "jira.assignee-email-unknown", extra={"integration": integration.id, "key": event.key}
            )
            result["assignee"] = 0

    status_items = event.changed("status")
    if status_items:
        item = status_items[-1]
        data: dict[str, Any] = {"changelog": item.raw, "issue": event.issue, **(timing or {})}
        data.update(_categories(integration, event, item.from_id, item.to_id, client_factory))
        changed = hook.sync_status_inbound(integration=integration, external_issue_key=event.key, data=data)
        result["status"] = len(changed or [])
    return WebhookResponse(status=200, json=result)


def assignee_email(integration: Integration, user: JiraUser, client_factory: ClientFactory) -> str | None:
    """The assignee's email: from the payload, else (Cloud) the cached ``/user/email`` lookup."""
    if user.email:
        return user.email
    if not user.account_id:
        return None
    cache_key = f"{integration.provider}:email:{integration.id}:{user.account_id}"
    cached = services.cache_get(cache_key)
    if cached:
        return str(cached)
    client = client_factory()
    if not client.style.can_lookup_email:
        return None
    email = client.get_user_email(user.account_id)
    if email:
        services.cache_set(cache_key, email, ttl=EMAIL_TTL)
    return email


def status_categories(integration: Integration, client_factory: ClientFactory) -> dict[str, str]:
    """``{status id: category key}`` of the site (``new``, ``indeterminate``, ``done``), cached."""
    cache_key = f"{integration.provider}:statuses:{integration.id}"
    cached = services.cache_get(cache_key)
    if isinstance(cached, dict):
        return cached
    statuses = client_factory().get_statuses()
    categories = {
        str(s.get("id")): str((s.get("statusCategory") or {}).get("key"))
        for s in statuses
        if s.get("id") is not None and (s.get("statusCategory") or {}).get("key")
    }
    services.cache_set(cache_key, categories, ttl=STATUS_TTL)
    return categories


def _categories(
    integration: Integration,
    event: IssueUpdated,
    from_id: str | None,
    to_id: str | None,
    client_factory: ClientFactory,
) -> dict[str, str]:
    known: dict[str, str] = {}
    if event.status_id and event.status_id == to_id and event.status_category:
        known["to_category"] = event.status_category
    if from_id is None and "to_category" in known:
        return known
    try:
        site = status_categories(integration, client_factory)
    except ApiError as e:  # the core falls back on what the payload says
        logger.info("jira.status-lookup-failed", extra={"integration": integration.id, "status": e.code})
        return known
    if to_id and "to_category" not in known and to_id in site:
        known["to_category"] = site[to_id]
    if from_id and from_id in site:
        known["from_category"] = site[from_id]
    return known
