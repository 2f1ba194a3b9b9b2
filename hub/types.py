"""The values handed to plugin hooks.

Hooks receive these frozen snapshots, never ORM rows: a plugin cannot change the hub's state
by accident, and what a hook sees is exactly the documented attributes (CONTRACT §4).
"""

from __future__ import annotations

import hashlib
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


def at_most_128(key: str) -> str:
    """A dedupe key as its column holds it: a longer (provider-chosen) one is kept as its SHA-256."""
    if len(key) <= 128:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def claim_key(integration_id: int | str | None, key: str) -> str:
    """The key a delivery claims: ``key`` within one integration (a provider's delivery id is
    unique within one site, not across the hub's accounts), or ``key`` itself when none is known."""
    return key if integration_id is None else at_most_128(f"{integration_id}:{key}")


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
        params: Mapping[str, str] | None = None,
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
        #: A v2 route's path variables (``{"token": ...}`` for ``"issue-updated/<token>/"``).
        self.params: dict[str, str] = dict(params or {})
        self.dedupe_key: str | None = None
        #: The key actually claimed: ``dedupe_key``, scoped to an integration when one was given.
        self.claim_key: str | None = None
        self.duplicate = False
        self._dedupe = dedupe

    def json(self) -> Any:
        """The body parsed as JSON, NUL characters stripped from its strings (PostgreSQL cannot
        store them); raises ``ValueError`` when it is not JSON (or nested deeper than the decoder goes)."""
        return loads(self.body)

    def already_processed(self, key: str | None = None, *, integration: Integration | None = None) -> bool:
        """Claim this key (default: the body's hash) for this delivery; ``True`` when another has it.

        Call it after verifying the request and before any effect. The claim is atomic and
        committed at once: of identical deliveries arriving together, or a redelivery weeks
        later, exactly one gets ``False`` and acts. The core gives the key back when this
        delivery fails (answered 4xx/5xx, raised, or ``WebhookResponse(retry=True)``), so a
        redelivery is handled again. Replays are never duplicates.

        ``integration``: the account the delivery came to, when the provider's id is unique only
        within one site (most delivery ids are). The claim is then that integration's, the same
        scope an :class:`Inbound`'s ``dedupe_key`` is claimed in, so a route that answers some
        deliveries at once and returns others as ``Inbound`` sees one claim per id.
        """
        key = strip_nul(key) if key else None
        self.dedupe_key = at_most_128(key) if key else hashlib.sha256(self.body).hexdigest()
        self.claim_key = claim_key(integration.id if integration is not None else None, self.dedupe_key)
        if self.replayed or self._dedupe is None:
            return False
        self.duplicate = self._dedupe(self.claim_key)
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


# ---------------------------------------------------------------------------------------------
# Inbound pipeline v2 (since v1.2): routes are data, handlers return typed changes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ticket:
    """A provider's ticket as a change names it.

    ``key`` is what people see (``APP-123``); ``id`` the provider's stable id (Jira's issue id),
    which a moved ticket keeps, empty when the provider has none; ``project_id`` selects an org's
    status mapping.
    """

    key: str
    id: str = ""
    project_id: str = ""


@dataclass(frozen=True, kw_only=True)
class Change:
    """Something a provider reported about a ticket. ``occurred_at`` is the provider's event time
    in epoch milliseconds (``None``: the provider does not date its events, arrival order decides)."""

    ticket: Ticket
    occurred_at: float | None = None

    kind = "change"


@dataclass(frozen=True, kw_only=True)
class StatusChange(Change):
    """The ticket's status is now ``status_id``.

    ``category`` is ``"new"``, ``"indeterminate"`` or ``"done"`` (a provider with a plain open /
    closed state says ``"done"`` or ``"new"``); ``None`` when the payload does not say: the worker
    asks the plugin's ``complete_change`` first. ``from_*``: the status it left, when known.
    """

    status_id: str
    status_name: str = ""
    category: str | None = None
    from_status_id: str | None = None
    from_category: str | None = None

    kind = "status"


@dataclass(frozen=True, kw_only=True)
class AssigneeChange(Change):
    """The ticket was assigned (``assign=True``) to ``email``, or unassigned.

    ``account_id``: the provider's id of the person when the payload hides the email (the worker
    asks ``complete_change`` for it); on an unassign, of whom it removed (``complete_change`` is
    asked for ``replaces_email``). An unassign removes ``replaces_email`` when the provider
    names whom it removed, else the user the hub last synced with the ticket, never anyone else.
    """

    assign: bool
    email: str | None = None
    account_id: str | None = None
    replaces_email: str | None = None

    kind = "assignee"


@dataclass(frozen=True, kw_only=True)
class TicketMoved(Change):
    """The provider moved the ticket: it is ``ticket.key`` now (``ticket.id`` unchanged)."""

    old_key: str | None = None

    kind = "moved"


@dataclass(frozen=True, kw_only=True)
class CommentAdded(Change):
    """Someone commented on the ticket; a note on the linked issues of orgs with ``sync_comments``."""

    text: str
    author_email: str | None = None
    author_name: str = ""
    comment_id: str = ""

    kind = "comment"


@dataclass(frozen=True)
class ChatIdentity:
    """Who clicked, as the chat provider knows them: ``team_id`` is the workspace or guild."""

    provider: str
    team_id: str
    user_id: str
    name: str = ""


@dataclass(frozen=True)
class ChatAction:
    """A person acting on an issue from chat: ``action`` is ``resolve``, ``unresolve``, ``ignore``,
    ``assign`` or ``unassign``; ``choice`` its argument (the assignee's hub user id for ``assign``).
    ``view`` changes nothing: the checks alone, before a dialog shows the issue's choices."""

    actor: ChatIdentity
    group_id: str
    action: str
    choice: str | None = None


#: The change types a v2 handler may return.
CHANGE_TYPES: tuple[type[Change], ...] = (StatusChange, AssigneeChange, TicketMoved, CommentAdded)


@dataclass(frozen=True)
class Inbound:
    """What a route handler returns for a delivery the workers apply.

    The core claims ``dedupe_key`` (default: the body's SHA-256), records the delivery and its
    ``changes`` in one write and answers ``response`` (default: 200 ``{"detail": "accepted"}``);
    ``hub worker`` applies the changes, per ticket in event order. A duplicate gets 200 and no effect.
    """

    integration: Integration
    changes: tuple[Change, ...] = ()
    dedupe_key: str | None = None
    response: WebhookResponse | None = None


#: ``verify(request)``: runs before the body is parsed; returns what the handler needs (usually
#: the :class:`Integration` the request proved to come from) or raises :class:`hub.Unverified`.
Verifier = Callable[[WebhookRequest], Any]
#: ``handle(request, verified)``: an :class:`Inbound` to record and apply later, or a
#: :class:`WebhookResponse` when the provider needs a synchronous answer.
Handler = Callable[[WebhookRequest, Any], "Inbound | WebhookResponse"]


@dataclass(frozen=True)
class Route:
    """One endpoint a plugin owns under ``/extensions/<key>/``.

    ``path`` is a werkzeug rule relative to that prefix (``"issue-updated/<token>/"``; ``""`` is
    the prefix itself); its variables reach the verifier and handler as ``request.params``.
    The core matches (404, or 405 with ``Allow``), refuses bodies over ``max_bytes`` (413), runs
    ``verify`` and only then ``handle``. ``name`` appears in the delivery log.
    """

    path: str
    methods: tuple[str, ...]
    verify: Verifier
    handle: Handler
    max_bytes: int = 1024 * 1024
    name: str = ""


@dataclass(frozen=True)
class ChatActionResult:
    """What :func:`hub.services.chat_action` did, for the plugin to answer in its words.

    ``outcome``: ``applied``, ``unchanged`` (already so), ``link-identity`` (the chat user is
    linked to no hub user), ``not-member`` (linked, not a member of the issue's org), ``forbidden``
    (a member without the role), ``not-found`` (no such issue in an org using this integration),
    ``invalid`` (an unknown action, or an assignee who is not a project member: ``detail`` says);
    for an invite request also ``gone`` (it no longer exists, or was handled already).
    """

    outcome: str
    group: Group | None = None
    user: User | None = None
    detail: str = ""
    #: For :func:`hub.services.chat_invite_request`: the invite request it answered (or refused).
    invite: InviteRequest | None = None



@dataclass(frozen=True)
class IdentityPage:
    """A chat plugin's identity-link page, served by the core (:mod:`hub.identity`) in the plugin's words.

    ``provider`` is the plugin's key (the page lives at ``/extensions/<provider>/link-identity/<token>/``,
    and ``unlink-identity/<token>/`` when ``unlink``); ``name`` the chat's name ("Slack"), ``identity``
    what a linked account is called ("Slack identity"), ``team`` what one integration is to its users
    ("Slack workspace"), ``lets_you`` what linking lets you do ("resolve and assign issues from Slack
    alerts"), ``new_link`` how to get a fresh link ("Run /hub link in Slack"). A link is valid
    ``max_age`` seconds. ``tell(integration, linked, extra, text)``, when given, tells the chat user
    what was done (best effort, after the write); ``extra`` is what the plugin put in the link.
    """

    provider: str
    name: str
    identity: str
    team: str
    lets_you: str
    new_link: str = ""
    unlink: bool = False
    max_age: int = 600
    tell: Callable[[Integration, bool, Mapping[str, Any], str], None] | None = None


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
