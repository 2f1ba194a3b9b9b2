"""The identity-link page every chat plugin shares: ``link-identity/<token>/`` (and ``unlink-identity/``).

A chat plugin hands its user a signed, expiring link (:func:`link_url`) naming the integration and the
chat user; the link proves the chat side, the hub login (session or bearer token) the hub side. GET
shows who will be linked to whom, POST links (or unlinks). The plugin declares the page with an
:class:`hub.types.IdentityPage` (its words, the link's lifetime, how to tell the chat user) and lists
:func:`routes` among its ``webhook_routes``, so the public URLs stay under ``/extensions/<provider>/``.

Every check is here, once: the signature and age of the link, the integration still connected, the
login (401 with a link to ``/login``), the hub user a member of an org using the integration, and for
a POST riding on a browser session the CSRF token (the ``/extensions/`` door,
:func:`hub.security.session_post_unconfirmed`) and the same-origin check (:func:`hub.security.same_origin`),
so another site cannot make a logged-in user link someone else's chat account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import render_template

from hub import services
from hub.errors import ApiError, ValidationError
from hub.routes import public
from hub.security import same_origin
from hub.types import IdentityPage, Integration, Route, User, WebhookRequest, WebhookResponse

logger = logging.getLogger("hub.identity")

LINK, UNLINK = "link-identity", "unlink-identity"


def _salt(provider: str, kind: str) -> str:
    return f"{provider}-{kind}"


def link_url(integration: Integration, external_user_id: str, *, name: str = "", kind: str = LINK,
             extra: dict[str, Any] | None = None) -> str:
    """The signed page URL a chat user follows to link (``kind=UNLINK``: unlink) their account.

    ``name`` is how the page shows the chat user ("Jess", ``<@U123>``); ``extra`` (JSON) comes back
    to the page's ``tell`` (where to answer in chat). Valid for the page's ``max_age``.
    """
    if kind not in (LINK, UNLINK):
        raise ValueError(f"unknown identity page {kind!r}")
    token = services.sign(
        {"integration_id": str(integration.id), "user_id": str(external_user_id), "name": name,
         "extra": extra or {}},
        _salt(integration.provider, kind),
    )
    return f"{services.base_url()}/extensions/{integration.provider}/{kind}/{token}/"


def routes(page: IdentityPage) -> list[Route]:
    """The plugin's identity routes (a browser's: the link and the login are the proof)."""
    kinds = (LINK, UNLINK) if page.unlink else (LINK,)
    return [Route(f"{kind}/<token>/", ("GET", "POST"), verify=public, handle=_handler(page, kind), name=kind)
            for kind in kinds]


def _handler(page: IdentityPage, kind: str) -> Callable[[WebhookRequest, Any], WebhookResponse]:
    def handle(request: WebhookRequest, _verified: Any) -> WebhookResponse:
        return _page(page, kind, request)

    return handle


def _wants_json(request: WebhookRequest) -> bool:
    accept = request.headers.get("Accept") or ""
    json_only = "application/json" in accept and "text/html" not in accept
    return bool(request.headers.get("Authorization")) or json_only


def _answer(request: WebhookRequest, status: int, heading: str, text: str, **extra: Any) -> WebhookResponse:
    """The page (a browser) or ``{"detail", ...}`` (an API client: bearer token or JSON wanted)."""
    if _wants_json(request):
        body: dict[str, Any] = {"detail": text, **({"errors": {}} if status >= 400 else {})}
        body.update({k: v for k, v in extra.items() if k in ("linked", "unlinked", "user", "identity")})
        return WebhookResponse(status=status, json=body)
    html = render_template("identity_link.html", title=heading, heading=heading, text=text,
                           error=status >= 400, **extra)
    return WebhookResponse(status=status, body=html, headers={"Content-Type": "text/html; charset=utf-8"})


def _member_of_an_org_using(user: User, integration: Integration) -> bool:
    orgs = [o for o in services.organizations_of(integration.id) if o["status"] != "disabled"]
    return any(services.org_role(user.id, o["id"]) for o in orgs)


def _page(page: IdentityPage, kind: str, request: WebhookRequest) -> WebhookResponse:
    """GET shows what will happen; POST does it (the route allows only these two)."""
    linking = kind == LINK
    heading = f"{'Link' if linking else 'Unlink'} your {page.identity}"
    try:
        token = request.params.get("token", "")
        data = services.unsign(token, _salt(page.provider, kind), max_age=page.max_age)
    except ValidationError as e:
        hint = f"{page.new_link} for a new one." if page.new_link else ""
        return _answer(request, 400, "This link cannot be used", e.detail, note=hint)
    integration_id = str(data.get("integration_id") or "")
    integration = services.get_integration_by_id(integration_id) if integration_id.isdigit() else None
    external_id = str(data.get("user_id") or "")
    if integration is None or integration.provider != page.provider or integration.status == "disabled" \
            or not external_id:
        return _answer(request, 404, "Not connected",
                       f"This {page.team} is no longer connected to Integration Hub.")
    user = request.user
    if user is None:
        return _answer(request, 401, "Log in to continue",
                       "Authentication required: log in or send an API token.",
                       login_url=f"/login?next={quote(request.path, safe='')}")
    if not _member_of_an_org_using(user, integration):
        return _answer(request, 403, "Not allowed",
                       f"Your account is not a member of an organization that uses this {page.team}.")
    name = str(data.get("name") or external_id)
    who = {"identity": {"externalId": external_id, "name": name},
           "user": {"id": user.id, "email": user.email}}
    if request.method == "GET":
        if linking:
            question = (f"Link the {page.name} account {name} of {integration.name} "
                        f"to your account {user.email}?")
            note = f"Once linked, you can {page.lets_you} as {user.email}."
        else:
            question = f"Unlink the {page.name} account {name} of {integration.name} from Integration Hub?"
            note = f"Until you link it again, you cannot {page.lets_you}."
        return _answer(request, 200, heading, question, note=note, confirm="Link" if linking else "Unlink",
                       action=request.path, **who)
    bearer = (request.headers.get("Authorization") or "").lower().startswith("bearer ")
    if not bearer and not same_origin(request.headers):
        return _answer(request, 403, "Not allowed",
                       f"Confirm on the link page itself: open the link from {page.name} again.")
    if linking:
        services.link_identity(integration.id, external_id, user.id, {"name": name})
        text = f"Your {page.identity} is now linked to {user.email}."
    else:
        services.unlink_identity(integration.id, external_id)
        text = f"Your {page.identity} has been unlinked from Integration Hub."
    logger.info("identity-linked" if linking else "identity-unlinked",
                extra={"integration": integration.id, "user": user.id})
    _tell(page, integration, linking, data.get("extra"), text)
    return _answer(request, 200, "Done", text, note=f"You can go back to {page.name}.",
                   **({"linked": True} if linking else {"unlinked": True}), **who)


def _tell(page: IdentityPage, integration: Integration, linked: bool, extra: Any, text: str) -> None:
    """Best effort: the plugin tells the chat user where they started; the link is written already."""
    if page.tell is None:
        return
    try:
        page.tell(integration, linked, extra if isinstance(extra, dict) else {}, text)
    except ApiError as e:
        logger.info("identity-notice-failed", extra={"integration": integration.id, "error": e.message})
