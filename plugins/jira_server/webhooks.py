"""The Jira Server plugin's endpoints (``webhook_routes``): the guided setup and the webhook."""

from __future__ import annotations

from hub.routes import public
from hub.types import Route
from plugins.jira import changes
from plugins.jira_server import setup
from plugins.jira_server.verify import verify_request


def routes() -> list[Route]:
    """The provider's endpoints (``webhook_routes``)."""
    return [
        # The guided setup's pages check their own login (hub session or bearer token), the org
        # role, and the signed, user-bound state each step carries: no provider proof exists yet.
        Route("setup/", ("GET", "POST"), verify=public, handle=setup.setup, name="setup"),
        # Jira sends the admin's browser back here; the callback checks the login and that the
        # oauth_token is one this user's flow asked for (cached server-side, used once).
        Route("oauth-callback/", ("GET",), verify=public, handle=setup.oauth_callback, name="oauth-callback"),
        Route("issue-updated/<token>/", ("POST",), verify=verify_request, handle=changes.issue_updated,
              name="issue-updated"),
        # Without a token the URL proves nothing: the same 400 as a wrong one, not a 404.
        Route("issue-updated/", ("POST",), verify=verify_request, handle=changes.issue_updated,
              name="issue-updated"),
    ]
