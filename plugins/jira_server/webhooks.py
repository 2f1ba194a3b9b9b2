"""``POST /extensions/jira_server/issue-updated/<token>/``: Jira Server's webhook.

Jira Server cannot sign a webhook, so the URL it posts to carries the proof: a JWT
``{"id": external_id}`` HS256-signed with a random key kept in that integration's encrypted
metadata. The id is read unverified only to find whose key to check it with (as Sentry does);
nothing of the body is read before the token is verified. Then the handling is Jira Cloud's
(FLOWS §4), shared through ``plugins.jira.webhooks``.
"""

from __future__ import annotations

import logging
import secrets

import jwt

from hub import WebhookResponse, services
from hub.types import Integration, WebhookRequest
from plugins.jira.webhooks import handle_issue_updated, load_json
from plugins.jira_server.client import client_for

logger = logging.getLogger("hub.plugins.jira_server")

KEY = "jira_server"
ENDPOINT_PREFIX = "issue-updated/"


def new_webhook_secret() -> str:
    """A per-integration key for the webhook token (stored encrypted in metadata)."""
    return secrets.token_urlsafe(32)


def webhook_token(external_id: str, secret: str) -> str:
    return jwt.encode({"id": external_id}, secret, algorithm="HS256")


def webhook_url(external_id: str, secret: str) -> str:
    """The URL registered in Jira: the token in it is this integration's proof of origin."""
    return f"{services.base_url().rstrip('/')}/extensions/{KEY}/{ENDPOINT_PREFIX}{webhook_token(external_id, secret)}/"


def _bad_token(reason: str) -> WebhookResponse:
    logger.info("jira_server.webhook-token-rejected", extra={"reason": reason})
    return WebhookResponse(status=400, json={"detail": "Invalid webhook token.", "errors": {"token": [reason]}})


def verify_token(token: str) -> Integration | WebhookResponse:
    """The integration the token names, when it is signed with that integration's key; else a 400."""
    if not token:
        return _bad_token("missing")
    try:
        claims = jwt.decode(token, options={"verify_signature": False}, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return _bad_token("undecodable")
    external_id = claims.get("id") if isinstance(claims, dict) else None
    if not isinstance(external_id, str) or not external_id:
        return _bad_token("no integration id")
    integration = services.get_integration(KEY, external_id)
    if integration is None or integration.status != "active":
        return _bad_token("unknown integration")
    secret = integration.metadata.get("webhook_secret")
    if not secret:
        return _bad_token("unknown integration")
    try:
        # PyJWT compares HMAC signatures with hmac.compare_digest (constant time).
        jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return _bad_token("bad signature")
    return integration


def handle(endpoint: str, request: WebhookRequest) -> WebhookResponse | None:
    """Route ``issue-updated/<token>/``; ``None`` for any other endpoint (the core answers 404)."""
    if not endpoint.startswith(ENDPOINT_PREFIX):
        return None
    if request.method != "POST":
        return WebhookResponse(status=405, json={"detail": "Use POST.", "errors": {}})
    verified = verify_token(endpoint[len(ENDPOINT_PREFIX):].strip("/"))
    if isinstance(verified, WebhookResponse):
        return verified
    if request.already_processed():
        return WebhookResponse(status=200, json={"detail": "Already processed."})
    return issue_updated(verified, request)


def issue_updated(integration: Integration, request: WebhookRequest) -> WebhookResponse:
    """The shared Jira handling (FLOWS §4) of a verified delivery, with the Server's client."""
    payload = load_json(request)
    return handle_issue_updated(integration, payload, lambda: client_for(integration.metadata))
