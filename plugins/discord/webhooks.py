"""The endpoints Discord and browsers reach under ``/extensions/discord/`` (inbound v2 routes).

The core matches them (404; 405 with ``Allow``) and runs each verifier before the handler.
"""

from __future__ import annotations

from hub import Route, routes
from hub.identity import routes as identity_routes
from plugins.discord.identity import PAGE
from plugins.discord.install import handle_oauth
from plugins.discord.interactions import handle_interaction
from plugins.discord.verify import verify_interaction

ROUTES = [
    # Discord's interactions endpoint: Ed25519 over timestamp + raw body, checked before parsing.
    Route("interactions/", ("POST",), verify=verify_interaction, handle=handle_interaction,
          name="interactions"),
    # A browser: the install's start checks the hub login and the org role; Discord's redirect back
    # carries the signed, expiring ``state`` the start issued (checked against the login).
    Route("oauth/", ("GET",), verify=routes.public, handle=handle_oauth, name="oauth"),
    # A browser: the core's page checks the signed, expiring link (from /link) and the hub login;
    # its POST also needs the door's CSRF token and the same origin.
    *identity_routes(PAGE),
]
