"""Atlassian Connect: the query string hash and JWT checks (qsh, HS256, signed install).

https://developer.atlassian.com/cloud/jira/platform/understanding-jwt-for-connect-apps/
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, quote, urlsplit

import jwt

from hub import services
from hub.errors import ApiError, ApiNotFound, Unverified
from hub.http import BaseApiClient
from hub.types import Integration, WebhookRequest

logger = logging.getLogger("hub.plugins.jira")

KEY = "jira"
LEEWAY = 30  # seconds of clock skew accepted on exp
CONTEXT_QSH = "context-qsh"
INSTALL_KEY_TTL = 24 * 3600
KID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")


def _encode(value: str) -> str:
    # RFC 3986: only unreserved characters stay as they are (space is %20, "~" is kept).
    return quote(value, safe="~")


def canonical_query(query: str | Mapping[str, Iterable[str]] | Iterable[tuple[str, str]]) -> str:
    """Query parameters without ``jwt``, keys sorted, repeated values sorted and joined with ``,``."""
    if isinstance(query, str):
        pairs = parse_qsl(query, keep_blank_values=True)
    elif isinstance(query, Mapping):
        pairs = [
            (k, v) for k, values in query.items() for v in ([values] if isinstance(values, str) else values)
        ]
    else:
        pairs = list(query)
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        if key == "jwt":
            continue
        grouped.setdefault(_encode(key), []).append(_encode(value))
    return "&".join(f"{key}={','.join(sorted(values))}" for key, values in sorted(grouped.items()))


def canonical_request(
    method: str, path: str, query: str | Mapping[str, Iterable[str]] | Iterable[tuple[str, str]]
) -> str:
    """``METHOD&path&query``: path without trailing slash ("/" when empty), ``&`` in it escaped."""
    path = path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    if not path.startswith("/"):
        path = "/" + path
    return f"{method.upper()}&{path.replace('&', '%26')}&{canonical_query(query)}"


def query_string_hash(
    method: str, path: str, query: str | Mapping[str, Iterable[str]] | Iterable[tuple[str, str]] = ""
) -> str:
    """The Connect ``qsh`` claim: SHA-256 hex of the canonical request."""
    return hashlib.sha256(canonical_request(method, path, query).encode("utf-8")).hexdigest()


# -- JWTs from Jira -------------------------------------------------------------------------


class ConnectError(Unverified):
    """A request claiming to come from Jira failed verification: 400 (as Sentry answers Jira),
    nothing read or stored."""

    status_code = 400


def token_from(request: WebhookRequest, allow_query: bool = False) -> str:
    """The Connect JWT: ``Authorization: JWT <t>``, or ``?jwt=`` on page loads."""
    header = request.headers.get("Authorization") or ""
    if header.startswith("JWT "):
        return header[4:].strip()
    if allow_query and request.query.get("jwt"):
        return str(request.query.get("jwt"))
    raise ConnectError("Missing Connect JWT.")


def app_path(request: WebhookRequest) -> str:
    """The request path relative to the app's ``baseUrl`` (what Jira hashed into ``qsh``)."""
    prefix = urlsplit(request.base_url or services.base_url()).path.rstrip("/")
    path = request.path
    return path[len(prefix) :] if prefix and path.startswith(prefix) else path


def expected_qsh(request: WebhookRequest) -> str:
    return query_string_hash(
        request.method, app_path(request), [(k, v) for k, values in request.query.lists() for v in values]
    )


def verify_connect_jwt(request: WebhookRequest, *, page: bool = False) -> Integration:
    """Verify a Connect JWT (HS256 with the site's shared secret) and return its integration.

    ``iss`` (the clientKey) is read unverified only to find the shared secret. ``qsh`` must
    match this request; ``"context-qsh"`` is accepted on page routes only (``page=True``).

    :raises ConnectError: anything wrong (400).
    """
    token = token_from(request, allow_query=page)
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as e:
        raise ConnectError("The Connect JWT cannot be decoded.") from e
    client_key = claims.get("iss")
    integration = services.get_integration(KEY, str(client_key)) if client_key else None
    if integration is None or not integration.metadata.get("shared_secret"):
        raise ConnectError("Unknown clientKey: this Jira site has not installed the app.")
    if integration.status == "disabled":
        raise ConnectError("This Jira site uninstalled the app.")
    try:
        claims = jwt.decode(
            token,
            integration.metadata["shared_secret"],
            algorithms=["HS256"],
            leeway=LEEWAY,
            options={
                "require": ["iss", "exp", "qsh"],
                "verify_aud": False,
                "verify_exp": not request.replayed,
            },
        )
    except jwt.ExpiredSignatureError as e:
        raise ConnectError("The Connect JWT has expired.") from e
    except jwt.PyJWTError as e:
        logger.info("jira.jwt-invalid", extra={"integration": integration.id, "error": type(e).__name__})
        raise ConnectError("The Connect JWT is not valid.") from e
    qsh = claims.get("qsh")
    if not (qsh == expected_qsh(request) or (page and qsh == CONTEXT_QSH)):
        raise ConnectError("The Connect JWT's qsh does not match this request.")
    return integration


def proves_control(integration: Integration, token: str) -> bool:
    """Whether ``token`` is a current Connect JWT from this Jira site (signed with its shared secret).

    Only the site holds the secret, so such a token proves control of it when an org attaches the
    site by hand (``linkToken``). ``qsh`` is not checked: the token is not bound to a request.
    """
    secret = integration.metadata.get("shared_secret")
    if not secret or integration.status == "disabled":
        return False
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], leeway=LEEWAY,
                            options={"require": ["iss", "exp"], "verify_aud": False})
    except jwt.PyJWTError:
        return False
    return str(claims.get("iss")) == integration.external_id


class InstallKeysClient(BaseApiClient):
    """Atlassian's CDN of the RSA public keys that sign install/uninstall callbacks."""

    integration_name = "atlassian-install-keys"
    display_name = "Atlassian's install keys service"

    def public_key(self, kid: str) -> str:
        return str(self.get(self.path("/{}", kid), allow_text=True) or "")


def install_public_key(kid: str) -> str:
    """The PEM public key for ``kid`` (cached); raises ``ConnectError`` when unknown."""
    cache_key = f"jira:install-key:{kid}"
    cached = services.cache_get(cache_key)
    if cached:
        return str(cached)
    client = InstallKeysClient(str(services.config("HUB_JIRA_INSTALL_KEYS_URL")))
    try:
        pem = client.public_key(kid)
    except ApiNotFound as e:
        raise ConnectError("Unknown signing key (kid).") from e
    except ApiError as e:
        raise ConnectError(f"The signing key could not be fetched: {e.message}") from e
    if "BEGIN PUBLIC KEY" not in pem:
        raise ConnectError("Unknown signing key (kid).")
    services.cache_set(cache_key, pem, ttl=INSTALL_KEY_TTL)
    return pem


def verify_install_jwt(request: WebhookRequest) -> dict[str, object]:
    """Verify a signed-install lifecycle callback (RS256, ``kid``, ``aud``, ``exp``, ``qsh``).

    https://developer.atlassian.com/cloud/jira/platform/security-for-connect-apps/#validating-installation-lifecycle-requests

    :returns: the verified claims (``iss`` is the clientKey).
    :raises ConnectError: no/unknown ``kid``, bad signature, wrong audience, expired, wrong qsh.
    """
    token = token_from(request)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise ConnectError("The install JWT cannot be decoded.") from e
    kid = header.get("kid")
    # The kid becomes a URL path segment on the keys CDN: letters, digits, "-" and "_" only (Atlassian's
    # are UUIDs), so no "?", "#", "%2e%2e", "\\" or "@" can steer the fetch elsewhere.
    if header.get("alg") != "RS256" or not isinstance(kid, str) or not KID_RE.fullmatch(kid):
        raise ConnectError("The install JWT must be RS256 with a kid.")
    public_key = install_public_key(kid)
    base = services.base_url().rstrip("/")
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            audience=[base, base + "/"],
            leeway=LEEWAY,
            options={"require": ["iss", "exp", "qsh", "aud"], "verify_exp": not request.replayed},
        )
    except jwt.ExpiredSignatureError as e:
        raise ConnectError("The install JWT has expired.") from e
    except jwt.PyJWTError as e:
        logger.info("jira.install-jwt-invalid", extra={"error": type(e).__name__})
        raise ConnectError("The install JWT is not valid.") from e
    if claims.get("qsh") != expected_qsh(request):
        raise ConnectError("The install JWT's qsh does not match this request.")
    return claims


def outbound_token(
    app_key: str,
    shared_secret: str,
    method: str,
    path: str,
    query: str = "",
    ttl: int = 180,
    now: int | None = None,
) -> str:
    """A Connect JWT for one call to Jira: ``iss`` = app key, ``exp`` = ``iat`` + 180 s, its ``qsh``."""
    iat = int(time.time()) if now is None else now
    claims = {"iss": app_key, "iat": iat, "exp": iat + ttl, "qsh": query_string_hash(method, path, query)}
    return jwt.encode(claims, shared_secret, algorithm="HS256")
