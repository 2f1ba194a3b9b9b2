"""The guided install of a Jira Server: OAuth 1.0a (RSA-SHA1), as Sentry does it.

1. ``GET setup/?organization=<slug>`` — an owner/admin of the org (hub session or bearer
   token) enters the Jira base URL.
2. ``POST setup/`` — the hub makes an RSA key pair and a consumer key and shows what to paste
   into Jira's application link (Incoming Authentication).
3. ``POST setup/`` (``step=authorize``) — request token → the admin is sent to Jira to allow access.
4. ``GET oauth-callback/?oauth_token=&oauth_verifier=`` — access token → webhook registered →
   integration stored and attached to the org.

Flow state (the generated private key, the request token secret) lives in the hub's cache under
a random id for an hour; the browser only carries that id inside a token signed with the hub's
secret and bound to the user. Nothing is stored as an integration before Jira said yes.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import quote, urlencode

from hub import InstallError, WebhookResponse, services
from hub.errors import ApiError, ValidationError
from hub.types import User, WebhookRequest
from plugins.jira_server.client import (
    access_token,
    authorize_url,
    generate_key_pair,
    normalize_base_url,
    request_token,
)
from plugins.jira_server.install import connect, external_id_for
from plugins.jira_server.verify import KEY

logger = logging.getLogger("hub.plugins.jira_server")

SETUP_SALT = "jira_server.setup"
FLOW_TTL = 3600
FLOW_PREFIX = "jira_server:setup:"
TOKEN_PREFIX = "jira_server:oauth-token:"

FORM_PAGE = """
<h1>Connect a Jira Server to {{ org }}</h1>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
<form method="post" action="{{ action }}">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  <input type="hidden" name="state" value="{{ state }}">
  <p><label>Jira base URL <input name="base_url" value="{{ base_url }}" size="50"
     placeholder="https://jira.example.org"></label></p>
  <p><label><input type="checkbox" name="verify_ssl" value="1" {% if verify_ssl %}checked{% endif %}>
     Verify the server's TLS certificate</label></p>
  <p><button type="submit">Next</button></p>
</form>
"""

KEYS_PAGE = """
<h1>Create an application link in Jira</h1>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
<p>In {{ base_url }}, go to <em>Administration → Applications → Application links</em>, create a link to
<code>{{ hub_url }}</code> and, under <em>Incoming Authentication</em>, enter:</p>
<table>
  <tr><th>Consumer key</th><td><code>{{ consumer_key }}</code></td></tr>
  <tr><th>Consumer name</th><td>Integration Hub</td></tr>
  <tr><th>Public key</th><td><pre>{{ public_key }}</pre></td></tr>
</table>
<form method="post" action="{{ action }}">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  <input type="hidden" name="step" value="authorize">
  <input type="hidden" name="state" value="{{ state }}">
  <p><button type="submit">I created the link: authorize in Jira</button></p>
</form>
"""

MESSAGE_PAGE = """
<h1>{{ heading }}</h1>
<p{% if error %} class="error"{% endif %}>{{ message }}</p>
{% if link %}<p><a href="{{ link }}">{{ link_text }}</a></p>{% endif %}
"""


def _page(status: int, template: str, **context: Any) -> WebhookResponse:
    return WebhookResponse(status=status, body=services.render(template, title="Jira Server", **context),
                           headers={"Content-Type": "text/html; charset=utf-8"})


def _message(status: int, heading: str, message: str, **context: Any) -> WebhookResponse:
    return _page(status, MESSAGE_PAGE, heading=heading, message=message, error=status >= 400, **context)


def _setup_url() -> str:
    return f"{services.base_url().rstrip('/')}/extensions/{KEY}/setup/"


def _callback_url() -> str:
    return f"{services.base_url().rstrip('/')}/extensions/{KEY}/oauth-callback/"


def _admin_org(user: User, slug: str) -> dict[str, str] | None:
    org = services.get_organization(slug) if slug else None
    if org is None or services.org_role(user.id, org["id"]) not in ("owner", "admin"):
        return None
    return org


def _login(request: WebhookRequest) -> WebhookResponse:
    query = urlencode(list(request.query.items(multi=True)))
    target = request.path + (f"?{query}" if query else "")
    return WebhookResponse(status=302, headers={"Location": f"/login?next={quote(target)}"})


def _forbidden() -> WebhookResponse:
    return _message(
        403, "Not allowed", "Only an owner or admin of that organization can connect a Jira Server."
    )


def _load_flow(token: str, user: User) -> tuple[str, dict[str, Any]] | None:
    try:
        state = services.unsign(token, SETUP_SALT, max_age=FLOW_TTL)
    except ValidationError:
        return None
    if str(state.get("user")) != str(user.id) or not state.get("flow"):
        return None
    flow = services.cache_get(FLOW_PREFIX + str(state["flow"]), secret=True)
    if not isinstance(flow, dict) or str(flow.get("user")) != str(user.id):
        return None
    return str(state["flow"]), flow


def _expired() -> WebhookResponse:
    return _message(
        400, "Setup expired", "This setup link is not valid any more. Start again from the beginning."
    )


# -- steps ----------------------------------------------------------------------------------------


def setup(request: WebhookRequest, verified: None = None) -> WebhookResponse:
    """``setup/``: the form (GET), the keys page (POST) and the redirect to Jira (POST step=authorize)."""
    user = request.user
    if user is None:
        return _login(request) if request.method == "GET" else _message(
            401, "Log in first", "Log in to the hub, then start the setup again.")
    if request.method == "GET":
        org = _admin_org(user, request.query.get("organization", ""))
        if org is None:
            return _forbidden()
        state = services.sign({"user": user.id, "org": org["slug"]}, SETUP_SALT)
        return _page(
            200, FORM_PAGE, org=org["name"], state=state, action=_setup_url(), base_url="", verify_ssl=True
        )
    if request.form.get("step") == "authorize":
        return _authorize(request, user)
    return _generate_keys(request, user)


def _generate_keys(request: WebhookRequest, user: User) -> WebhookResponse:
    try:
        state = services.unsign(request.form.get("state", ""), SETUP_SALT, max_age=FLOW_TTL)
    except ValidationError:
        return _expired()
    if str(state.get("user")) != str(user.id):
        return _expired()
    org = _admin_org(user, str(state.get("org") or ""))
    if org is None:
        return _forbidden()
    verify_ssl = bool(request.form.get("verify_ssl"))
    try:
        base_url = normalize_base_url(request.form.get("base_url"))
    except InstallError as e:
        return _page(
            400,
            FORM_PAGE,
            org=org["name"],
            state=request.form.get("state", ""),
            action=_setup_url(),
            base_url=request.form.get("base_url", ""),
            verify_ssl=verify_ssl,
            error=e.message,
        )
    private_key, public_key = generate_key_pair()
    flow_id = secrets.token_urlsafe(16)
    flow = {"user": user.id, "org": org["slug"], "base_url": base_url, "verify_ssl": verify_ssl,
            "consumer_key": f"integration-hub-{secrets.token_hex(8)}", "private_key": private_key,
            "public_key": public_key}
    services.cache_set(FLOW_PREFIX + flow_id, flow, ttl=FLOW_TTL, secret=True)
    logger.info("jira_server.setup-started", extra={"organization": org["slug"], "user": user.id})
    return _keys_page(200, flow, services.sign({"user": user.id, "flow": flow_id}, SETUP_SALT))


def _keys_page(status: int, flow: dict[str, Any], state: str, error: str = "") -> WebhookResponse:
    return _page(status, KEYS_PAGE, base_url=flow["base_url"], hub_url=services.base_url(),
                 consumer_key=flow["consumer_key"], public_key=flow["public_key"], state=state,
                 action=_setup_url(), error=error)


def _authorize(request: WebhookRequest, user: User) -> WebhookResponse:
    state = request.form.get("state", "")
    loaded = _load_flow(state, user)
    if loaded is None:
        return _expired()
    flow_id, flow = loaded
    try:
        token, token_secret = request_token(flow["base_url"], flow["consumer_key"], flow["private_key"],
                                            _callback_url(), verify_ssl=flow["verify_ssl"])
    except (InstallError, ApiError) as e:
        message = getattr(e, "message", str(e))
        logger.info("jira_server.request-token-failed", extra={"organization": flow["org"]})
        return _keys_page(400, flow, state, error=f"Jira refused the request token: {message}. "
                                                  "Check the application link and try again.")
    services.cache_set(
        FLOW_PREFIX + flow_id,
        {**flow, "request_token": token, "request_token_secret": token_secret},
        ttl=FLOW_TTL,
        secret=True,
    )
    services.cache_set(TOKEN_PREFIX + token, flow_id, ttl=FLOW_TTL)
    return WebhookResponse(status=302, headers={"Location": authorize_url(flow["base_url"], token)})


def oauth_callback(request: WebhookRequest, verified: None = None) -> WebhookResponse:
    """``oauth-callback/``: Jira sends the admin back; trade the token and install."""
    user = request.user
    if user is None:
        return _login(request)
    token = request.query.get("oauth_token", "")
    flow_id = services.cache_get(TOKEN_PREFIX + token) if token else None
    flow = services.cache_get(FLOW_PREFIX + str(flow_id), secret=True) if flow_id else None
    if (
        not isinstance(flow, dict)
        or flow.get("request_token") != token
        or str(flow.get("user")) != str(user.id)
    ):
        return _expired()
    verifier = request.query.get("oauth_verifier", "")
    if not verifier or verifier == "denied":
        return _message(400, "Not authorized", "Access was not allowed in Jira, so nothing was installed.")
    org = _admin_org(user, flow["org"])
    if org is None:
        return _forbidden()
    try:
        token_value, token_secret = access_token(
            flow["base_url"],
            flow["consumer_key"],
            flow["private_key"],
            token,
            flow["request_token_secret"],
            verifier,
            verify_ssl=flow["verify_ssl"],
        )
        metadata = {"base_url": flow["base_url"], "consumer_key": flow["consumer_key"],
                    "private_key": flow["private_key"], "access_token": token_value,
                    "access_token_secret": token_secret, "verify_ssl": flow["verify_ssl"]}
        external_id = external_id_for(flow["base_url"], flow["consumer_key"])
        name = f"Jira Server ({flow['base_url'].split('://', 1)[-1]})"
        stored = connect(metadata, external_id, name)
    except (InstallError, ApiError) as e:
        message = getattr(e, "message", str(e))
        return _message(400, "Jira Server not installed", message)
    services.cache_set(TOKEN_PREFIX + token, None, ttl=1)  # the callback works once
    services.cache_set(FLOW_PREFIX + str(flow_id), None, ttl=1, secret=True)
    integration = services.save_integration(KEY, external_id, name, stored)
    services.attach_integration(integration.id, org["slug"], user.id)
    logger.info("jira_server.installed", extra={"integration": integration.id, "organization": org["slug"]})
    return _message(
        200,
        "Jira Server connected",
        f"{name} is now connected to {org['name']}.",
        link=f"/organizations/{org['slug']}/settings/integrations/",
        link_text="Integration settings",
    )
