"""The Jira REST client, shared by Jira Cloud and Jira Server / Data Center.

Cloud and Server differ in a handful of things only, so those live in a small *style*
object (as Sentry's ``JiraCloud`` / ``JiraServer``): the API root (REST v3 vs v2), the
user-id field (``accountId`` vs ``name``), how a request is authenticated, whether rich text
is Atlassian Document Format, and how users are searched. ``JiraClient`` itself only knows
endpoints.

A Jira Server plugin subclasses :class:`JiraStyle` (``api_root="/rest/api/2"``,
``user_id_field="name"``, ``user_search_param="username"``, ``rich_text=False``, an OAuth1
``prepare``) and builds ``JiraClient(base_url, style)``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from hub.http import BaseApiClient

from .connect import outbound_token


class JiraStyle:
    """What differs between Jira flavours. Subclass it; the defaults are Jira Cloud's REST v3."""

    api_root: ClassVar[str] = "/rest/api/3"
    user_id_field: ClassVar[str] = "accountId"
    user_search_param: ClassVar[str] = "query"
    rich_text: ClassVar[bool] = True  # descriptions and comments are ADF documents
    can_lookup_email: ClassVar[bool] = False  # GET /user/email exists (Cloud, with ACCESS_EMAIL_ADDRESSES)
    cache_prefix: ClassVar[str] = "jira"

    def prepare(self, client: JiraClient, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Authenticate one request; the base adds nothing."""
        return request

    def text(self, value: str) -> Any:
        """A description or comment body: ADF for REST v3, the plain string for v2."""
        return adf(value) if self.rich_text else value

    def user_ref(self, user_id: str | None) -> dict[str, Any]:
        """How a user field names a user: ``{"accountId": id}`` / ``{"name": name}``."""
        return {self.user_id_field: user_id}


class JiraCloud(JiraStyle):
    """Jira Cloud as an Atlassian Connect app: every request carries a fresh Connect JWT."""

    can_lookup_email = True

    def __init__(self, app_key: str, shared_secret: str, ttl: int = 180) -> None:
        self.app_key = app_key
        self._shared_secret = shared_secret
        self.ttl = ttl

    def __repr__(self) -> str:  # never show the secret
        return f"JiraCloud(app_key={self.app_key!r})"

    def prepare(self, client: JiraClient, request: requests.PreparedRequest) -> requests.PreparedRequest:
        # https://developer.atlassian.com/cloud/jira/platform/understanding-jwt-for-connect-apps/
        url = urlsplit(request.url or "")
        path = url.path
        context_path = urlsplit(client.base_url).path.rstrip("/")
        if context_path and path.startswith(context_path):
            path = path[len(context_path) :]
        token = outbound_token(
            self.app_key, self._shared_secret, request.method or "GET", path, url.query, ttl=self.ttl
        )
        request.headers["Authorization"] = f"JWT {token}"
        return request


def adf(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document Format document: one paragraph per line, URLs linked."""
    content: list[dict[str, Any]] = []
    for line in (text or "").split("\n"):
        nodes = [_adf_text(part) for part in _URL.split(line) if part]
        content.append({"type": "paragraph", "content": nodes} if nodes else {"type": "paragraph"})
    return {"type": "doc", "version": 1, "content": content}


_URL = re.compile(r"(https?://\S+)")


def _adf_text(part: str) -> dict[str, Any]:
    if _URL.fullmatch(part):
        return {"type": "text", "text": part, "marks": [{"type": "link", "attrs": {"href": part}}]}
    return {"type": "text", "text": part}


def adf_to_text(value: Any) -> str:
    """The text of an ADF document (or a plain string), for titles and previews."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if value.get("type") == "text":
            return str(value.get("text", ""))
        parts = [adf_to_text(child) for child in value.get("content") or []]
        joiner = "\n" if value.get("type") == "doc" else ""
        return joiner.join(parts)
    if isinstance(value, list):
        return "".join(adf_to_text(v) for v in value)
    return str(value)


class JiraClient(BaseApiClient):
    """Jira's REST API for one site; the style decides auth, API version and user ids."""

    integration_name = "jira"
    display_name = "Jira"

    ISSUE_URL: ClassVar[str] = "{root}/issue/{key}"
    CREATE_URL: ClassVar[str] = "{root}/issue"
    TRANSITIONS_URL: ClassVar[str] = "{root}/issue/{key}/transitions"
    ASSIGNEE_URL: ClassVar[str] = "{root}/issue/{key}/assignee"
    COMMENTS_URL: ClassVar[str] = "{root}/issue/{key}/comment"
    COMMENT_URL: ClassVar[str] = "{root}/issue/{key}/comment/{id}"
    USER_SEARCH_URL: ClassVar[str] = "{root}/user/search"
    STATUSES_URL: ClassVar[str] = "{root}/status"
    PROJECTS_URL: ClassVar[str] = "{root}/project"
    ISSUE_TYPES_URL: ClassVar[str] = "{root}/issuetype"
    EMAIL_URL: ClassVar[str] = "/rest/api/3/user/email"

    def __init__(
        self,
        base_url: str,
        style: JiraStyle,
        *,
        verify_ssl: bool = True,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(base_url, verify_ssl=verify_ssl, session=session)
        self.style = style

    def prepare(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return self.style.prepare(self, request)

    def _path(self, template: str, **kw: str) -> str:
        """The template under the style's API root, each value one escaped path segment."""
        return self.path(template.replace("{root}", self.style.api_root), **kw)

    # -- issues --------------------------------------------------------------------------------
    def get_issue(self, key: str) -> dict[str, Any]:
        issue: dict[str, Any] = self.get(self._path(self.ISSUE_URL, key=key))
        return issue

    def create_issue(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a ticket; returns ``{"id", "key", "self"}``."""
        created: dict[str, Any] = self.post(self._path(self.CREATE_URL), json={"fields": fields})
        return created

    def get_transitions(self, key: str) -> list[dict[str, Any]]:
        data = self.get(self._path(self.TRANSITIONS_URL, key=key)) or {}
        return list(data.get("transitions") or [])

    def transition(self, key: str, transition_id: str) -> None:
        self.post(self._path(self.TRANSITIONS_URL, key=key), json={"transition": {"id": str(transition_id)}})

    def assign(self, key: str, user_id: str | None) -> None:
        """Assign the ticket; ``None`` unassigns (``{"accountId": null}`` / ``{"name": null}``)."""
        self.put(self._path(self.ASSIGNEE_URL, key=key), json=self.style.user_ref(user_id))

    def add_comment(self, key: str, body: str) -> dict[str, Any]:
        comment: dict[str, Any] = self.post(
            self._path(self.COMMENTS_URL, key=key), json={"body": self.style.text(body)}
        )
        return comment

    def update_comment(self, key: str, comment_id: str, body: str) -> dict[str, Any]:
        comment: dict[str, Any] = self.put(
            self._path(self.COMMENT_URL, key=key, id=str(comment_id)), json={"body": self.style.text(body)}
        )
        return comment

    # -- users and statuses --------------------------------------------------------------------
    def search_users(self, email: str) -> list[dict[str, Any]]:
        """The matching users. Jira answers a list; a single user object (as the Data Center spec
        documents it) counts as a list of one, and anything that is not a user is dropped."""
        data = self.get(self._path(self.USER_SEARCH_URL), params={self.style.user_search_param: email})
        users = [data] if isinstance(data, dict) else list(data or [])
        return [user for user in users if isinstance(user, dict)]

    def get_user_email(self, account_id: str) -> str | None:
        """The email Jira Cloud hides from payloads (needs the ACCESS_EMAIL_ADDRESSES scope)."""
        data = self.get(self.EMAIL_URL, params={"accountId": account_id}) or {}
        return data.get("email") or None

    def changelog_user_email(self, user_id: str) -> str | None:
        """The email of a user a changelog's ``from`` / ``to`` names (Cloud: an accountId)."""
        return self.get_user_email(user_id)

    def get_projects(self) -> list[dict[str, Any]]:
        data = self.get(self._path(self.PROJECTS_URL))
        return [p for p in (data if isinstance(data, list) else []) if isinstance(p, dict)]

    def get_issue_types(self) -> list[dict[str, Any]]:
        data = self.get(self._path(self.ISSUE_TYPES_URL))
        types = data if isinstance(data, list) else []
        return [t for t in types if isinstance(t, dict) and not t.get("subtask")]

    def get_statuses(self) -> list[dict[str, Any]]:
        """Every status; one status object (the Data Center spec's shape) counts as a list of one."""
        data = self.get(self._path(self.STATUSES_URL))
        statuses = [data] if isinstance(data, dict) else list(data or [])
        return [status for status in statuses if isinstance(status, dict)]


def cloud_client(integration: Any) -> JiraClient:
    """The client of one Jira Cloud site (its ``base_url`` and Connect shared secret)."""
    from hub import services

    metadata = integration.metadata
    style = JiraCloud(str(services.config("HUB_JIRA_APP_KEY")), str(metadata["shared_secret"]))
    return JiraClient(str(metadata["base_url"]), style)
