"""A v2 plugin written from docs/plugin_hooks.md's example: routes, a signature verifier, typed changes.

Provider key ``signed``. Its webhook ``POST /extensions/signed/hooks/<site>/`` is signed with the
integration's ``secret`` (HMAC-SHA256 of the body in ``X-Signature``). The body:
``{"delivery", "key", "id", "project"?, "state"?: "open"|"closed", "assignee"?: email|null,
"account"?: str, "moved_from"?: key, "comment"?: text, "author"?: email, "updated_ms"?: int, "boom"?: true}``.
``account`` (an assignee without an email) is looked up in the worker at ``GET {base}/accounts/<id>``.
Outbound status goes to ``PUT {base}/tickets/<key>/state``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from typing import Any

import requests

from hub import (
    AssigneeChange,
    CommentAdded,
    Inbound,
    Route,
    StatusChange,
    Ticket,
    TicketMoved,
    Unverified,
    WebhookResponse,
    hookimpl,
    services,
)
from hub.errors import ApiError, ValidationError
from hub.routes import public

KEY = "signed"
BASE = "https://signed.example.com"


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(post: Any, site: str, secret: str, payload: dict[str, Any], **kwargs: Any) -> Any:
    """Post a signed delivery with ``post`` (a Flask test client's or ``requests``' post)."""
    body = json.dumps(payload).encode()
    url = kwargs.pop("base", "") + f"/extensions/{KEY}/hooks/{site}/"
    return post(
        url,
        data=body,
        headers={"Content-Type": "application/json", "X-Signature": sign(secret, body)},
        **kwargs,
    )


@hookimpl
def provider_info() -> dict[str, Any]:
    return {"key": KEY, "name": "Signed tracker", "features": ["issue-sync", "status-sync", "assignee-sync"]}


@hookimpl
def webhook_routes() -> list[Route]:
    return [
        Route("hooks/<site>/", ("POST",), verify=verify, handle=handle, max_bytes=64 * 1024),
        Route(
            "ping/",
            ("GET", "POST"),
            verify=public,
            handle=lambda request, _: WebhookResponse(json={"ok": True}),
        ),
    ]


def verify(request: Any) -> Any:
    integration = services.get_integration(KEY, request.params["site"])
    secret = str(integration.metadata.get("secret", "")) if integration else ""
    sent = request.headers.get("X-Signature", "")
    if not secret or not hmac.compare_digest(sent, sign(secret, request.body)):
        raise Unverified("Bad signature.", {"X-Signature": ["Does not match the body."]})
    return integration


def handle(request: Any, integration: Any) -> Inbound:
    try:
        body = request.json()
    except ValueError as e:
        raise ValidationError("The body is not JSON.") from e
    if body.get("boom"):
        raise RuntimeError("the handler broke")
    ticket = Ticket(key=body["key"], id=str(body.get("id") or ""), project_id=str(body.get("project") or ""))
    when = body.get("updated_ms")
    changes: list[Any] = []
    if body.get("moved_from"):
        changes.append(TicketMoved(ticket=ticket, old_key=body["moved_from"], occurred_at=when))
    if "state" in body:
        closed = body["state"] == "closed"
        changes.append(
            StatusChange(
                ticket=ticket, status_id=body["state"], category="done" if closed else "new", occurred_at=when
            )
        )
    if "assignee" in body or "account" in body:
        email, account = body.get("assignee"), body.get("account")
        changes.append(AssigneeChange(ticket=ticket, assign=bool(email or account), email=email,
                                      account_id=account, occurred_at=when))
    if body.get("comment"):
        changes.append(CommentAdded(ticket=ticket, text=body["comment"], author_email=body.get("author"),
                                    occurred_at=when))
    return Inbound(integration=integration, changes=tuple(changes), dedupe_key=body.get("delivery"))


@hookimpl
def complete_change(integration: Any, change: Any) -> Any:
    if isinstance(change, AssigneeChange) and change.account_id:
        r = requests.get(f"{BASE}/accounts/{change.account_id}", timeout=5)
        if r.status_code >= 500:
            raise ApiError("The tracker could not be asked.", code=r.status_code)
        return replace(change, email=r.json().get("email"))
    return None


@hookimpl
def sync_status_outbound(integration: Any, external_issue: Any, is_resolved: bool) -> None:
    requests.put(f"{BASE}/tickets/{external_issue.key}/state", json={"closed": is_resolved}, timeout=5)
