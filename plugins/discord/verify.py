"""Discord's request signature: Ed25519 over ``X-Signature-Timestamp + raw body``.

https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
"""

from __future__ import annotations

import time

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

MAX_AGE_SECONDS = 300


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
    try:
        key = VerifyKey(bytes.fromhex(public_key_hex))
        key.verify(timestamp.encode() + body, bytes.fromhex(signature_hex))
    except (BadSignatureError, ValueError, TypeError) as e:
        raise InvalidSignature("Invalid request signature.") from e
    if check_age:
        try:
            sent = int(timestamp)
        except ValueError as e:
            raise InvalidSignature("Invalid X-Signature-Timestamp.") from e
        if abs((now if now is not None else time.time()) - sent) > MAX_AGE_SECONDS:
            raise InvalidSignature("Request timestamp is too old.")
