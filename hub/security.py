"""Browser-facing protections shared by every page: CSRF tokens and response headers.

- CSRF: every form POST to the hub's pages carries flask-wtf's token (``csrf_token()`` in any
  template), on top of the same-origin check (:func:`same_origin`, which plugin pages that act for
  a logged-in user call too). Requests that a browser form cannot forge are exempt:
  the REST API (bearer tokens, JSON bodies), the SDK endpoints and the provider door
  ``/extensions/``, where the door itself asks the token of POSTs that ride on a hub session
  (:func:`session_post_unconfirmed`), so plugin pages that act for a logged-in user (identity
  links, connecting a site) are covered too.
- Framing: ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'`` on every response, unless
  the response set its own ``frame-ancestors`` (a provider page shown inside the provider's UI
  names the one site that may frame it). ``X-Content-Type-Options: nosniff`` everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect, validate_csrf
from werkzeug.datastructures import Headers
from wtforms import ValidationError as WTFValidationError

from hub import inputs

csrf = CSRFProtect()
View = TypeVar("View", bound=Callable[..., Any])


def csrf_exempt(view: View) -> View:
    """``csrf.exempt`` for a view that checks the origin itself (typed: flask-wtf ships no types)."""
    csrf.exempt(view)
    return view


def init_app(app: Flask, exempt: tuple[Blueprint, ...]) -> None:
    csrf.init_app(app)
    for blueprint in exempt:
        csrf.exempt(blueprint)
    app.after_request(_headers)


def _headers(response: Any) -> Any:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    policy = response.headers.get("Content-Security-Policy", "")
    if "frame-ancestors" not in policy:
        parts = [policy, "frame-ancestors 'none'"] if policy else ["frame-ancestors 'none'"]
        response.headers["Content-Security-Policy"] = "; ".join(parts)
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def same_origin(headers: Headers | Mapping[str, str] | None = None) -> bool:
    """Whether a browser request comes from the hub's own pages: its ``Origin`` (else ``Referer``)
    names this host or ``HUB_BASE_URL``'s. A client naming no origin (an API client) passes; the
    session cookie is SameSite=Lax and session POSTs carry a CSRF token besides. ``headers``: the
    request's (a plugin passes its ``WebhookRequest.headers``)."""
    sent = request.headers if headers is None else headers
    origin = sent.get("Origin") or sent.get("Referer")
    if not origin:
        return True
    allowed = {request.host, urlsplit(current_app.config["HUB_BASE_URL"]).netloc}
    parts = inputs.split_url(origin)
    return parts is not None and parts.netloc in allowed


def session_post_unconfirmed() -> bool:
    """Whether this is a POST authenticated only by the browser session without a valid CSRF token."""
    if request.method != "POST" or not session.get("user_id"):
        return False
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return False
    form = request.mimetype == "application/x-www-form-urlencoded"
    token = request.form.get("csrf_token") if form else None
    try:
        validate_csrf(token or request.headers.get("X-CSRFToken"))
    except WTFValidationError:
        return True
    return False


__all__ = ["CSRFError", "csrf", "csrf_exempt", "init_app", "same_origin", "session_post_unconfirmed"]
