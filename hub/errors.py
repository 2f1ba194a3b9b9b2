"""Errors the hub and its plugins raise.

Plugins raise these from hooks; the core maps them to HTTP answers (request thread) or to
retry / dead-letter decisions (RQ jobs). ``Api*Error`` come from :mod:`hub.http`.
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """Base class of every error the hub raises on purpose."""


class ValidationError(HubError):
    """Bad input: answered with 400 ``{"detail", "errors"}``."""

    status_code = 400

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class NotFound(HubError):
    status_code = 404


class Conflict(ValidationError):
    status_code = 409


class Forbidden(ValidationError):
    """Allowed in general, not to this user (e.g. a role they may not give): answered with 403."""

    status_code = 403


class Unverified(ValidationError):
    """A webhook that did not prove where it came from (signature, token, JWT): nothing of its
    body is read. Answered with ``status_code`` (401 unless the provider expects another)."""

    status_code = 401

    def __init__(self, detail: str = "The request could not be verified.",
                 errors: dict[str, list[str]] | None = None, *, status: int | None = None) -> None:
        super().__init__(detail, errors)
        if status is not None:
            self.status_code = status


class PluginError(HubError):
    """A permanent failure a plugin reports: recorded and shown, never retried.

    Raised in a request (e.g. ``create_external_issue``) it becomes a 400 with the message.
    """

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class InstallError(PluginError):
    """The provider refused an install, or its credentials are unusable: 400, nothing stored."""


class SyncSkipped(HubError):
    """An outbound job had nothing to do for a known reason ("no mapping", "no transition").

    The outbox row ends as ``skipped`` with the reason visible; nothing is retried.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryLater(HubError):
    """Raise from an outbound hook to be retried after ``seconds`` (e.g. a provider's 429)."""

    def __init__(self, seconds: float = 60.0, reason: str = "") -> None:
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        super().__init__(reason or f"retry in {seconds:g}s")
        self.seconds = float(seconds)
        self.reason = reason

    def __repr__(self) -> str:
        return f"RetryLater(seconds={self.seconds:g})"


class ApiError(HubError):
    """A provider answered with an error status; ``code`` is the HTTP status (0 when none).

    ``message`` is safe to show anyone: it names the provider, the status and a hint, never the
    provider's own words. ``provider_message`` is what the provider said (from its error body):
    for the log and for the integration's ``error``, which only owners and admins see, because a
    base URL pointed at an internal service would otherwise read that service back to the caller.
    """

    def __init__(self, message: str, code: int = 0, body: Any = None, url: str = "",
                 provider_message: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.body = body
        self.url = url
        self.provider_message = provider_message

    @property
    def full_message(self) -> str:
        """The message and, after it, the provider's words: for owners, admins and operators only."""
        extra = self.provider_message.strip()
        return f"{self.message}: {extra}" if extra and extra not in self.message else self.message

    @property
    def retryable(self) -> bool:
        return self.code >= 500 or self.code in (408, 429)


class ApiUnauthorized(ApiError):
    """401/403: the integration's credentials no longer work; the org must act."""

    retryable = False


class ApiNotFound(ApiError):
    retryable = False


class ApiRateLimited(ApiError):
    """429, carrying the provider's ``Retry-After`` in seconds."""

    def __init__(self, message: str, retry_after: float, **kw: Any) -> None:
        super().__init__(message, code=429, **kw)
        self.retry_after = retry_after


class ApiHostError(ApiError):
    """The provider could not be reached (DNS, refused connection, TLS)."""

    retryable = True


class ApiTimeoutError(ApiHostError):
    """The provider did not answer in time."""


class ApiAddressRefused(ApiError):
    """The provider's URL leads to an address ``HUB_OUTBOUND_ALLOW`` / ``HUB_OUTBOUND_DENY`` refuse:
    nothing was sent; never retried (the org must fix the URL, or the operator the policy)."""

    retryable = False
