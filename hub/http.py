"""The one HTTP client base every provider plugin uses.

It owns what no plugin should re-invent: timeouts, translating transport failures and error
statuses into typed :mod:`hub.errors` (always ``from e``), 429 ``Retry-After`` handling, and
logging that never shows a secret. A plugin subclass adds auth (``prepare``) and endpoints.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import requests

from hub.errors import (
    ApiError,
    ApiHostError,
    ApiNotFound,
    ApiRateLimited,
    ApiTimeoutError,
    ApiUnauthorized,
)

logger = logging.getLogger("hub.http")

SECRET_HEADERS = frozenset({"authorization", "cookie", "x-slack-signature", "x-signature-ed25519"})
#: Header names containing any of these are treated as secrets too (plugins' own signature/token headers).
SECRET_HEADER_WORDS = ("auth", "cookie", "signature", "token", "secret", "key", "password")


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_HEADERS or any(word in lowered for word in SECRET_HEADER_WORDS)


def parse_retry_after(value: str | None, default: float = 60.0) -> float:
    """Read a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


def loggable_url(url: str) -> str:
    """A URL without its query and with long path segments (tokens in URLs) redacted."""
    base = url.split("?")[0]
    scheme, sep, rest = base.partition("://")
    parts = rest.split("/")
    return scheme + sep + "/".join([parts[0]] + ["[redacted]" if len(p) >= 24 else p for p in parts[1:]])


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to log or store: secrets replaced by ``[redacted]``."""
    return {k: ("[redacted]" if is_secret_header(k) else v) for k, v in headers.items()}


class BaseApiClient:
    """A provider API client: ``base_url`` + paths, JSON in and out, typed errors.

    Subclasses set ``integration_name`` and override :meth:`prepare` to authenticate a
    request (a header, an OAuth1 signature, a per-request JWT) and, when the provider puts
    errors in 200 bodies (Slack's ``ok: false``), :meth:`check_response`.
    """

    integration_name: ClassVar[str] = "provider"
    timeout: ClassVar[float] = 10.0

    def __init__(self, base_url: str, *, verify_ssl: bool = True, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.verify_ssl = verify_ssl
        self.session = session or requests.Session()

    # -- hooks for subclasses ------------------------------------------------------------------
    def prepare(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Authenticate a prepared request; the default adds nothing."""
        return request

    def check_response(self, response: requests.Response, data: Any) -> None:
        """Raise for a provider error hidden in a successful response; the default does nothing."""

    # -- the call ------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        allow_text: bool = False,
    ) -> Any:
        """Send one request and return its decoded JSON body (``None`` for an empty body)."""
        url = self.url(path)
        req = requests.Request(method.upper(), url, params=params, json=json, data=data, headers=dict(headers or {}))
        prepared = self.prepare(self.session.prepare_request(req))
        started = time.monotonic()
        try:
            response = self.session.send(prepared, timeout=self.timeout, verify=self.verify_ssl)
        except requests.Timeout as e:
            raise ApiTimeoutError(f"{self.integration_name}: timed out", url=url) from e
        except requests.RequestException as e:
            raise ApiHostError(f"{self.integration_name}: unreachable ({type(e).__name__})", url=url) from e
        logger.info(
            "http.request",
            extra={
                "provider": self.integration_name,
                "method": prepared.method,
                "url": loggable_url(url),
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return self._handle(response, url, allow_text)

    def _handle(self, response: requests.Response, url: str, allow_text: bool) -> Any:
        data: Any = None
        if response.content:
            try:
                data = response.json()
            except ValueError:
                data = response.text if allow_text or response.status_code >= 400 else None
        status = response.status_code
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if isinstance(data, dict) and "retry_after" in data:  # Discord says it in the body too
                try:
                    retry_after = max(0.0, float(data["retry_after"]))
                except (TypeError, ValueError):
                    pass
            raise ApiRateLimited(f"{self.integration_name}: rate limited", retry_after=retry_after, body=data, url=url)
        if status in (401, 403):
            raise ApiUnauthorized(self.error_message(data, status), code=status, body=data, url=url)
        if status == 404:
            raise ApiNotFound(self.error_message(data, status), code=status, body=data, url=url)
        if status >= 400:
            raise ApiError(self.error_message(data, status), code=status, body=data, url=url)
        self.check_response(response, data)
        return data

    def error_message(self, data: Any, status: int) -> str:
        """A message a user can act on, from a provider's error body."""
        if isinstance(data, dict):
            for key in ("errorMessages", "message", "error", "errors"):
                value = data.get(key)
                if value:
                    if isinstance(value, list):
                        return "; ".join(str(v) for v in value)
                    if isinstance(value, dict):
                        return "; ".join(f"{k}: {v}" for k, v in value.items())
                    return str(value)
        if isinstance(data, str) and data.strip():
            return data.strip()[:300]
        return f"{self.integration_name} answered {status}"

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)
