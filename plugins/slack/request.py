"""What every inbound Slack request shares (as Sentry's ``slack/requests/base.py``): the v0
signature check, reading a payload without trusting its shape, the workspace's integration and
the 4xx answers in Slack's words.

Slack signs every request (``X-Slack-Signature`` = ``v0=`` HMAC-SHA256 of
``v0:{timestamp}:{raw body}`` with the app's signing secret). :func:`verify` is the routes'
verifier, so nothing is parsed before that check passes; a replayed delivery (``hub replay``)
keeps its signature but skips the 5-minute window, which has long passed by then.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_sdk.signature import Clock, SignatureVerifier

from hub import WebhookResponse, services
from hub.errors import Unverified
from hub.inputs import loads
from hub.types import Integration, WebhookRequest

logger = logging.getLogger("hub.plugins.slack")

MAX_SKEW_SECONDS = 60 * 5


class _FixedClock(Clock):
    """A clock stopped at the request's own timestamp: the window check always passes (replays)."""

    def __init__(self, now: int) -> None:
        self._now = now

    def now(self) -> float:
        return float(self._now)


def verify(request: WebhookRequest) -> None:
    """The routes' verifier: returns when the request is Slack's, else raises ``Unverified`` (401)."""
    secret = services.config("HUB_SLACK_SIGNING_SECRET")
    if not secret:
        logger.error("slack.signing-secret-missing")
        raise Unverified("Slack requests cannot be verified: HUB_SLACK_SIGNING_SECRET is not set.")
    timestamp = request.headers.get("X-Slack-Request-Timestamp") or ""
    signature = request.headers.get("X-Slack-Signature") or ""
    # What slack_sdk's verifier assumes: ASCII digits ('²'.isdigit() is true, int() refuses it) and
    # an ASCII signature (hmac.compare_digest raises TypeError on anything else).
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise Unverified("Missing or malformed Slack signature headers.")
    if not signature or not signature.isascii():
        raise Unverified("Missing or malformed Slack signature headers.")
    if not request.replayed and abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        logger.warning("slack.stale-request", extra={"timestamp": timestamp})
        raise Unverified("The request timestamp is too old (or in the future).")
    verifier = SignatureVerifier(secret, clock=_FixedClock(int(timestamp)) if request.replayed else Clock())
    try:
        valid = verifier.is_valid(body=request.body, timestamp=timestamp, signature=signature)
    except UnicodeDecodeError:
        valid = False
    if not valid:
        logger.warning("slack.bad-signature", extra={"path": request.path})
        raise Unverified("Invalid Slack signature.")


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else ``{}``: read payload fields without trusting their shape."""
    return value if isinstance(value, dict) else {}


def error(status: int, detail: str, errors: dict[str, Any] | None = None) -> WebhookResponse:
    return WebhookResponse(status=status, json={"detail": detail, "errors": errors or {}})


def parse_payload(request: WebhookRequest) -> dict[str, Any] | WebhookResponse:
    """The ``payload`` form field of an interaction, parsed; a 400 when missing or not a JSON object."""
    raw = request.form.get("payload")
    if not raw:
        return error(400, "Missing payload.", {"payload": ["This field is required."]})
    try:
        payload = loads(raw)
    except ValueError:
        return error(400, "The payload is not valid JSON.", {"payload": ["Not valid JSON."]})
    if not isinstance(payload, dict):
        return error(400, "The payload must be a JSON object.", {"payload": ["Not a JSON object."]})
    return payload


def integration_for_team(team_id: Any, *, disabled_too: bool = False) -> Integration | None:
    """The active Slack integration of a workspace (or a disabled one, when asked), or ``None``."""
    if not team_id or not isinstance(team_id, str):
        return None
    integration = services.get_integration("slack", team_id)
    if integration is None or (integration.status == "disabled" and not disabled_too):
        return None
    return integration


def unknown_team(team_id: Any) -> WebhookResponse:
    logger.warning("slack.unknown-team", extra={"team": str(team_id)[:64]})
    return error(403, "This Slack workspace is not connected to Integration Hub.")


def duplicate(endpoint: str) -> WebhookResponse:
    """A redelivery of something already processed: 200, and nothing happens again."""
    logger.info("slack.duplicate", extra={"endpoint": endpoint})
    return WebhookResponse(status=200)
