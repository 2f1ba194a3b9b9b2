"""The Connect app's endpoints under ``/extensions/jira/`` (FLOWS §2), declared by :func:`routes`.

Each route's verifier runs before its handler reads the body, and answers 400 for anything a
forger could send; the core matches the routes (404, 405 with ``Allow``).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import quote, urlsplit

from hub import InstallError, WebhookResponse, services
from hub.errors import ValidationError
from hub.inputs import split_url
from hub.routes import public
from hub.security import same_origin
from hub.types import Integration, Route, WebhookRequest

from . import changes
from .changes import load_json
from .connect import KEY, ConnectError, proves_control, verify_connect_jwt, verify_install_jwt

logger = logging.getLogger("hub.plugins.jira")

LINK_SALT = "jira-link"
LINK_MAX_AGE = 15 * 60


# -- descriptor and lifecycle -----------------------------------------------------------------


def descriptor(request: WebhookRequest, verified: None = None) -> WebhookResponse:
    """``atlassian-connect.json``: what Jira installs."""
    base = services.base_url().rstrip("/")
    return WebhookResponse(
        status=200,
        json={
            "key": services.config("HUB_JIRA_APP_KEY"),
            "name": "Integration Hub",
            "description": "Link hub issues to Jira tickets and keep status and assignee in sync.",
            "vendor": {"name": "Integration Hub", "url": base},
            "baseUrl": base,
            "links": {"self": f"{base}/extensions/jira/descriptor/"},
            "authentication": {"type": "jwt"},
            "lifecycle": {
                "installed": "/extensions/jira/installed/",
                "uninstalled": "/extensions/jira/uninstalled/",
            },
            "apiVersion": 1,
            "apiMigrations": {"gdpr": True, "context-qsh": True, "signed-install": True},
            "scopes": ["READ", "WRITE", "ACCESS_EMAIL_ADDRESSES"],
            "modules": {
                "webhooks": [
                    {
                        "event": "jira:issue_updated",
                        "url": "/extensions/jira/issue-updated/",
                        "excludeBody": False,
                    }
                ],
                "configurePage": {
                    "key": "configure-integration-hub",
                    "name": {"value": "Configure Integration Hub"},
                    "url": "/extensions/jira/configure/",
                },
            },
        },
    )


def installed(request: WebhookRequest, claims: dict[str, Any]) -> WebhookResponse:
    """Store (or, on a re-install, update) the site and its shared secret (``claims``: the
    verified install JWT's)."""
    body = _lifecycle_body(request, claims)
    if request.already_processed(_token_key(request)):
        return WebhookResponse(status=200, json={"detail": "Already processed."})
    missing = {k: ["Missing."] for k in ("sharedSecret", "baseUrl") if not body.get(k)}
    if missing:
        raise ValidationError("The install payload is incomplete.", missing)
    base_url = str(body["baseUrl"]).rstrip("/")
    site = split_url(base_url)  # "http://[::1" is no URL, even in a signed install
    if site is None or site.scheme not in ("http", "https") or not site.netloc:
        raise ValidationError("The install payload's baseUrl is not an http(s) URL.",
                              {"baseUrl": ["Not a URL."]})
    integration = services.save_integration(
        KEY,
        str(body["clientKey"]),
        site.netloc,
        {
            "base_url": base_url,
            "shared_secret": str(body["sharedSecret"]),
            "client_key": str(body["clientKey"]),
            "display_url": str(body.get("displayUrl") or base_url),
            "server_version": str(body.get("serverVersion") or ""),
            "product_type": str(body.get("productType") or "jira"),
        },
    )
    logger.info("jira.installed", extra={"integration": integration.id, "site": integration.name})
    return WebhookResponse(status=200, json={"detail": "Installed."})


def uninstalled(request: WebhookRequest, claims: dict[str, Any]) -> WebhookResponse:
    """Disable the site everywhere; history stays, sync stops."""
    body = _lifecycle_body(request, claims)
    if request.already_processed(_token_key(request)):
        return WebhookResponse(status=200, json={"detail": "Already processed."})
    integration = services.get_integration(KEY, str(body["clientKey"]))
    if integration is None:
        raise ConnectError("Unknown clientKey: this Jira site has not installed the app.")
    services.disable_integration(integration.id)
    logger.info("jira.uninstalled", extra={"integration": integration.id})
    return WebhookResponse(status=200, json={"detail": "Uninstalled."})


def _lifecycle_body(request: WebhookRequest, claims: dict[str, Any]) -> dict[str, Any]:
    body = load_json(request) if request.body else None
    if not isinstance(body, dict) or not body.get("clientKey"):
        raise ValidationError("The lifecycle payload needs a clientKey.", {"clientKey": ["Missing."]})
    if str(claims.get("iss")) != str(body["clientKey"]):
        raise ConnectError("The install JWT was issued for another clientKey.")
    return body


def _token_key(request: WebhookRequest) -> str:
    # A redelivery repeats both the token and the body; a re-install later has a new token.
    digest = hashlib.sha256(request.headers.get("Authorization", "").encode() + b"\n" + request.body)
    return "jira-lifecycle:" + digest.hexdigest()


# -- configure page and the org link ----------------------------------------------------------

CONFIGURE_PAGE = """
<h1>Integration Hub for {{ site }}</h1>
{% if orgs %}<p>Connected to:
  {% for o in orgs %}<strong>{{ o.slug }}</strong>{% if not loop.last %}, {% endif %}{% endfor %}.
</p>{% endif %}
<p>To sync this Jira site with an organization, an owner or admin of that organization opens
<a href="{{ link }}" target="_blank" rel="noopener">this link</a> (valid for {{ minutes }} minutes).</p>
"""

LINK_PAGE = """
<h1>Connect {{ site }}</h1>
{% if done %}<p>{{ site }} is now connected to <strong>{{ done }}</strong>.</p>
{% else %}<form method="post">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  <label for="organization">Organization</label>
  <select id="organization" name="organization">
  {% for o in orgs %}<option value="{{ o.slug }}">{{ o.name }} ({{ o.slug }})</option>{% endfor %}
  </select>
  <button type="submit">Connect</button>
</form>{% endif %}
"""


def verify_page(request: WebhookRequest) -> Integration:
    """A page Jira loads in its iframe: a Connect JWT in ``?jwt=`` (``context-qsh`` accepted)."""
    return verify_connect_jwt(request, page=True)


def configure(request: WebhookRequest, integration: Integration) -> WebhookResponse:
    """The page Jira shows in its iframe: a signed, expiring link to attach the site to an org."""
    signed = services.sign({"integration_id": integration.id}, salt=LINK_SALT)
    link = f"{services.base_url().rstrip('/')}/extensions/jira/link/{signed}/"
    html = services.render(
        CONFIGURE_PAGE,
        title="Integration Hub",
        site=integration.name,
        link=link,
        minutes=LINK_MAX_AGE // 60,
        orgs=services.organizations_of(integration.id),
    )
    headers = {"Content-Type": "text/html; charset=utf-8",
               "Content-Security-Policy": _frame_ancestors(integration)}
    return WebhookResponse(status=200, body=html, headers=headers)


def _frame_ancestors(integration: Integration) -> str:
    """Only the installed Jira site may show this page in its iframe (every other hub page: nobody)."""
    parts = urlsplit(str((integration.metadata or {}).get("base_url") or ""))
    if parts.scheme in ("http", "https") and parts.netloc and all(c not in parts.netloc for c in " ;,'\""):
        return f"frame-ancestors {parts.scheme}://{parts.netloc}"
    return "frame-ancestors 'none'"


def verify_link(request: WebhookRequest) -> Integration:
    """The configure page's signed, expiring link: the installed site it names."""
    payload = services.unsign(request.params.get("signed", ""), salt=LINK_SALT, max_age=LINK_MAX_AGE)
    integration = services.get_integration_by_id(str(payload.get("integration_id") or "0"))
    if integration is None or integration.provider != KEY or integration.status == "disabled":
        raise ValidationError("This link names no installed Jira site.")
    return integration


def link_page(request: WebhookRequest, integration: Integration) -> WebhookResponse:
    """Let an owner/admin choose the org to attach the Jira site to (GET form, POST attach); the
    link proved which site, the hub session (or bearer token) who."""
    user = request.user
    if user is None:
        if request.method == "GET":
            return WebhookResponse(status=302, headers={"Location": f"/login?next={quote(request.path)}"})
        return WebhookResponse(status=401, json={"detail": "Log in to connect this Jira site.", "errors": {}})
    orgs = services.organizations_for_user(user.id)
    if not orgs:
        return WebhookResponse(
            status=403,
            json={
                "detail": "Only an owner or admin of an organization can connect this Jira site.",
                "errors": {},
            },
        )
    done = None
    if request.method == "POST":
        if not same_origin(request.headers):  # the core's check, as every page that acts for a login
            return WebhookResponse(
                status=403,
                json={"detail": "Connect the Jira site from this hub's own page.", "errors": {}},
            )
        slug = str(request.form.get("organization") or "")
        if slug not in {o["slug"] for o in orgs}:
            return WebhookResponse(
                status=403,
                json={
                    "detail": "Only an owner or admin of that organization can connect this Jira site.",
                    "errors": {"organization": ["Not an organization you administer."]},
                },
            )
        services.attach_integration(integration.id, slug, user.id)
        logger.info("jira.attached", extra={"integration": integration.id, "organization": slug})
        done = slug
    html = services.render(LINK_PAGE, title="Connect Jira", site=integration.name, orgs=orgs, done=done)
    return WebhookResponse(status=200, body=html, headers={"Content-Type": "text/html; charset=utf-8"})


def routes() -> list[Route]:
    """The app's endpoints (``webhook_routes``): each verified before its body is read."""
    return [
        # Public by design: Jira (and the admin uploading the app) fetch it before any secret exists.
        Route("descriptor/", ("GET",), verify=public, handle=descriptor, name="descriptor"),
        Route("installed/", ("POST",), verify=verify_install_jwt, handle=installed, name="installed"),
        Route("uninstalled/", ("POST",), verify=verify_install_jwt, handle=uninstalled, name="uninstalled"),
        Route("issue-updated/", ("POST",), verify=verify_connect_jwt, handle=changes.issue_updated,
              name="issue-updated"),
        Route("configure/", ("GET",), verify=verify_page, handle=configure, name="configure"),
        Route("link/<signed>/", ("GET", "POST"), verify=verify_link, handle=link_page, name="link"),
    ]


# -- manual install (POST /api/0/organizations/{org}/integrations/) ---------------------------


INSTALL_INFO = {
    "instructions": "In Jira: Settings → Apps → Manage apps → Settings: enable development mode, then "
                    "Upload app and paste the descriptor URL below. Jira installs the app, then open its "
                    "Configure page and follow the link to connect the site to this organization.",
    "links": [{"label": "Descriptor URL", "url": "/extensions/jira/descriptor/"}],
    "fields": [
        {"name": "base_url", "label": "Site URL", "type": "text", "required": True,
         "help": "e.g. https://example.atlassian.net"},
        {"name": "shared_secret", "label": "Shared secret", "type": "password", "required": True},
        {"name": "client_key", "label": "Client key", "type": "text"},
    ],
}

CONNECT_NAMES = {"baseUrl": "base_url", "sharedSecret": "shared_secret", "clientKey": "client_key"}


def manual_install(external_id: str, name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """Check the metadata of a site installed by hand (``base_url``, ``shared_secret``).

    Connect's own names (``baseUrl``, ``sharedSecret``, ``clientKey``, as in the ``installed``
    payload) are accepted too.

    :raises InstallError: a required key is missing or the base URL is not http(s).
    """
    metadata = {CONNECT_NAMES.get(key, key): value for key, value in metadata.items()}
    errors = {
        key: ["This field is required."] for key in ("base_url", "shared_secret") if not metadata.get(key)
    }
    if errors:
        raise InstallError("Jira Cloud needs base_url and shared_secret.", errors)
    base_url = str(metadata["base_url"]).rstrip("/")
    site = split_url(base_url)
    if site is None or site.scheme not in ("http", "https") or not site.netloc:
        raise InstallError(
            "base_url must be the site's URL, e.g. https://example.atlassian.net.",
            {"base_url": ["Not an http(s) URL."]},
        )
    return {
        "name": name or urlsplit(base_url).netloc,
        "metadata": {
            **metadata,
            "base_url": base_url,
            "shared_secret": str(metadata["shared_secret"]),
            "client_key": str(metadata.get("client_key") or external_id),
        },
    }


def verify_link_token(integration: Integration, token: str) -> bool:
    """A link token for this site: the configure page's signed link, or a Connect JWT from the site."""
    try:
        payload = services.unsign(token, salt=LINK_SALT, max_age=LINK_MAX_AGE)
        return str(payload.get("integration_id")) == str(integration.id)
    except ValidationError:
        return proves_control(integration, token)
