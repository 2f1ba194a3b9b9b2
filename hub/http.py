"""The one HTTP client base every provider plugin uses.

It owns what no plugin should re-invent: timeouts, translating transport failures and error
statuses into typed :mod:`hub.errors` (always ``from e``), 429 ``Retry-After`` handling,
logging that never shows a secret, the outbound address policy (:mod:`hub.egress`, on every
connection), and path segments built from input always escaped (:meth:`BaseApiClient.path`).
A plugin subclass adds auth (``prepare``) and endpoints.

Errors never carry a provider's words in their ``message`` (a base URL aimed at an internal
service must not read it back to the caller): transport failures all read "could not reach
<provider>" (a closed port and an open one look alike), error statuses name the provider, the
status and a hint. What the provider said goes to the log, redacted, and to ``provider_message``.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import logging
import time
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import requests

from hub import egress, logs
from hub.errors import (
    ApiAddressRefused,
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


#: Short hints for error statuses: what the status usually means, in the hub's words.
STATUS_HINTS = {
    400: "it refused the request",
    401: "it refused the credentials",
    403: "it refused the credentials or the permission",
    404: "not found: check the base URL and the key",
    405: "check the base URL",
    409: "it reported a conflict",
    413: "the request was too large",
    429: "rate limited: try again later",
}
PROVIDER_TEXT_LOGGED = 1000  # characters of a provider's error body kept in the log


def quote_segment(value: Any) -> str:
    """One URL path segment built from input, escaped (``/``, ``?``, ``#``, ``%`` included).

    ``""``, ``"."`` and ``".."`` are refused: servers read them as "this" or "the parent" path.
    """
    text = str(value)
    if text in ("", ".", ".."):
        raise ApiError(f"refusing to send an empty or dot path segment ({text!r})")
    return quote(text, safe="")


def status_hint(status: int) -> str:
    if status in STATUS_HINTS:
        return STATUS_HINTS[status]
    if status >= 500:
        return "a server error: try again later"
    return "an unexpected answer"


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
    #: How messages name the provider ("Jira Server"); ``integration_name`` when unset.
    display_name: ClassVar[str] = ""
    timeout: ClassVar[float] = 10.0

    def __init__(self, base_url: str, *, verify_ssl: bool = True, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.verify_ssl = verify_ssl
        self.session = session or requests.Session()
        for prefix in ("http://", "https://"):  # every connection of this client obeys the policy
            if not isinstance(self.session.get_adapter(prefix), egress.GuardedAdapter):
                self.session.mount(prefix, egress.GuardedAdapter())

    @property
    def provider(self) -> str:
        return self.display_name or self.integration_name

    @staticmethod
    def path(template: str, *args: Any, **kwargs: Any) -> str:
        """``path("/issue/{}/comment/{id}", key, id=cid)``: the template with every value escaped
        as one path segment (:func:`quote_segment`). Build every path that carries input with it."""
        return template.format(*(quote_segment(a) for a in args),
                               **{k: quote_segment(v) for k, v in kwargs.items()})

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
        unreachable = f"could not reach {self.provider}"
        req = requests.Request(
            method.upper(), url, params=params, json=json, data=data, headers=dict(headers or {})
        )
        try:
            egress.check_url_host(urlsplit(url).hostname or "")
            unsigned = self.session.prepare_request(req)
        except ApiAddressRefused as e:
            raise self._refused(e, url) from e
        except ValueError as e:  # "http://[::1": nothing to connect to, and retrying will not help
            raise ApiError(f"{self.provider}: the URL is not valid", url=loggable_url(url),
                           provider_message=type(e).__name__) from e
        prepared = self.prepare(unsigned)
        started = time.monotonic()
        try:
            response = self.session.send(prepared, timeout=self.timeout, verify=self.verify_ssl)
        except ApiAddressRefused as e:
            raise self._refused(e, url) from e
        except requests.Timeout as e:  # the same words as a refused connection: no port scanner
            self._log_unreachable(prepared, url, e)
            raise ApiTimeoutError(unreachable, url=url, provider_message=type(e).__name__) from e
        except (requests.RequestException, ValueError) as e:  # ValueError: a URL requests cannot use
            self._log_unreachable(prepared, url, e)
            raise ApiHostError(unreachable, url=url, provider_message=type(e).__name__) from e
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

    def _refused(self, e: ApiAddressRefused, url: str) -> ApiAddressRefused:
        logger.warning("http.address-refused",
                       extra={"provider": self.integration_name, "url": loggable_url(url)})
        return ApiAddressRefused(f"could not reach {self.provider}: {e.message}", url=url)

    def _log_unreachable(self, prepared: requests.PreparedRequest, url: str, e: Exception) -> None:
        logger.warning("http.unreachable", extra={
            "provider": self.integration_name, "method": prepared.method, "url": loggable_url(url),
            "error": type(e).__name__})

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
            raise ApiRateLimited(self.public_message(data, status), retry_after=retry_after, body=data,
                                 url=url)
        if status >= 400:
            said = self.error_message(data, status)
            logger.warning("http.error-answer", extra={
                "provider": self.integration_name, "url": loggable_url(url), "status": status,
                "provider_message": _loggable(said), "body": _loggable(data)})
            error_class = {401: ApiUnauthorized, 403: ApiUnauthorized, 404: ApiNotFound}.get(status, ApiError)
            raise error_class(self.public_message(data, status), code=status, body=data, url=url,
                              provider_message=said)
        self.check_response(response, data)
        return data

    def public_message(self, data: Any, status: int) -> str:
        """What anyone may read about an error status: the provider, the status and a hint."""
        return f"{self.provider} answered {status} ({status_hint(status)})"

    def error_message(self, data: Any, status: int) -> str:
        """What the provider said in its error body (``provider_message``: logs and admins only)."""
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


def _loggable(value: Any) -> Any:
    """A provider's error body for the log: secret-named fields redacted, and kept short."""
    text = value if isinstance(value, str) else None
    if text is None:
        try:
            text = jsonlib.dumps(logs.redact(value), default=str)
        except (TypeError, ValueError, RecursionError):
            text = repr(type(value))
    return text[:PROVIDER_TEXT_LOGGED]
