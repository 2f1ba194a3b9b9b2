"""Secrets at rest (Fernet) and signed, expiring link tokens (itsdangerous)."""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hub.errors import ValidationError


def _fernet() -> Fernet:
    return _fernet_for(current_app.config["HUB_ENCRYPTION_KEY"])


@functools.lru_cache(maxsize=4)
def _fernet_for(key: str) -> Fernet:
    return Fernet(key.encode())


@functools.lru_cache(maxsize=2048)
def _plaintext(key: str, token: str) -> bytes:
    """Decrypted once per process: every webhook reads its integration's metadata (the ciphertext
    names the value exactly, so a re-encrypted secret is a new entry). Plain bytes, so each caller
    gets its own fresh object from ``json.loads``."""
    return _fernet_for(key).decrypt(token.encode())


def encrypt_json(value: Any, *, reuse: bool = False) -> str:
    """Fernet of the value's JSON. ``reuse``: a value written again and again (each delivery to one
    webhook URL stores the same secret path) is encrypted once per process; equal values then have
    equal ciphertexts, so it is only for values whose equality tells nothing."""
    plaintext = json.dumps(value, sort_keys=True)
    key = current_app.config["HUB_ENCRYPTION_KEY"]
    return _ciphertext(key, plaintext) if reuse else _fernet_for(key).encrypt(plaintext.encode()).decode()


@functools.lru_cache(maxsize=256)
def _ciphertext(key: str, plaintext: str) -> str:
    return _fernet_for(key).encrypt(plaintext.encode()).decode()


def decrypt_json(token: str, default: Any = None) -> Any:
    if not token:
        return default
    try:
        return json.loads(_plaintext(current_app.config["HUB_ENCRYPTION_KEY"], token))
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
