"""Secrets at rest (Fernet) and signed, expiring link tokens (itsdangerous)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hub.errors import ValidationError


def _fernet() -> Fernet:
    return Fernet(current_app.config["HUB_ENCRYPTION_KEY"].encode())


def encrypt_json(value: Any) -> str:
    return _fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str, default: Any = None) -> Any:
    if not token:
        return default
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as e:
        raise RuntimeError(
            "stored secret cannot be decrypted: is HUB_ENCRYPTION_KEY the one it was written with?"
        ) from e


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(payload: dict[str, Any], salt: str) -> str:
    """A URL-safe token carrying ``payload``, signed with ``HUB_SECRET_KEY`` for ``salt``."""
    return URLSafeTimedSerializer(current_app.config["HUB_SECRET_KEY"], salt=salt).dumps(payload)


def unsign(token: str, salt: str, max_age: int = 600) -> dict[str, Any]:
    """The payload of a token made by :func:`sign`; raises ``ValidationError`` when it is forged or old."""
    try:
        value = URLSafeTimedSerializer(current_app.config["HUB_SECRET_KEY"], salt=salt).loads(
            token, max_age=max_age
        )
    except SignatureExpired as e:
        raise ValidationError("This link has expired.") from e
    except BadSignature as e:
        raise ValidationError("This link is not valid.") from e
    if not isinstance(value, dict):
        raise ValidationError("This link is not valid.")
    return value
