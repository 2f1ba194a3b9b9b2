"""Regenerate docs/plugin_hooks.md from hub/hookspecs.py (tests/hub/test_hookspecs.py checks they agree)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from hub import hookspecs

HEAD = """# Plugin hooks (plugin API v1)

A plugin is a module registered under the entry-point group `hub.plugins`; the entry point's name is the
provider key. Implement any subset of these hooks with `from hub import hookimpl`. Hooks are called with keyword
arguments only and an implementation may accept fewer arguments than listed. This API only grows: nothing is
renamed or removed in v1. The full contract of each hook is its docstring in `hub/hookspecs.py`; the functions a
plugin may call to change hub state are in `hub/services.py`; the values it receives are in `hub/types.py`; its
HTTP client base is `hub.http.BaseApiClient`: build every path that carries input with `self.path("/issues/{}", key)`
(each value one escaped segment), validate provider keys in your hooks (raise `hub.PluginError` with a field error:
a 400), and put nothing of a provider's error body in messages: `Api*Error.message` is already the hub's words,
`provider_message` what the provider said (logged; on the integration's `error` for owners and admins). Every
connection obeys `HUB_OUTBOUND_ALLOW` / `HUB_OUTBOUND_DENY`; a refused address raises `ApiAddressRefused`.

## Inbound v2: routes are data, handlers return typed changes (since v1.2)

A provider plugin declares its endpoints with `webhook_routes()` and the core does the rest: it matches
`/extensions/<key>/<path>` (404; 405 with `Allow`), refuses a body over the route's `max_bytes` (413), runs the
route's `verify(request)` **before anything is parsed** and only then `handle(request, verified)`. No router, no
`if provider != KEY` guard: a hook naming a `provider` or an `integration` is called only on the plugin owning that
provider (and on plugins owning none). A handler returns one of two things:

- `hub.Inbound(integration, changes, dedupe_key)`: the core claims the dedupe key (a duplicate, concurrent or a week
  later, is answered 200 with no effect), records the delivery and its changes in **one write** and answers at once.
  `hub worker` applies each change exactly once, per ticket in the provider's event order (arrival breaks ties), with
  a per-field compare-and-set (an older event never wins) and an echo guard (what the hub sent a ticket, coming back,
  does nothing). `hub deliveries --json` and `GET /api/0/organizations/{org}/deliveries/` show each delivery and,
  per change, `applied`, `stale`, `echo`, `skipped` (with the reason) or `failed` (with the error).
- `hub.WebhookResponse(...)`: a synchronous answer, for what the provider needs answered now (a chat interaction, a
  Connect lifecycle call, a page). Do slow follow-ups with `hub.services.defer(integration_id, task, payload)`; the
  worker calls your `run_task` hook. Chat buttons act through `hub.services.chat_action(integration, ChatAction(...))`,
  which checks identity, membership and role itself.

The typed changes (`hub.types`, all frozen; `ticket=Ticket(key, id, project_id)`, `occurred_at` in epoch ms):

| type | fields | what the core does |
|---|---|---|
| `StatusChange` | `status_id`, `status_name`, `category` (`new`/`indeterminate`/`done`, `None` = ask `complete_change`), `from_status_id`, `from_category` | the org's mapping of `ticket.project_id` first, else the categories: resolve or unresolve the linked issues of orgs with `sync_status_reverse` |
| `AssigneeChange` | `assign`, `email`, `account_id` (hidden email: ask `complete_change`), `replaces_email` | assign the project member with that email; an unassign removes only `replaces_email` or the user last synced with the ticket |
| `TicketMoved` | `old_key` (the new key is `ticket.key`) | links keyed by `ticket.id` take the new key |
| `CommentAdded` | `text`, `author_email`, `author_name`, `comment_id` | a note on the linked issues of orgs with `sync_comments`, never echoed back |
| `ChatAction` | `actor=ChatIdentity(provider, team_id, user_id)`, `group_id`, `action`, `choice` | `services.chat_action`: applied synchronously as the linked hub user |

A complete v2 plugin for a tracker that signs its webhooks with a per-integration secret:

```python
import hashlib, hmac
from hub import Inbound, Route, StatusChange, Ticket, Unverified, hookimpl, services

@hookimpl
def provider_info():
    return {"key": "tracker", "name": "Tracker", "features": ["issue-sync", "status-sync"]}

@hookimpl
def webhook_routes():
    return [Route("hooks/<site>/", ("POST",), verify=verify, handle=handle)]

def verify(request):  # before anything of the body is read
    integration = services.get_integration("tracker", request.params["site"])
    secret = integration.metadata.get("secret", "") if integration else ""
    sent = request.headers.get("X-Signature", "")
    if not secret or not hmac.compare_digest(sent, hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()):
        raise Unverified("Bad signature.")
    return integration

def handle(request, integration):
    body = request.json()
    change = StatusChange(ticket=Ticket(key=body["key"], id=str(body["id"])), status_id=body["state"],
                          category="done" if body["state"] == "closed" else "new", occurred_at=body["updated_ms"])
    return Inbound(integration=integration, changes=(change,), dedupe_key=body["delivery_id"])
```

Superseded, kept and still working for v1 plugins: `on_webhook` (a provider that declares no routes is answered by
it), and calling `sync_status_inbound` / `sync_assignee_inbound` / `sync_ticket_moved_inbound` from a handler (they
now record the change and apply it at once through the same path, with the same guards).

"""  # noqa: E501 (Markdown: a table row is one line)


def main() -> None:
    rows, details = [], []
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        opts = getattr(fn, "hub_spec", None)
        if opts is None:
            continue
        signature = f"{name}({', '.join(inspect.signature(fn).parameters)})"
        doc = inspect.getdoc(fn) or ""
        called = re.search(r"\*\*Called\*\*: (.*?)(?:\.\s|\.$)", doc, re.S)
        when = " ".join(called.group(1).split()) if called else ""
        line = fn.__code__.co_firstlineno
        rows.append((line, f"| `{signature}` | {'yes' if opts.get('firstresult') else 'no'} | {when} |"))
        details.append((line, f"## `{signature}`\n\n{doc}\n"))
    text = (HEAD + "| hook | firstresult | called |\n|---|---|---|\n" + "\n".join(r for _, r in sorted(rows))
            + "\n\n" + "\n".join(d for _, d in sorted(details)))
    Path(__file__).resolve().parents[1].joinpath("docs", "plugin_hooks.md").write_text(text)


if __name__ == "__main__":
    main()
