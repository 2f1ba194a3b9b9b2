"""Install through Slack's OAuth v2 (``GET oauth/``), and by hand through the API.

Start: a logged-in owner or admin opens ``/extensions/slack/oauth/?organization=<slug>`` and is
sent to Slack's consent page with a signed ``state`` naming the org and the user. Callback:
Slack sends them back with ``code`` and ``state``; the code is exchanged (``oauth.v2.access``)
for the bot token, the workspace is stored (token encrypted by the core) and attached to the org.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, urlencode

from hub import InstallError, WebhookResponse, services
from hub.errors import ApiError, ApiHostError, ApiUnauthorized, ValidationError
from hub.types import WebhookRequest
from plugins.slack.client import SlackClient

logger = logging.getLogger("hub.plugins.slack")

AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"
SCOPES = (
    "chat:write",
    "chat:write.public",
    "commands",
    "users:read",
    "users:read.email",
    "channels:read",
    "groups:read",
)
STATE_SALT = "slack-oauth-state"
STATE_MAX_AGE = 30 * 60


def redirect_uri() -> str:
    return f"{services.base_url()}/extensions/slack/oauth/"


def _answer(request: WebhookRequest, status: int, detail: str) -> WebhookResponse:
    accept = request.headers.get("Accept") or ""
    if request.headers.get("Authorization") or ("application/json" in accept and "text/html" not in accept):
        return WebhookResponse(
            status=status, json={"detail": detail, "errors": {}} if status >= 400 else {"detail": detail}
        )
    html = services.render(
        "<h1>{{ heading }}</h1><p>{{ detail }}</p>",
        title="Slack",
        detail=detail,
        heading="Slack installed" if status < 400 else "Slack could not be installed",
    )
    return WebhookResponse(status=status, body=html, headers={"Content-Type": "text/html; charset=utf-8"})


def _redirect(location: str) -> WebhookResponse:
    return WebhookResponse(status=302, headers={"Location": location})


def handle(request: WebhookRequest) -> WebhookResponse:
    """Start the install, or finish it when Slack sends the user back."""
    if request.query.get("error"):
        return _answer(
            request, 400, f"The installation was cancelled in Slack ({request.query['error'][:60]})."
        )
    if request.query.get("code") or request.query.get("state"):
        return _callback(request)
    return _start(request)


def _start(request: WebhookRequest) -> WebhookResponse:
    user = request.user
    if user is None:
        accept = request.headers.get("Accept") or ""
        if request.headers.get("Authorization") or "application/json" in accept:
            return WebhookResponse(status=401, json={"detail": "Authentication required.", "errors": {}})
        here = request.path + (
            "?" + urlencode(list(request.query.items(multi=True))) if request.query else ""
        )
        return _redirect(f"/login?next={quote(here, safe='')}")
    organization = (request.query.get("organization") or "").strip()
    if not organization:
        return WebhookResponse(
            status=400,
            json={
                "detail": "Name the organization to install Slack into.",
                "errors": {"organization": ["This parameter is required."]},
            },
        )
    org = services.get_organization(organization)
    if org is None or services.org_role(user.id, org["id"]) not in ("owner", "admin"):
        return _answer(request, 403, "Only an owner or admin of that organization can install Slack.")
    client_id = services.config("HUB_SLACK_CLIENT_ID")
    if not client_id:
        return _answer(request, 400, "The Slack app is not configured (HUB_SLACK_CLIENT_ID).")
    state = services.sign({"organization": organization, "user_id": user.id}, salt=STATE_SALT)
    query = urlencode(
        {"client_id": client_id, "scope": ",".join(SCOPES), "redirect_uri": redirect_uri(), "state": state}
    )
    logger.info("slack.install-started", extra={"organization": organization, "user": user.id})
    return _redirect(f"{AUTHORIZE_URL}?{query}")


def _callback(request: WebhookRequest) -> WebhookResponse:
    code, state = request.query.get("code") or "", request.query.get("state") or ""
    if not code or not state:
        return _answer(request, 400, "Slack sent an incomplete answer (code and state are required).")
    try:
        data = services.unsign(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except ValidationError as e:
        return _answer(request, 400, f"The install link is not valid: {e.detail}")
    if request.user is None or request.user.id != data.get("user_id"):
        return _answer(request, 403, "Finish the install in the browser session that started it.")
    try:
        answer = SlackClient().oauth_access(code, redirect_uri())
    except ApiError as e:
        logger.warning("slack.oauth-exchange-failed", extra={"error": e.message})
        return _answer(request, 400, f"Slack refused the install ({e.message}).")
    team = answer.get("team") or {}
    token = answer.get("access_token")
    if not team.get("id") or not token:
        return _answer(request, 400, "Slack's answer has no workspace or bot token.")
    metadata = {
        "access_token": token,
        "bot_user_id": answer.get("bot_user_id") or "",
        "scopes": answer.get("scope") or "",
        "app_id": answer.get("app_id") or "",
        "installer_user_id": (answer.get("authed_user") or {}).get("id") or "",
    }
    integration = services.save_integration(
        "slack", str(team["id"]), str(team.get("name") or team["id"]), metadata
    )
    try:
        services.attach_integration(integration.id, str(data["organization"]), request.user.id)
    except ValidationError as e:
        return _answer(request, 403, e.detail)
    if metadata["installer_user_id"]:
        services.link_identity(
            integration.id, metadata["installer_user_id"], request.user.id, {"installer": True}
        )
    logger.info(
        "slack.installed", extra={"integration": integration.id, "organization": data["organization"]}
    )
    return _answer(
        request, 200, f"Slack workspace {integration.name} is connected to {data['organization']}."
    )


def install_by_hand(external_id: str, name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """``POST .../integrations/`` with a bot token: store it, after asking Slack who it is.

    A token Slack refuses, or a Slack that cannot be reached, is a 400 and nothing is stored. The
    token proves the workspace: one that ``auth.test`` says belongs to another workspace than
    ``externalId`` is a 400 too (else any admin could claim any team id with their own token).
    What ``auth.test`` cannot confirm otherwise (an error answer) is logged and kept in the
    metadata as a warning; such a claim stays unproven and is let go when Slack installs it.
    """
    token = metadata.get("access_token")
    if not token or not isinstance(token, str):
        raise InstallError(
            "metadata.access_token (the Slack bot token) is required.",
            {"metadata": ["access_token is required."]},
        )
    warnings: list[str] = []
    try:
        who = SlackClient(token=token).auth_test()
    except ApiUnauthorized as e:
        raise InstallError(
            f"Slack refused the bot token ({e.message}).", {"metadata": ["access_token is not valid."]}
        ) from e
    except ApiHostError as e:
        raise InstallError(f"Slack could not be reached ({e.message}).", {"metadata": [e.message]}) from e
    except ApiError as e:
        who = {}
        warnings.append(f"auth.test failed: {e.message}")
    token_team = str(who.get("team_id") or "")
    if token_team and token_team != str(external_id):
        logger.warning("slack.install-other-workspace", extra={"team": external_id, "token_team": token_team})
        raise InstallError(
            f"The bot token belongs to another Slack workspace ({token_team}), not {external_id}.",
            {"externalId": [f"The token's workspace is {token_team}: use that team id, or its own token."]},
        )
    for warning in warnings:
        logger.warning("slack.install-unconfirmed", extra={"team": external_id, "warning": warning})
    stored = {**metadata, "bot_user_id": metadata.get("bot_user_id") or who.get("user_id") or ""}
    if warnings:
        stored["install_warnings"] = warnings
    return {"name": name or str(who.get("team") or external_id), "metadata": stored}
