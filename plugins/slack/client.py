"""The Slack Web API client: bot-token auth and Slack's ``ok: false`` error classification.

Slack answers most errors with HTTP 200 and ``{"ok": false, "error": "<name>"}``; the job
runner only understands :mod:`hub.errors`, so :meth:`SlackClient.check_response` turns each
error name into the exception that makes the core do the right thing (retry, mark the
integration as needing attention, or fail for good).
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

import requests
from urllib3.exceptions import LocationParseError
from urllib3.util import Url, parse_url

from hub import services
from hub.errors import ApiError, ApiUnauthorized
from hub.http import BaseApiClient

ERROR_NAME = re.compile(r"[a-z0-9_.]{1,64}")
#: Slack errors that go away by themselves: the job is retried.
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
#: Slack errors that mean the bot token no longer works: the org must re-install.
UNAUTHORIZED_ERRORS = frozenset(
    {
        "invalid_auth",
        "token_revoked",
        "account_inactive",
        "not_authed",
        "token_expired",
        "no_permission",
        "missing_scope",
        "org_login_required",
    }
)


class SlackClient(BaseApiClient):
    """Calls Slack's Web API (``HUB_SLACK_API_URL``) with the bot token of one integration.

    ``token=None`` is for the OAuth code exchange, which authenticates with client credentials.
    The token is only ever sent to the Web API, never to ``response_url`` hosts.
    """

    integration_name: ClassVar[str] = "slack"
    display_name: ClassVar[str] = "Slack"

    POST_MESSAGE = "/chat.postMessage"
    UPDATE_MESSAGE = "/chat.update"
    VIEWS_OPEN = "/views.open"
    AUTH_TEST = "/auth.test"
    OAUTH_ACCESS = "/oauth.v2.access"

    def __init__(self, token: str | None = None, base_url: str | None = None) -> None:
        super().__init__(base_url or services.config("HUB_SLACK_API_URL") or "https://slack.com/api")
        self._token = token

    def prepare(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token and (request.url or "").startswith(self.base_url + "/"):
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def check_response(self, response: requests.Response, data: Any) -> None:
        if not isinstance(data, dict) or data.get("ok", True):
            return
        error = str(data.get("error") or "unknown_error")
        if not ERROR_NAME.fullmatch(error):  # Slack's error names only; any other text is not shown
            error = "unknown_error"
        url = response.url.split("?")[0]
        if error in RETRYABLE_ERRORS:
            raise ApiError(f"slack: {error}", code=503, body=data, url=url)
        if error in UNAUTHORIZED_ERRORS:
            raise ApiUnauthorized(f"slack: {error}", code=401, body=data, url=url)
        raise ApiError(f"slack: {error}", code=400, body=data, url=url)

    # -- Web API methods ---------------------------------------------------------------------
    def post_message(self, channel: str, text: str, **fields: Any) -> dict[str, Any]:
        """``chat.postMessage``; ``fields`` are ``blocks``, ``thread_ts``, ``unfurl_links``..."""
        sent: dict[str, Any] = self.post(self.POST_MESSAGE, json={"channel": channel, "text": text, **fields})
        return sent

    def update_message(self, channel: str, ts: str, text: str, **fields: Any) -> dict[str, Any]:
        """``chat.update``: replace a message the bot posted (``fields`` are ``blocks``...)."""
        body = {"channel": channel, "ts": ts, "text": text, **fields}
        updated: dict[str, Any] = self.post(self.UPDATE_MESSAGE, json=body)
        return updated

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> dict[str, Any]:
        """``views.open``: show a modal to the user who clicked (within 3 s of the click).

        Form-encoded with ``view`` as a JSON-encoded string, as Slack's Web API reference specifies it.
        """
        opened: dict[str, Any] = self.post(
            self.VIEWS_OPEN, data={"trigger_id": trigger_id, "view": json.dumps(view)}
        )
        return opened

    def auth_test(self) -> dict[str, Any]:
        """``auth.test``: who the token belongs to (team, bot user)."""
        who: dict[str, Any] = self.post(self.AUTH_TEST)
        return who

    def oauth_access(self, code: str, redirect_uri: str) -> dict[str, Any]:
        """``oauth.v2.access``: exchange an install's code for the bot token (form-encoded)."""
        access: dict[str, Any] = self.post(
            self.OAUTH_ACCESS,
            data={
                "client_id": services.config("HUB_SLACK_CLIENT_ID") or "",
                "client_secret": services.config("HUB_SLACK_CLIENT_SECRET") or "",
                "code": code,
                "redirect_uri": redirect_uri,
            },
        )
        return access

    def respond(self, response_url: str, message: dict[str, Any]) -> Any:
        """POST to an interaction's ``response_url`` (replace the message, or say something ephemeral)."""
        if not is_slack_url(response_url):
            raise ApiError("slack: response_url is not a Slack URL", code=400, url=response_url.split("?")[0])
        return self.post(response_url, json=message, allow_text=True)


#: Slack's own hosts (and their subdomains): ``response_url`` values come from these, over https.
SLACK_DOMAINS = ("slack.com", "slack-gov.com")


def is_slack_url(url: str) -> bool:
    """Whether the hub may POST to ``url`` on Slack's behalf: an https URL on Slack's hosts, or any
    http(s) URL on the host of ``HUB_SLACK_API_URL`` (a self-hosted test double or proxy).

    The host is the one requests would connect to: the URL is prepared by requests itself and parsed
    with urllib3 (``https://127.0.0.1:8443\\@hooks.slack.com/x`` goes to 127.0.0.1, so it is refused).
    """
    target = _request_target(url)
    if target is None or target.auth or not target.host:
        return False
    host = target.host.lower().rstrip(".")
    if any(host == domain or host.endswith("." + domain) for domain in SLACK_DOMAINS):
        return target.scheme == "https" and target.port in (None, 443)
    api = _request_target(str(services.config("HUB_SLACK_API_URL") or ""))
    api_host = (api.host or "").lower().rstrip(".") if api else ""
    return bool(api_host) and target.scheme in ("http", "https") and host == api_host


def _request_target(url: str) -> Url | None:
    """``url`` as requests sends it (IDNA, quoting), split by urllib3; ``None`` when requests refuses it."""
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
        return parse_url(prepared.url or "")
    except (requests.exceptions.RequestException, LocationParseError, UnicodeError, ValueError):
        return None


def client_for(integration: Any) -> SlackClient:
    """The client of an installed integration (its decrypted bot token)."""
    return SlackClient(token=str(integration.metadata.get("access_token") or ""))
