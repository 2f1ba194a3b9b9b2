"""Hypothesis fuzzing of every route under ``/extensions/<key>/`` of the four plugins (issue 10).

Each route gets bodies, query strings and path segments drawn from real payload shapes with
values replaced by anything JSON can hold (NUL, huge integers, lists for objects, deep nesting),
sent both signed (as the provider would) and unsigned. Whatever comes, the answer is never a 5xx,
and a refused request (4xx) writes nothing (delivery log aside).

CI runs a few hundred examples in all; a long run: ``HUB_FUZZ_EXAMPLES=2000 ./scripts/test
tests/plugins/test_webhook_fuzz.py`` (examples per route and mode).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests
import requests_mock as rm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugins.jira_server.verify import webhook_token
from tests.plugins.discord.conftest import SIGNING_KEY, component, sign
from tests.plugins.jira.conftest import (  # noqa: F401  (install_keys, rsa_key: fixtures)
    connect_token,
    install_keys,
    install_token,
    rsa_key,
)
from tests.plugins.jira.conftest import payload as jira_payload
from tests.plugins.jira_server.conftest import rsa_keys  # noqa: F401  (a fixture)
from tests.plugins.slack.helpers import SIGNING_SECRET, block_actions
from tests.plugins.slack.helpers import load as slack_load
from tests.plugins.test_bad_input import SERVER_ID, SERVER_SECRET, app, counts, s  # noqa: F401  (fixtures)

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "12"))

leaves = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**18, max_value=10**330)
          | st.floats() | st.text(max_size=40)
          | st.sampled_from(["\x00", "a\x00", "user:99999999999999999999", "http://[::1", "\u00b2", "42"]))
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)
deep = st.integers(min_value=900, max_value=3000).map(lambda n: "[" * n + "]" * n)


def mutated(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """``base`` with some of its fields (and their fields) replaced, or something else entirely."""
    def paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        found = [prefix] if prefix else []
        if isinstance(value, dict):
            for key, child in value.items():
                found += paths(child, (*prefix, key))
        return found

    def replace(data: Any, path: tuple[str, ...], new: Any) -> Any:
        if not path:
            return new
        if not isinstance(data, dict):
            return data
        return {**data, path[0]: replace(data.get(path[0]), path[1:], new)}

    all_paths = paths(base)

    @st.composite
    def edit(draw: Any) -> Any:
        data = json.loads(json.dumps(base))
        for path in draw(st.lists(st.sampled_from(all_paths), min_size=1, max_size=3)):
            data = replace(data, path, draw(values))
        return data

    return edit() | values


def as_json(data: Any) -> st.SearchStrategy[bytes]:
    return st.just(json.dumps(data).encode())


def json_bodies(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Bytes a JSON endpoint might get: an edited real payload, a deep one, or garbage."""
    return (mutated(base).flatmap(as_json)
            | deep.map(lambda d: ('{"type": 1, "x": ' + d + "}").encode())
            | st.binary(max_size=64))


def form_bodies(base: dict[str, str]) -> st.SearchStrategy[bytes]:
    fields = st.dictionaries(st.sampled_from(sorted(base)), st.text(max_size=30), max_size=4)
    return fields.map(lambda f: urlencode({**base, **f}).encode()) | st.binary(max_size=64)


def slack_payload_bodies(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    texts = mutated(base).map(json.dumps) | deep | st.text(max_size=30)
    return texts.map(lambda t: urlencode({"payload": t}).encode()) | st.binary(max_size=64)


# -- one route: how to build its request, signed or not ----------------------------------------------

Signer = Callable[[str, bytes], dict[str, str]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with ``{segment}`` for a drawn path segment
    bodies: st.SearchStrategy[bytes]
    content_type: str = "application/json"
    sign: Signer | None = None  # headers that make it the provider's request
    query: bool = False  # draw a query string too


def slack_sign(path: str, body: bytes) -> dict[str, str]:
    """Slack's v0 signature over any bytes (slack_sdk's helper only signs UTF-8)."""
    ts = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def discord_sign(path: str, body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    return {"X-Signature-Ed25519": sign(body, ts, SIGNING_KEY), "X-Signature-Timestamp": ts}


def connect_sign(path: str, body: bytes) -> dict[str, str]:
    return {"Authorization": f"JWT {connect_token('POST', path)}"}


COMMAND = {"token": "legacy", "team_id": "T0001", "channel_id": "C0ALERTS", "user_id": "U0123ABC",
           "command": "/hub", "text": "link", "response_url": "https://hooks.slack.com/commands/T0001/2/xyz",
           "trigger_id": "1.2.3"}
VIEW = slack_load("view_submission_resolve")
JIRA_UPDATED = jira_payload("issue_updated_status_done")

ROUTES: dict[str, Route] = {
    "slack action": Route("POST", "/extensions/slack/action/", slack_payload_bodies(block_actions(1)),
                          "application/x-www-form-urlencoded", slack_sign),
    "slack view": Route("POST", "/extensions/slack/action/", slack_payload_bodies(VIEW),
                        "application/x-www-form-urlencoded", slack_sign),
    "slack event": Route("POST", "/extensions/slack/event/", json_bodies(
        {"type": "event_callback", "team_id": "T0001", "event_id": "Ev1",
         "event": {"type": "app_uninstalled"}}),
        sign=slack_sign),
    "slack commands": Route("POST", "/extensions/slack/commands/", form_bodies(COMMAND),
                            "application/x-www-form-urlencoded", slack_sign),
    "slack oauth": Route("GET", "/extensions/slack/oauth/", st.just(b""), query=True),
    "slack link-identity": Route("POST", "/extensions/slack/link-identity/{segment}/", st.just(b""),
                                 query=True),
    "slack unlink-identity": Route("GET", "/extensions/slack/unlink-identity/{segment}/", st.just(b"")),
    "discord interactions": Route("POST", "/extensions/discord/interactions/",
                                  json_bodies(component("resolve:1")),
                                  sign=discord_sign),
    "discord oauth": Route("GET", "/extensions/discord/oauth/", st.just(b""), query=True),
    "discord link-identity": Route("POST", "/extensions/discord/link-identity/{segment}/", st.just(b"")),
    "jira issue-updated": Route("POST", "/extensions/jira/issue-updated/", json_bodies(JIRA_UPDATED),
                                sign=connect_sign),
    "jira installed": Route("POST", "/extensions/jira/installed/",
                            json_bodies(jira_payload("installed", eventType="installed"))),
    "jira uninstalled": Route("POST", "/extensions/jira/uninstalled/",
                              json_bodies(jira_payload("installed", eventType="uninstalled"))),
    "jira descriptor": Route("GET", "/extensions/jira/descriptor/", st.just(b""), query=True),
    "jira configure": Route("GET", "/extensions/jira/configure/", st.just(b""), query=True),
    "jira link": Route("POST", "/extensions/jira/link/{segment}/", st.just(b""), query=True),
    "jira_server issue-updated": Route("POST", "/extensions/jira_server/issue-updated/{segment}/",
                                       json_bodies(JIRA_UPDATED)),
    "jira_server setup": Route("POST", "/extensions/jira_server/setup/", form_bodies(
        {"step": "authorize", "base_url": "https://jira.example.org", "state": "x", "verify_ssl": "on"}),
        "application/x-www-form-urlencoded", query=True),
    "jira_server oauth-callback": Route("GET", "/extensions/jira_server/oauth-callback/", st.just(b""),
                                        query=True),
}

segments = st.text(max_size=40) | st.sampled_from(["a" * 40, "eyJhbGciOiJIUzI1NiJ9.e30.x"])
queries = st.dictionaries(st.sampled_from(["code", "state", "jwt", "guild_id", "organization", "oauth_token",
                                           "oauth_verifier", "next"]), st.text(max_size=40), max_size=3)


@pytest.fixture
def providers_unreachable(requests_mock: Any) -> None:
    """Any call to a provider fails to connect (registered first: Atlassian's key CDN still answers)."""
    requests_mock.register_uri(rm.ANY, re.compile(".*"), exc=requests.exceptions.ConnectionError)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_no_route_answers_5xx_and_a_refusal_writes_nothing(
        client, s, providers_unreachable, rsa_key, install_keys, name):  # noqa: F811
    route = ROUTES[name]

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(body=route.bodies, signed=st.booleans(), segment=segments, query=queries, bearer=st.booleans())
    def check(body: bytes, signed: bool, segment: str, query: dict[str, str], bearer: bool) -> None:
        path = route.path
        if "{segment}" in path:
            if signed and name == "jira_server issue-updated":
                segment = webhook_token(SERVER_ID, SERVER_SECRET)
            path = path.replace("{segment}", quote(segment, safe="") or "x")
        headers: dict[str, str] = dict(s["headers"]) if bearer else {}
        if signed and route.sign is not None:
            headers.update(route.sign(path, body))
        if signed and name in ("jira installed", "jira uninstalled"):
            headers["Authorization"] = f"JWT {install_token(rsa_key, path)}"
        url = f"{path}?{urlencode(query)}" if route.query and query else path
        before = counts()
        r = client.open(url, method=route.method, data=body, content_type=route.content_type, headers=headers)
        assert r.status_code < 500, (name, body[:200], r.get_data()[:300])
        if r.status_code >= 400:
            assert counts() == before, (name, r.status_code, body[:200])

    check()
