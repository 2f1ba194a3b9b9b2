"""Integration Hub plugin API, version 1.

A plugin is a module or package registered under the entry-point group ``hub.plugins``; the
entry point's name is the provider key it owns (``jira = "plugins.jira"``). It implements any
subset of the hooks below with ``from hub import hookimpl``.

Rules every plugin author can rely on:

- Hooks are called with keyword arguments only. An implementation may accept fewer
  arguments than the spec names (pluggy's opt-in arguments), so a spec can grow without
  breaking anyone. This API only ever *adds*: nothing here is renamed or removed in v1.
- A hook that acts for one provider (its ``provider`` argument, or its ``integration``'s) is
  called only on the plugin that owns that provider and on plugins that own none (helpers,
  audit plugins), so a provider plugin needs no ``if provider != KEY`` guard (since v1.2;
  returning ``None`` for another provider stays harmless).
- ``firstresult`` hooks stop at the first non-``None`` result. For broadcast hooks, one
  raising implementation stops the loop (pluggy), which is why the core runs every outbound
  call as its own job per (work item, integration): a failing Slack never silences Discord.
- Outbound hooks run in RQ jobs. Raise :class:`hub.RetryLater` to be retried after a delay,
  let :class:`hub.http` ``Api*Error`` propagate (5xx, timeouts and 429 are retried with
  backoff; 401/403 mark the integration as needing attention), raise :class:`hub.PluginError`
  for a permanent failure, or :class:`hub.SyncSkipped` when there was nothing to do.
- Objects handed in are the frozen values of :mod:`hub.types`; change hub state only through
  :mod:`hub.services` or the inbound sync hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from hub.types import (
        Activity,
        Change,
        Event,
        ExternalIssue,
        Group,
        Integration,
        InviteRequest,
        Parent,
        PluginSetting,
        Route,
        Rule,
        User,
        WebhookRequest,
        WebhookResponse,
    )

PROJECT_NAME = "hub"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# ---------------------------------------------------------------------------------------------
# Start-up
# ---------------------------------------------------------------------------------------------


@hookspec
def provider_info() -> dict[str, Any]:
    """Describe the provider this plugin owns.

    :returns: ``{"key": str, "name": str, "features": [str, ...]}``; ``key`` must equal the
        entry-point name; features are taken from ``issue-sync``, ``status-sync``,
        ``assignee-sync``, ``notifications``, ``chat-actions``. Return ``None`` from a plugin
        that owns no provider (a helper or audit plugin). Optional ``install`` tells the
        integrations page how to offer it: ``{"instructions": str, "links": [{"label", "url"}]
        (``{org}`` in a URL becomes the org's slug, a path is on the hub), "fields": [{"name",
        "label", "type": "text"|"textarea"|"password", "required"?: bool, "help"?: str}]}``;
        ``fields`` are the ``metadata`` keys of the by-hand install (``POST .../integrations/``).
        Optional ``channel_pattern``: a regular expression every channel id of an alert rule's
        action for this provider must match in full (else the rule is a 400), e.g. Discord's
        snowflakes ``"[0-9]{1,20}"``.

    **Called**: once, when the app is created; two plugins claiming one key stop the start-up.
    **Result**: a list, one entry per plugin.
    **Errors**: an exception stops the start-up.
    **Since**: v1.
    """


# ---------------------------------------------------------------------------------------------
# Inbound: in the request thread
# ---------------------------------------------------------------------------------------------


@hookspec
def webhook_routes() -> list[Route] | None:
    """Declare the endpoints this provider owns under ``/extensions/{key}/`` (inbound v2).

    Each :class:`hub.types.Route` names its methods, a path pattern, a verifier and a handler.
    The core matches the request (404 for no route; 405 with ``Allow`` for a wrong method),
    refuses a body over the route's ``max_bytes`` with 413, runs ``verify(request)`` before
    anything is parsed (raise :class:`hub.Unverified` to refuse), and only then calls
    ``handle(request, verified)``. A handler returns either

    - :class:`hub.types.Inbound` — the integration, the typed changes the delivery reports
      (:class:`~hub.types.StatusChange`, :class:`~hub.types.AssigneeChange`,
      :class:`~hub.types.TicketMoved`, :class:`~hub.types.CommentAdded`) and a dedupe key.
      The core claims the key (a duplicate, concurrent or a week later, gets 200 and no effect),
      records the delivery and its changes in one write and answers; ``hub worker`` applies each
      change exactly once, per ticket in event order, with echo and out-of-order guards; or
    - :class:`hub.WebhookResponse` — a synchronous answer, for what the provider needs answered
      now (chat interactions, a Connect lifecycle call, a page); it may call
      ``request.already_processed()`` and :mod:`hub.services` as a v1 handler does.

    Example::

        @hookimpl
        def webhook_routes():
            return [Route("issue-updated/<token>/", ("POST",), verify=check_token, handle=parse)]

        def parse(request, integration):
            body = request.json()
            change = StatusChange(ticket=Ticket(key=body["key"], id=body["id"]),
                                  status_id=body["state"], category="done" if body["closed"] else "new",
                                  occurred_at=body["updated_ms"])
            return Inbound(integration=integration, changes=(change,), dedupe_key=body["delivery"])

    A provider with routes is not offered ``on_webhook``; the v1 hooks it supersedes
    (``on_webhook``, and calling ``sync_status_inbound`` / ``sync_assignee_inbound`` /
    ``sync_ticket_moved_inbound`` from a handler) keep working for v1 plugins.

    **Called**: once, when the app is created, on plugins that own a provider.
    **Result**: a list per plugin; the routes of the plugin owning the key answer its URLs.
    **Errors**: an exception stops the start-up. **Since**: v1.2.
    """


@hookspec(firstresult=True)
def complete_change(integration: Integration, change: Change) -> Change | None:
    """Fill in what a recorded change lacks, in the worker, before it is applied.

    Called for an :class:`~hub.types.AssigneeChange` with ``account_id`` but no ``email`` (a
    hidden email; for an unassign, ``account_id`` names whom it removed and ``replaces_email``
    is what to fill in, so only that user is unassigned) and a :class:`~hub.types.StatusChange`
    without ``category`` (or with a ``from_status_id`` but no ``from_category``: leaving ``done``
    reopens). For an unassign, ``None`` keeps the core's fallback (the user last synced with the
    ticket). Look it up at the
    provider (cache it: :func:`hub.services.cache_get`) and return the completed change
    (``dataclasses.replace``), or ``None`` to apply it as it is.

    **Called**: in ``hub worker``, on the plugin owning ``integration.provider``.
    **Result**: ``firstresult``.
    **Errors**: ``RetryLater`` / a retryable ``Api*Error`` → tried again later (5 times, then the
    change is ``failed`` with the error); ``PluginError`` → ``failed`` at once. A change that means
    something as it is (an unassign: the core's fallback; a status change naming its target's
    category) is applied as it is instead of failing. **Since**: v1.2.
    """


@hookspec(firstresult=True)
def on_webhook(
    provider: str, endpoint: str, request: WebhookRequest
) -> WebhookResponse | None:
    """Answer a request that reached ``/extensions/{provider}/{endpoint}`` (v1; superseded by
    :func:`webhook_routes`, kept: a provider that declares no routes is answered by this).

    Verify the request (signature, token, JWT) before parsing anything, then parse, record,
    and hand slow work to jobs: a webhook answers in milliseconds and makes no provider HTTP
    call unless the provider needs a synchronous answer (chat interactions, Connect lifecycle).

    :param provider: the provider key from the URL; return ``None`` unless it is yours.
    :param endpoint: the rest of the path, without leading slash, e.g. ``"issue-updated/"``.
    :param request: the raw request; call ``request.already_processed()`` after verifying and
        before any effect: it claims the delivery atomically (twins and redeliveries get ``True``).
    :returns: a :class:`hub.WebhookResponse`, or ``None`` when not yours (404 if nobody answers).

    **Called**: in the request thread, after the core logged the delivery and checked its size.
    **Result**: ``firstresult``.
    **Errors**: an exception becomes a 500 JSON error, logged and recorded on the delivery;
    raise :class:`hub.errors.ValidationError` for a clean 400.
    **Since**: v1.
    """


@hookspec(firstresult=True)
def sync_assignee_inbound(
    integration: Integration,
    email: str | None,
    external_issue_key: str,
    assign: bool,
    data: dict[str, Any] | None,
) -> list[Group] | None:
    """Apply an assignee change a provider reported to every hub issue linked to the ticket (v1;
    superseded by returning :class:`hub.types.AssigneeChange` from a v2 route, kept).

    Plugins *call* this (``pm.hook.sync_assignee_inbound(...)`` via
    :func:`hub.services.hook`); the core implements it (``hub.inbound_hooks``): orgs whose
    ``sync_assignee_inbound`` is on, the member of each issue's project with that email
    (case-insensitive), never an unassign for an unknown email.

    :param integration: the integration the change came from (it is not echoed back to it).
    :param email: the new assignee's email; with ``assign=False`` the one being removed: only
        issues assigned to that user are unassigned, and with ``None`` (the provider names
        nobody) only those whose assignee is the user last synced with this ticket.
    :param external_issue_key: the provider's ticket key, e.g. ``"APP-123"``.
    :param assign: ``False`` to unassign.
    :param data: ``{"timestamp": epoch ms}`` when the provider dates its event (an event older
        than the last one applied to the ticket is dropped, by a compare-and-set that holds
        when events arrive at once), else ``None``. ``"external_id"``: the provider's stable id
        of the ticket (Jira's issue id); a link found by it under an older key takes the new one.
    :returns: the issues that changed.

    **Called**: by plugins, in the request thread or a job.
    **Result**: ``firstresult``.
    **Errors**: none expected.
    **Since**: v1.
    """


@hookspec(firstresult=True)
def sync_status_inbound(
    integration: Integration, external_issue_key: str, data: dict[str, Any]
) -> list[Group] | None:
    """Apply a status change a provider reported to every hub issue linked to the ticket (v1;
    superseded by returning :class:`hub.types.StatusChange` from a v2 route, kept).

    The core implements it (``hub.inbound_hooks``) for orgs with ``sync_status_reverse``: the org's
    explicit status mapping of the ticket's project first, else the status category.

    :param integration: the integration the change came from.
    :param external_issue_key: the ticket key.
    :param data: ``{"changelog": {"from", "to", ...}, "issue": {...}, "timestamp"?: epoch ms,
        "to_category"?: str, "from_category"?: str}``; ``issue.fields.project.id`` selects the
        org's mapping; without one, the status categories decide (into ``done`` resolves, out of
        it unresolves). The target's category is read from ``issue.fields.status`` when absent.
        A provider without Jira's categories passes ``"to_category": "done"`` for a closed
        state and another value (``"new"``) for an open one; ``changelog.to`` (the new status
        id) only matters to an org's explicit mapping. ``external_id`` as in
        ``sync_assignee_inbound``. Every key is optional.
    :returns: the issues that changed (an empty list when the org has ``sync_status_reverse``
        off, the ticket is not linked or nothing changed).

    **Called**: by plugins. **Result**: ``firstresult``. **Errors**: none expected. **Since**: v1.
    """


@hookspec(firstresult=True)
def sync_ticket_moved_inbound(
    integration: Integration, external_id: str, old_key: str | None, new_key: str
) -> int | None:
    """A provider moved a ticket (Jira: APP-123 → PLATFORM-45, same issue id): its links follow
    (superseded by returning :class:`hub.types.TicketMoved` from a v2 route, kept).

    The core implements it (``hub.inbound_hooks``): every link of this integration to the ticket with that
    stable id (or, for links made before ids were stored, to ``old_key``) takes ``new_key``, so
    later changes to ``new_key`` apply.

    :param external_id: the provider's stable id of the ticket (Jira's issue id).
    :param old_key: the key it had, when the provider says.
    :param new_key: the key it has now.
    :returns: how many links were re-keyed.

    **Called**: by plugins. **Result**: ``firstresult``. **Errors**: none expected. **Since**: v1.1.
    """


@hookspec(firstresult=True)
def create_external_issue(
    integration: Integration, group: Group, fields: dict[str, Any]
) -> dict[str, Any] | None:
    """Create a ticket at the provider for a hub issue.

    :param fields: the form as the user sent it (e.g. ``title``, ``description``, ``project``,
        ``issuetype``, ``labels``).
    :returns: ``{"key", "title", "url", "description"?, "metadata"?, "id"?}``, or ``None`` when
        not yours (``id``: the ticket's stable id at the provider, which links are keyed by).
        ``metadata`` (a JSON dict, e.g. the provider's internal id of the ticket) is stored with
        the link and handed back as ``external_issue.metadata`` to later hooks.

    **Called**: in the request thread of ``POST .../external-issues/`` (a synchronous answer).
    **Result**: ``firstresult``.
    **Errors**: :class:`hub.PluginError` (with ``errors`` per field) → 400, nothing stored;
    any ``Api*Error`` → 400 with its message (``ApiUnauthorized`` also marks the integration
    as needing attention).
    **Since**: v1.
    """


@hookspec(firstresult=True)
def get_issue_form(integration: Integration, group: Group) -> list[dict[str, Any]] | None:
    """Describe the create-ticket form of this provider, with choices loaded from it.

    The web page shows these fields and posts them back as ``fields`` of
    ``create_external_issue``; the core names no provider field itself.

    :returns: ``[{"name", "label", "type": "text"|"textarea"|"select", "required"?: bool,
        "default"?: str, "choices"?: [[value, label], ...]}]``, or ``None`` when not yours
        (the page then offers no create form for that integration).

    **Called**: in the request thread of the issue page, for the integration chosen there.
    **Result**: ``firstresult``.
    **Errors**: any ``Api*Error`` → the page says the provider could not be asked and still
    offers linking by key.
    **Since**: v1.1.
    """


@hookspec(firstresult=True)
def get_external_issue(
    integration: Integration, key: str
) -> dict[str, Any] | None:
    """Fetch a ticket, to link it or to check its status.

    :returns: ``{"key", "title", "url", "description"?, "metadata"?, "id"?, "status"?, "projectId"?}``,
        or ``None`` when not yours. ``metadata`` is stored as for ``create_external_issue``.
        ``status: {"id", "category", "name"?}`` (``category`` as in ``sync_status_inbound``)
        and ``projectId`` let ``hub reconcile`` repair issues whose ticket's status drifted;
        without ``status`` the ticket is left out of reconciling.

    **Called**: in the request thread of ``POST .../external-issues/`` with ``action: link``;
    and by ``hub reconcile`` (a CLI command, no request), once per linked ticket of orgs with
    ``sync_status_reverse``.
    **Result**: ``firstresult``.
    **Errors**: :class:`hub.PluginError` / any ``Api*Error`` → 400 with its ``message`` (the hub's
    words; an ``Api*Error``'s ``provider_message`` goes to the log and the integration's ``error``)
    (link); ``reconcile`` reports the ticket as unreadable and goes on.
    **Since**: v1.
    """


@hookspec(firstresult=True)
def install_integration(
    provider: str, external_id: str, name: str, metadata: dict[str, Any], organization_id: str
) -> dict[str, Any] | None:
    """Check and complete a manual install (``POST /api/0/organizations/{org}/integrations/``).

    Validate the credentials in ``metadata`` and do what the provider needs at install
    (register a webhook, register commands).

    :returns: ``{"name"?: str, "metadata": {...}}`` — what to store (secrets are encrypted by
        the core) — or ``None`` when the provider is not yours.

    **Called**: in the request thread, before anything is stored.
    **Result**: ``firstresult``.
    **Errors**: :class:`hub.InstallError` → 400 with its message, nothing stored.
    **Since**: v1.
    """


@hookspec(firstresult=True)
def verify_link_token(integration: Integration, token: str) -> bool | None:
    """Tell whether ``token`` proves control of the provider account (a provider-signed token).

    Used when an org installs by hand (``POST .../integrations/`` with ``linkToken``) an account
    that another org holds or that the provider installed and that waits for an org: e.g. a
    Connect JWT signed with the Jira site's shared secret.

    :returns: ``True`` when the token is valid for this integration; ``None`` when not yours or
        not recognised (the core then refuses with 409).

    **Called**: in the request thread of ``POST .../integrations/``. **Result**: ``firstresult``.
    **Errors**: exceptions are treated as "not proven". **Since**: v1.
    """


@hookspec
def uninstall_integration(integration: Integration, organization_id: str) -> None:
    """Undo at the provider what install did (e.g. delete the registered webhook).

    **Called**: in the request thread of ``DELETE .../integrations/{id}/``, before the row is
    disabled. **Result**: broadcast; return ``None``.
    **Errors**: exceptions are logged and the uninstall still proceeds.
    **Since**: v1.
    """


# ---------------------------------------------------------------------------------------------
# Outbound: in RQ jobs, one integration at a time
# ---------------------------------------------------------------------------------------------


@hookspec
def sync_status_outbound(
    integration: Integration, external_issue: ExternalIssue, is_resolved: bool, project_id: str
) -> None:
    """Move a linked ticket to the status mapped for the hub issue's new status.

    Expected steps for a provider whose statuses are per project (Jira): read the ticket, find
    the org's mapping for its project with :func:`hub.services.status_mapping` (``integration.id``,
    ``integration.organization_id``, the ticket's project id; none → raise
    ``SyncSkipped("no mapping")``), stop when it is already there (``SyncSkipped``), else apply
    the transition that leads to the target. A provider with a plain open/closed state just
    sets it.

    :param is_resolved: the hub issue's new state.
    :param project_id: the hub project's id.

    **Called**: in an RQ job after a user-, API-, chat- or regression-made status change, once
    per linked ticket whose org has ``sync_status_forward``; never for a change that came from
    a provider. **Result**: broadcast; the return value is ignored.
    **Errors**: ``RetryLater``, ``Api*Error``, ``PluginError``, ``SyncSkipped`` (see module doc).
    **Since**: v1.
    """


@hookspec
def sync_assignee_outbound(
    integration: Integration, external_issue: ExternalIssue, user: User | None, assign: bool
) -> None:
    """Assign (or unassign, ``assign=False``) a linked ticket to match the hub issue.

    Find the provider account by the user's email; none → ``SyncSkipped("target not found")``.

    **Called**: in an RQ job after an assignee change, once per linked ticket whose org has
    ``sync_assignee_outbound``, never to the integration the change came from.
    **Result**: broadcast. **Errors**: as for ``sync_status_outbound``. **Since**: v1.
    """


@hookspec
def sync_comment_outbound(
    integration: Integration, external_issue: ExternalIssue, activity: Activity, comment_id: str | None
) -> str | None:
    """Post (``comment_id`` is ``None``) or update a note of a hub issue as a ticket comment.

    :param activity: the ``note`` activity; ``activity.data["text"]``, ``activity.user``.
    :param comment_id: the provider comment id returned by an earlier call, for an edit.
    :returns: the provider's comment id (stored for later edits), or ``None`` when not yours.

    **Called**: in an RQ job when ``sync_comments`` is on. **Result**: broadcast; the first
    non-``None`` value is stored. **Errors**: as for ``sync_status_outbound``. **Since**: v1.
    """


# ---------------------------------------------------------------------------------------------
# Notifications: in RQ jobs, one integration at a time
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def notify_issue_alert(
    integration: Integration,
    group: Group,
    event: Event,
    channel_id: str,
    rule: Rule,
    parent: Parent | None,
) -> dict[str, Any] | None:
    """Post an issue alert to a channel.

    :param channel_id: the channel the alert rule names.
    :param parent: the issue's earlier alert in this channel, if any: post in its thread.
    :returns: ``{"channelId", "messageId"}`` — stored as the parent of later thread replies —
        or ``None`` when not yours.

    **Called**: in an RQ job when an alert rule fires with an action for this integration.
    **Result**: ``firstresult``. **Errors**: as for ``sync_status_outbound``. **Since**: v1.
    """


@hookspec
def notify_activity(
    integration: Integration, activity: Activity, group: Group, parents: list[Parent]
) -> None:
    """Post a user's activity on an issue as a reply in each alert thread of the issue.

    Post to every parent; log and go on when one parent fails, and raise at the end if any
    failed with a retryable error. Activities without a user are never passed here.

    :param parents: the issue's stored parent messages for this integration.

    **Called**: in an RQ job per (activity, integration) with parents.
    **Result**: broadcast. **Errors**: as for ``sync_status_outbound``. **Since**: v1.
    """


@hookspec
def notify_invite_request(integration: Integration, invite_request: InviteRequest, channel_id: str) -> None:
    """Ask an org's admins (in chat) to approve or reject a member's invite request.

    :param channel_id: the org's alert channel for this integration (the first alert rule
        action that names this integration).

    **Called**: in an RQ job per integration of the org with ``chat-actions`` when a member
    files ``POST /api/0/organizations/{org}/invite-requests/``.
    **Result**: broadcast. **Errors**: as for ``sync_status_outbound``. **Since**: v1.
    """


# ---------------------------------------------------------------------------------------------
# Deferred plugin work: in RQ jobs
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def run_task(integration: Integration, task: str, payload: dict[str, Any]) -> str | None:
    """Do work a plugin deferred with :func:`hub.services.defer` (since v1.2).

    For what must not delay a synchronous answer: after a chat interaction is answered, the
    message update (``chat.update``, a ``response_url`` post, a Discord follow-up edit).

    :param task: the name the plugin gave it. :param payload: the JSON dict it gave.
    :returns: a short outcome for the outbox row, or ``None``.

    **Called**: in an RQ job, on the plugin owning ``integration.provider``.
    **Result**: ``firstresult``. **Errors**: as for ``sync_status_outbound`` (retried with backoff).
    **Since**: v1.2.
    """


# ---------------------------------------------------------------------------------------------
# Plugin settings: at start-up
# ---------------------------------------------------------------------------------------------


@hookspec
def plugin_settings() -> list[PluginSetting]:
    """Declare the ``HUB_*`` environment variables this plugin reads, with defaults and help.

    The core reads each from the environment (or the mapping given to ``create_app``) into the
    app's config, else its default, so ``services.config(name)`` always finds it; ``hub plugins
    --settings`` and the README list them; ``secret`` ones are never printed. Names start with
    ``HUB_`` and belong to one plugin; a duplicate or a core setting's name stops the start.

    **Called**: once, at start-up. **Result**: broadcast (one list per plugin). **Since**: v1.
    """


# ---------------------------------------------------------------------------------------------
# Web pages: in the request thread of a settings page, for owners and admins
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def get_status_choices(
    integration: Integration,
    project_id: str | None,
    mapping: dict[str, str] | None,
    tickets: list[ExternalIssue],
) -> dict[str, Any] | None:
    """Load the provider's projects and one project's statuses for the status-mapping editor.

    The integrations page offers these as choices instead of raw ids, and shows ``warnings``
    next to the mapping, e.g. a mapped status that no transition of a linked ticket leads to
    (the core knows nothing of workflows; the provider says what it can check).

    :param project_id: the project being edited, or ``None`` to list the projects only.
    :param mapping: the project's current mapping ``{"resolved", "unresolved"}`` (status ids),
        or ``None`` when it has none.
    :param tickets: the org's tickets linked through this integration (most recent first, at
        most 50), for a provider that can check transitions on a real ticket only.
    :returns: ``{"projects": [{"id", "name"}], "statuses": [{"id", "name"}]`` (of ``project_id``;
        ``[]`` without one), ``"warnings": [str]``, ``"notes": [str]``}``, or ``None`` when not
        yours (the page then offers id fields).

    **Called**: when an owner or admin opens the mapping editor of a ``status-sync``
    integration, and after saving a mapping.
    **Result**: ``firstresult``.
    **Errors**: :class:`hub.PluginError` / any ``Api*Error`` → the page says the provider could
    not be asked and still offers the id fields.
    **Since**: v1.2.
    """


@hookspec(firstresult=True)
def get_install_guide(provider: str, organization_slug: str, base_url: str) -> dict[str, Any] | None:
    """Tell the integrations page, step by step, how to install the provider.

    Richer than ``provider_info()["install"]`` (which still gives the by-hand fields):

    :returns: ``{"steps": [str], "copy": [{"label", "value"}], "buttons": [{"label", "url",
        "unavailable"?: str}], "notes"?: [str]}`` — numbered steps; values to copy into the provider (e.g. a
        descriptor URL); buttons that start a provider's own install flow (e.g. OAuth), with
        why one cannot be used here (``unavailable``, e.g. the app is not configured) — or
        ``None`` when not yours; ``notes`` say what to fix first (e.g. the hub's URL is not
        https). URLs are absolute (``base_url`` is the hub's public URL).

    **Called**: in the request thread of the integrations page, once per provider, for owners
    and admins. **Result**: ``firstresult``.
    **Errors**: an exception is logged and the page falls back to ``provider_info()["install"]``.
    **Since**: v1.2.
    """
