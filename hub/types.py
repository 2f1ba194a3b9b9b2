"""The values handed to plugin hooks.

Hooks receive these frozen snapshots, never ORM rows: a plugin cannot change the hub's state
by accident, and what a hook sees is exactly the documented attributes (CONTRACT §4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import Headers, MultiDict

from hub.inputs import loads, strip_nul


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str = ""


@dataclass(frozen=True)
class Integration:
    """An installed provider account (a Jira site, a Slack team, a Discord guild).

    ``metadata`` is decrypted; ``organization_id`` is set when the hook acts for one org.
    """

    id: str
    provider: str
    external_id: str
    name: str
    metadata: Mapping[str, Any] = field(repr=False)  # decrypted secrets: never in logs
    organization_id: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    status: str = "active"


@dataclass(frozen=True)
class ExternalIssue:
    id: str
    key: str
    integration_id: str
    organization_id: str = ""
    title: str = ""
    url: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    """A hub issue (Sentry calls it a group)."""

    id: str
    short_id: str
    title: str
    culprit: str
    status: str
    project_id: str
    organization_id: str
    url: str
    level: str = "error"
    project_slug: str = ""
    organization_slug: str = ""
    count: int = 0
    first_seen: str = ""
    last_seen: str = ""
    assignee: User | None = None


@dataclass(frozen=True)
class Event:
    id: str
    event_id: str
    group_id: str
    message: str
    level: str
    culprit: str
    release: str | None = None
    environment: str | None = None
    tags: Mapping[str, Any] = field(default_factory=dict)
    timestamp: str = ""


@dataclass(frozen=True)
class Activity:
    id: str
    type: str
    group_id: str
    user: User | None
    data: Mapping[str, Any]
    date_created: str = ""


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    project_id: str


@dataclass(frozen=True)
class Parent:
    """A message a provider returned for an alert: later activity is posted in its thread."""

    id: str
    integration_id: str
    channel_id: str
    message_id: str
    group_id: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InviteRequest:
    id: str
    organization_id: str
    organization_slug: str
    email: str
    role: str
    requester: User | None


class WebhookRequest:
    """An inbound request to ``/extensions/{provider}/{endpoint}``, as a plugin sees it.

    ``body`` is the raw bytes (signatures are computed over it); ``headers`` is
    case-insensitive; ``query`` and ``form`` are multi-dicts. ``replayed`` is true when an
    operator re-runs a stored delivery (``hub replay``): the signature is still there, but
    a freshness window (timestamp, ``exp``) has long passed, so plugins skip that check.
    """

    def __init__(
        self,
        *,
        method: str,
        path: str,
        headers: Headers | Mapping[str, str],
        query: MultiDict[str, str] | None = None,
        form: MultiDict[str, str] | None = None,
        body: bytes = b"",
        base_url: str = "",
        replayed: bool = False,
        dedupe: Callable[[str], bool] | None = None,
        user: User | None = None,
    ) -> None:
        self.method = method.upper()
        self.path = path
        self.headers = headers if isinstance(headers, Headers) else Headers(list(headers.items()))
        self.query = query if query is not None else MultiDict()
        self.form = form if form is not None else MultiDict()
        self.body = body
        self.base_url = base_url
        self.replayed = replayed
        self.user = user
        self.dedupe_key: str | None = None
        self.duplicate = False
        self._dedupe = dedupe

    def json(self) -> Any:
        """The body parsed as JSON, NUL characters stripped from its strings (PostgreSQL cannot
        store them); raises ``ValueError`` when it is not JSON (or nested deeper than the decoder goes)."""
        return loads(self.body)

    def already_processed(self, key: str | None = None) -> bool:
        """Claim this key (default: the body's hash) for this delivery; ``True`` when another has it.

        Call it after verifying the request and before any effect. The claim is atomic and
        committed at once: of identical deliveries arriving together, or a redelivery weeks
        later, exactly one gets ``False`` and acts. The core gives the key back when this
        delivery fails (answered 4xx/5xx, raised, or ``WebhookResponse(retry=True)``), so a
        redelivery is handled again. Replays are never duplicates.
        """
        import hashlib

        key = strip_nul(key) if key else None
        if key and len(key) > 128:  # the column's width; a long (provider-chosen) id is kept as its hash
            key = "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        self.dedupe_key = key or hashlib.sha256(self.body).hexdigest()
        if self.replayed or self._dedupe is None:
            return False
        self.duplicate = self._dedupe(self.dedupe_key)
        return self.duplicate


@dataclass
class WebhookResponse:
    """What a plugin answers a webhook with. ``json`` wins over ``body`` when given.

    ``retry=True`` answers 2xx but gives the dedupe key back (nothing was done; a redelivery
    should be handled again, e.g. a lookup the plugin needed failed).
    """

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    outcome: str = ""
    retry: bool = False


# -- plugin settings (issue 12) -------------------------------------------------------------------


@dataclass(frozen=True)
class PluginSetting:
    """One ``HUB_*`` environment variable a plugin reads (``services.config(name)``), declared by its
    ``plugin_settings`` hook: the core reads it from the environment into the app's config (else the
    default), ``hub plugins`` lists it, and the README's table is checked against it. A ``secret`` value
    is never printed or logged."""

    name: str
    default: Any = None
    secret: bool = False
    help: str = ""
