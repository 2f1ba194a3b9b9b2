"""``POST /extensions/jira_server/issue-updated/<token>/``: Jira Server's webhook, and the routes.

Jira Server cannot sign a webhook, so the URL it posts to carries the proof: a JWT
``{"id": external_id}`` HS256-signed with a random key kept in that integration's encrypted
metadata. The id is read unverified only to find whose key to check it with (as Sentry does);
the route's verifier (:func:`verify_request`) checks it before anything of the body is read.
Then the parsing is Jira Cloud's (FLOWS §4), shared through :mod:`plugins.jira.changes`.
"""

from __future__ import annotations

import hmac
import logging
import secrets

import jwt

from hub import services
from hub.errors import Unverified
from hub.types import Integration, WebhookRequest

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
    token = webhook_token(external_id, secret)
    return f"{services.base_url().rstrip('/')}/extensions/{KEY}/{ENDPOINT_PREFIX}{token}/"


def _bad_token(reason: str) -> Unverified:
    logger.info("jira_server.webhook-token-rejected", extra={"reason": reason})
    return Unverified("Invalid webhook token.", {"token": [reason]}, status=400)


#: token → (integration id, the key it verified with), per process: a site posts the same URL every
#: time, so each process checks a token's signature once per key (a rotated key misses, is re-checked).
_VERIFIED: dict[str, tuple[str, str]] = {}
_VERIFIED_MAX = 1024


def verify_token(token: str) -> Integration:
    """The integration the token names, when it is signed with that integration's key.

    :raises Unverified: 400 ``Invalid webhook token.``, the reason under ``errors.token``.
    """
    if not token:
        raise _bad_token("missing")
    known = _VERIFIED.get(token)
    external_id: str | None
    if known is not None:
        external_id = known[0]
    else:
        try:
            claims = jwt.decode(token, options={"verify_signature": False}, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            raise _bad_token("undecodable") from None
        external_id = claims.get("id") if isinstance(claims, dict) else None
        if not isinstance(external_id, str) or not external_id:
            raise _bad_token("no integration id")
    integration = services.get_integration(KEY, external_id)
    if integration is None or integration.status != "active":
        raise _bad_token("unknown integration")
    secret = integration.metadata.get("webhook_secret")
    if not secret:
        raise _bad_token("unknown integration")
    if known is not None and hmac.compare_digest(known[1], secret):
        return integration
    try:
        # PyJWT compares HMAC signatures with hmac.compare_digest (constant time).
        jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        raise _bad_token("bad signature") from None
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[token] = (external_id, secret)
    return integration


def verify_request(request: WebhookRequest) -> Integration:
    """The route's verifier: the token in the URL path."""
    return verify_token(request.params.get("token", ""))
