"""Link and unlink pages: ``link-identity/{signed}/`` and ``unlink-identity/{signed}/``.

The signed, expiring token proves the Slack side (we only hand it to the Slack user, in an
ephemeral message); the hub session or bearer token proves the hub side. Cross-site request
forgery is the core's check (:func:`hub.security.session_post_unconfirmed`, run by the
``/extensions/`` door): a POST riding on a browser session needs the CSRF token of the GET page's
form, so a third-party page cannot make a logged-in user link someone else's Slack account.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from hub import WebhookResponse, services
from hub.errors import ApiError, ValidationError
from hub.types import Integration, WebhookRequest
from plugins.slack import messages
from plugins.slack.client import client_for, is_slack_url

logger = logging.getLogger("hub.plugins.slack")

KINDS = ("link-identity", "unlink-identity")
LINK_MAX_AGE = 15 * 60

PAGE = """
<h1>{{ heading }}</h1>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
{% if message %}<p>{{ message }}</p>{% endif %}
{% if login_url %}<p><a href="{{ login_url }}">Log in</a> to continue.</p>{% endif %}
{% if confirm %}
<form method="post" action="{{ action }}">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  <button type="submit">{{ button }}</button>
</form>
{% endif %}
"""


def identity_url(
    kind: str, integration_id: str, slack_user_id: str, channel_id: str, response_url: str
) -> str:
    """The signed, expiring page URL a Slack user follows to (un)link their identity."""
    token = services.sign(
        {
            "integration_id": str(integration_id),
            "slack_user_id": slack_user_id,
            "channel_id": channel_id,
            "response_url": response_url,
        },
        salt=f"slack-{kind}",
    )
    return f"{services.base_url()}/extensions/slack/{kind}/{token}/"


def _wants_json(request: WebhookRequest) -> bool:
    accept = request.headers.get("Accept") or ""
    return bool(request.headers.get("Authorization")) or (
        "application/json" in accept and "text/html" not in accept
    )


def _page(
    request: WebhookRequest, status: int, heading: str, *, detail: str | None = None, **context: Any
) -> WebhookResponse:
    if _wants_json(request):
        body: dict[str, Any] = (
            {"detail": detail or heading, "errors": {}} if status >= 400 else {"detail": detail or heading}
        )
        body.update({k: v for k, v in context.items() if k in ("linked", "unlinked", "slackUserId", "user")})
        return WebhookResponse(status=status, json=body)
    html = services.render(PAGE, title=heading, heading=heading, **context)
    return WebhookResponse(status=status, body=html, headers={"Content-Type": "text/html; charset=utf-8"})


def handle(kind: str, token: str, request: WebhookRequest) -> WebhookResponse:
    """GET shows what will happen; POST does it (the route allows only these two)."""
    try:
        data = services.unsign(token, salt=f"slack-{kind}", max_age=LINK_MAX_AGE)
    except ValidationError as e:
        return _page(request, 400, "This link cannot be used", error=e.detail, detail=e.detail)
    integration = services.get_integration_by_id(str(data.get("integration_id") or "0"))
    slack_user_id = str(data.get("slack_user_id") or "")
    if (
        integration is None
        or integration.provider != "slack"
        or integration.status == "disabled"
        or not slack_user_id
    ):
        return _page(request, 404, "This Slack workspace is no longer connected")
    user = request.user
    if user is None:
        login_url = f"/login?next={quote(request.path, safe='')}"
        return _page(
            request,
            401,
            "Log in to continue",
            login_url=login_url,
            detail="Authentication required: log in or send an API token.",
        )
    orgs = [o for o in services.organizations_of(integration.id) if o["status"] != "disabled"]
    if not any(services.org_role(user.id, o["id"]) for o in orgs):
        return _page(
            request,
            403,
            "Not allowed",
            error="Your account is not a member of an organization that uses this Slack workspace.",
            detail="Your account is not a member of an organization that uses this Slack workspace.",
        )
    linking = kind == "link-identity"
    if request.method == "GET":
        what = (
            f"Link the Slack account <@{slack_user_id}> of {integration.name} to your account {user.email}?"
            if linking
            else f"Unlink the Slack account <@{slack_user_id}> of {integration.name} from Integration Hub?"
        )
        return _page(
            request,
            200,
            "Link your Slack identity" if linking else "Unlink your Slack identity",
            message=what,
            confirm=True,
            action=request.path,
            button="Link" if linking else "Unlink",
            slackUserId=slack_user_id,
        )
    if linking:
        services.link_identity(integration.id, slack_user_id, user.id, {"channel_id": data.get("channel_id")})
        text = f"Your Slack identity is now linked to {user.email}. Try your action again."
    else:
        services.unlink_identity(integration.id, slack_user_id)
        text = "Your Slack identity has been unlinked from Integration Hub."
    logger.info(
        f"slack.identity-{'linked' if linking else 'unlinked'}",
        extra={"integration": integration.id, "user": user.id},
    )
    _tell(integration, str(data.get("response_url") or ""), text)
    done = {"linked": True} if linking else {"unlinked": True}
    return _page(
        request, 200, "Done", message=text, detail=text, user={"id": user.id, "email": user.email}, **done
    )


def _tell(integration: Integration, response_url: str, text: str) -> None:
    """Best effort: tell the user in Slack, where they started."""
    if not response_url or not is_slack_url(response_url):
        return
    try:
        client_for(integration).respond(response_url, messages.ephemeral(text))
    except ApiError as e:
        logger.info("slack.identity-notice-failed", extra={"integration": integration.id, "error": e.message})
