"""Who is asking: a bearer API token, or the browser session of a logged-in user."""

from __future__ import annotations

from flask import request, session

from hub import models as m
from hub.members import user_for_token
from hub.sessions import session_user


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def current_user() -> m.User | None:
    """The authenticated user of this request (token first, then session), cached per request.

    Cached in the WSGI environ, not on ``g``: ``g`` lives as long as the app context, which a
    worker or a test may keep across many requests.
    """
    if "hub.user" in request.environ:
        cached: m.User | None = request.environ["hub.user"]
        return cached
    user = None
    token = bearer_token()
    if token:
        user = user_for_token(token)
    elif session.get("user_id"):
        user = session_user()
    request.environ["hub.user"] = user
    return user
