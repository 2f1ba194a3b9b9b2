"""The Slack endpoints under ``/extensions/slack/``, as data (inbound v2).

Slack's own requests (interactions, slash commands, the Events API) are verified by their v0
signature (:func:`plugins.slack.request.verify`) before anything is parsed. The OAuth install and
the identity pages are opened by a person's browser, which Slack does not sign: they prove
themselves (the install's signed ``state`` and login; the link pages' signed, expiring token and
login), so their verifier is ``hub.routes.public``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from hub import WebhookResponse
from hub import identity as identity_pages
from hub.routes import public
from hub.types import Route, WebhookRequest
from plugins.slack import actions, commands, events, identity, oauth
from plugins.slack.request import duplicate, verify


def _once(name: str, handle: Callable[[WebhookRequest], WebhookResponse]) -> Callable[..., WebhookResponse]:
    """A synchronous route answered once per signed delivery: the same body under the same signature
    (a client's retry) gets 200 and no effect; the same body signed anew (a user clicking again after
    linking their account) is a new delivery."""

    def handler(request: WebhookRequest, _verified: None) -> WebhookResponse:
        signature = request.headers.get("X-Slack-Signature", "").encode()
        if request.already_processed(hashlib.sha256(request.body + b"\n" + signature).hexdigest()):
            return duplicate(name)
        return handle(request)

    return handler


def routes() -> list[Route]:
    return [
        # Interactions are answered synchronously (Slack waits 3 s); the message redraw is a job.
        Route("action/", ("POST",), verify=verify, handle=_once("action/", actions.handle), name="action"),
        Route("commands/", ("POST",), verify=verify, handle=_once("commands/", commands.handle),
              name="commands"),
        # event/ answers url_verification every time, then claims the event id itself.
        Route("event/", ("POST",), verify=verify, handle=lambda request, _: events.handle(request),
              name="event"),
        # A browser, not Slack: the start checks the login and role, the callback its signed state.
        Route("oauth/", ("GET",), verify=public, handle=lambda request, _: oauth.handle(request),
              name="oauth"),
        # A browser: the core's page; the signed, expiring link proves the Slack user, the login the hub user.
        *identity_pages.routes(identity.PAGE),
    ]
