"""The v2 routing table: each provider's ``webhook_routes()``, matched by werkzeug.

Built once per app from the plugins that own a provider; a provider whose plugin declares no
routes keeps the v1 ``on_webhook`` path. The table answers "which route, with which
variables" or "404" / "405 with these methods"; :mod:`hub.webhooks` does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from hub.types import Route, WebhookRequest


def public(request: WebhookRequest) -> None:
    """The verifier of a route that needs no proof: a descriptor, a page that checks its own
    login or signed link, an OAuth callback that checks its ``state``. Say why in the route."""
    return None


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]


@dataclass(frozen=True)
class NoMatch:
    status: int  # 404 or 405
    allow: tuple[str, ...] = ()


class RouteTable:
    """One provider's routes as a werkzeug map (strict slashes as declared, no redirects)."""

    def __init__(self, provider: str, routes: list[Route]) -> None:
        self.provider = provider
        self.routes = list(routes)
        rules = []
        for index, route in enumerate(self.routes):
            methods = tuple(m.upper() for m in route.methods)
            if not methods:
                raise ValueError(f"{provider}: route {route.path!r} names no method")
            rules.append(Rule("/" + route.path.lstrip("/"), methods=methods, endpoint=index,
                              strict_slashes=False, merge_slashes=False))
        self._map = Map(rules, strict_slashes=False, redirect_defaults=False, merge_slashes=False)
        self._adapter = self._map.bind("hub.invalid", "/")

    def match(self, path: str, method: str) -> Match | NoMatch:
        try:
            index, params = self._adapter.match("/" + path, method=method.upper())
        except MethodNotAllowed as e:
            return NoMatch(405, tuple(sorted(e.valid_methods or ())))
        except NotFound:
            return NoMatch(404)
        return Match(self.routes[index], {k: str(v) for k, v in params.items()})


def build(pm: Any, records: dict[str, Any]) -> dict[str, RouteTable]:
    """Provider key → its table, from each owning plugin's ``webhook_routes()``."""
    tables: dict[str, RouteTable] = {}
    for impl in pm.hook.webhook_routes.get_hookimpls():
        record = records.get(impl.plugin_name)
        provider = (record.provider or {}).get("key") if record is not None else None
        if not provider:
            continue  # routes live under a provider's prefix: a plugin owning none has none
        routes = impl.function() or []
        if routes:
            tables[provider] = RouteTable(provider, list(routes))
    return tables
