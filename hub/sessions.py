"""Browser sessions: password check with throttling, and the per-user session version.

A Flask session is a signed cookie, so the server cannot forget one cookie; instead each user has a
``session_version`` that the cookie must match. Logging out or changing the password bumps it, which
ends every session of that user, a stolen copy of the cookie included.

Failed logins are counted in Redis per account and per client address (fixed 5-minute windows):
after ``MAX_FAILURES`` the login answers 429 with ``Retry-After`` until the window ends, even for
the right password. Unknown emails cost the same password hash as known ones, so the time taken
does not tell which emails have accounts.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import lru_cache

import redis
from flask import Flask, request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from hub import models as m
from hub import queue
from hub.extensions import db

logger = logging.getLogger("hub.sessions")


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signer built once per key instead of per request
    (every request opens its session, a webhook's or an SDK event's too)."""

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        return _signer(self, app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))


@lru_cache(maxsize=8)
def _signer(
    interface: CookieSessions, key: str | bytes, fallbacks: tuple[str | bytes, ...]
) -> URLSafeTimedSerializer:
    keys: list[str | bytes] = [*fallbacks, key]
    # itsdangerous takes str and bytes keys mixed; its hint names one kind (Flask's sessions ignore it too)
    return URLSafeTimedSerializer(keys,  # type: ignore[arg-type]
                                  salt=interface.salt, serializer=interface.serializer,
                                  signer_kwargs={"key_derivation": interface.key_derivation,
                                                 "digest_method": interface.digest_method})

MAX_FAILURES = 10
WINDOW_SECONDS = 300
KEY_PREFIX = "hub:login-failures:"


@dataclass
class LoginResult:
    user: m.User | None = None
    retry_after: int = 0  # seconds; > 0 when throttled


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash made the way real ones are, checked for unknown emails (equal work)."""
    return generate_password_hash("not a password of anyone")


def _keys(email: str) -> list[str]:
    account = hashlib.sha256(email.encode()).hexdigest()[:32]
    return [f"{KEY_PREFIX}account:{account}", f"{KEY_PREFIX}client:{request.remote_addr or '-'}"]


def _take_attempt(keys: list[str]) -> int:
    """Count this login as a failure *before* its password is checked (the hash takes a while: a
    burst of guesses counted afterwards all passed the check); seconds to wait when a counter is
    past the limit (the attempt is then not counted), else 0."""
    try:
        r = queue.get_redis()
        pipe = r.pipeline()
        for key in keys:
            pipe.incr(key)
            pipe.ttl(key)
        values = pipe.execute()
        waits = []
        for key, count, ttl in zip(keys, values[::2], values[1::2], strict=True):
            if int(ttl) < 0:  # a new window (EXPIRE ... NX needs Redis 7)
                r.expire(key, WINDOW_SECONDS)
                ttl = WINDOW_SECONDS
            if int(count) > MAX_FAILURES:
                waits.append(max(int(ttl), 1))
        if waits:
            undo = r.pipeline()
            for key in keys:
                undo.decr(key)
            undo.execute()
        return max(waits, default=0)
    except redis.RedisError:
        logger.warning("login.throttle-unavailable")
        return 0


def _forgive(keys: list[str]) -> None:
    """A good password: the account's counter starts over; the client's loses this attempt."""
    try:
        pipe = queue.get_redis().pipeline()
        pipe.delete(keys[0])
        pipe.decr(keys[1])
        pipe.execute()
    except redis.RedisError:
        pass


def authenticate(email: str, password: str) -> LoginResult:
    """The user whose email and password these are, unless throttled (then ``retry_after``)."""
    email = email.strip().lower()
    keys = _keys(email)
    wait = _take_attempt(keys)
    if wait:
        return LoginResult(retry_after=wait)
    user = db.session.scalar(select(m.User).where(func.lower(m.User.email) == email)) if email else None
    stored = user.password_hash if user is not None and user.password_hash else None
    ok = check_password_hash(stored or _dummy_hash(), password) and stored is not None
    if not ok:
        return LoginResult()
    _forgive(keys)
    return LoginResult(user=user)


def start(user: m.User) -> None:
    """A fresh session for this user (nothing carried over from before the login)."""
    session.clear()
    session["user_id"] = user.id
    session["v"] = user.session_version or 0


def session_user() -> m.User | None:
    """The user of the browser session, when its version is still the user's."""
    user_id = session.get("user_id")
    user = db.session.get(m.User, user_id) if isinstance(user_id, int) else None
    if user is None or session.get("v", 0) != (user.session_version or 0):
        return None
    return user


def end_all(user: m.User) -> None:
    """End every browser session of this user (logout, password change); the caller commits."""
    user.session_version = m.User.session_version + 1  # in SQL: two at once both count


def set_password(user: m.User, password: str) -> None:
    """Set the password and end the user's sessions; the caller commits."""
    user.password_hash = generate_password_hash(password)
    end_all(user)
