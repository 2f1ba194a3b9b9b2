"""Discord's request signature: Ed25519 over ``X-Signature-Timestamp + raw body``.

https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
"""

from __future__ import annotations

import logging
import time

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from hub import Unverified, services
from hub.types import WebhookRequest

logger = logging.getLogger("hub.plugins.discord")

MAX_AGE_SECONDS = 300
SIGNATURE_HEX_LENGTH = 128  # an Ed25519 signature is 64 bytes


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and all(c in "0123456789abcdefABCDEF" for c in value)


def _is_epoch(value: str) -> bool:
    """Unix seconds as Discord sends them: ASCII digits only (``'²'.isdigit()`` is true), a sane length."""
    return 0 < len(value) <= 12 and value.isascii() and value.isdigit()


class InvalidSignature(Exception):
    """The request is not from Discord (or too old to trust); answered with 401."""


def verify_request(
    public_key_hex: str | None,
    signature_hex: str | None,
    timestamp: str | None,
    body: bytes,
    *,
    check_age: bool = True,
    now: float | None = None,
) -> None:
    """Raise :class:`InvalidSignature` unless Discord signed exactly this body recently."""
    if not signature_hex or not timestamp:
        raise InvalidSignature("Missing X-Signature-Ed25519 or X-Signature-Timestamp header.")
    if not public_key_hex:
        raise InvalidSignature("HUB_DISCORD_PUBLIC_KEY is not configured.")
    if not _is_hex(signature_hex, SIGNATURE_HEX_LENGTH) or not _is_epoch(timestamp):
        raise InvalidSignature("Malformed X-Signature-Ed25519 or X-Signature-Timestamp header.")
    try:
        key = VerifyKey(bytes.fromhex(public_key_hex))
        key.verify(timestamp.encode() + body, bytes.fromhex(signature_hex))
    except (BadSignatureError, ValueError, TypeError) as e:
        raise InvalidSignature("Invalid request signature.") from e
    if check_age:
        sent = int(timestamp)
        if abs((now if now is not None else time.time()) - sent) > MAX_AGE_SECONDS:
            raise InvalidSignature("Request timestamp is too old.")


def verify_interaction(request: WebhookRequest) -> None:
    """The interactions route's verifier, run before the body is parsed: Discord signed exactly
    these bytes within the last 5 minutes (``hub replay`` skips only the age)."""
    try:
        verify_request(
            services.config("HUB_DISCORD_PUBLIC_KEY"),
            request.headers.get("X-Signature-Ed25519"),
            request.headers.get("X-Signature-Timestamp"),
            request.body,
            check_age=not request.replayed,
        )
    except InvalidSignature as e:
        logger.warning("discord.bad-signature", extra={"reason": str(e)})
        raise Unverified(str(e)) from e
