"""Slack on inbound v2: declared routes (404 / 405 with Allow), the signature checked before
anything is parsed, interactions answered before Slack's 3 s whatever its Web API does (the
redraw is a job), and the core's chat action refusing whoever the plugin let through."""

from __future__ import annotations

import ast
import time
from pathlib import Path

from hub import services
from hub.types import ChatAction, ChatIdentity
from tests.plugins.slack.helpers import (
    API,
    RESPONSE_URL,
    SLACK_USER,
    TEAM,
    activities,
    block_actions,
    form_body,
    issue,
    signed_headers,
)


def test_an_unknown_slack_path_is_a_404_json_error(client):
    for path in ("nope/", "action/extra/", "link-identity/"):
        r = client.post(f"/extensions/slack/{path}")
        assert r.status_code == 404, path
        assert r.json == {"detail": "Not found.", "errors": {}}


def test_a_wrong_method_is_a_405_naming_the_allowed_ones(client):
    for path in ("action/", "commands/", "event/"):
        r = client.get(f"/extensions/slack/{path}")
        assert r.status_code == 405, path
        assert r.headers["Allow"] == "POST"
        assert r.json["detail"] == "Method not allowed."
    r = client.delete("/extensions/slack/link-identity/sometoken/")
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "POST"}
    assert "DELETE" not in r.headers["Allow"]
    r = client.post("/extensions/slack/oauth/")
    assert r.status_code == 405
    assert "GET" in r.headers["Allow"] and "POST" not in r.headers["Allow"]


def test_a_bad_signature_is_refused_before_the_body_is_parsed(client, env, factories, requests_mock):
    """A body that would be a 400 once parsed is a 401 when unsigned: nothing of it was read."""
    factories.identity(env["integration"], SLACK_USER, env["jess"])
    bodies = (b"payload=%7Bnot-json", b"payload=" + b"%5B" * 5000, form_body(block_actions(env["group_id"])))
    for body in bodies:
        r = client.post("/extensions/slack/action/", data=body,
                        content_type="application/x-www-form-urlencoded",
                        headers=signed_headers(body, secret="not-the-secret"))
        assert r.status_code == 401
        assert r.json == {"detail": "Invalid Slack signature.", "errors": {}}
    r = client.post("/extensions/slack/commands/", data=b"team_id=T07HB2Q4Z&user_id=U1&text=link",
                    content_type="application/x-www-form-urlencoded")
    assert r.status_code == 401
    assert r.json["detail"] == "Missing or malformed Slack signature headers."
    assert issue(client, env, env["group_id"])["status"] == "unresolved"
    assert requests_mock.request_history == []


def _slow(seconds: float, answer: object):
    def callback(request, context):
        time.sleep(seconds)
        return answer
    return callback


def test_an_interaction_is_answered_at_once_while_slack_is_slow_and_the_redraw_runs_in_a_job(
    client, env, factories, slack, requests_mock, run_jobs
):
    factories.identity(env["integration"], SLACK_USER, env["jess"])
    requests_mock.post(RESPONSE_URL, text=_slow(3.2, "ok"))
    updated = {"ok": True, "channel": "C07ONCALL", "ts": "1.0"}
    requests_mock.post(f"{API}/chat.update", json=_slow(3.2, updated))

    started = time.monotonic()
    r = slack.action(block_actions(env["group_id"]))
    answered_in = time.monotonic() - started
    assert r.status_code == 200 and r.data == b""
    assert answered_in < 2.5, answered_in  # Slack gives up after 3 s; no Web API call was waited for
    assert requests_mock.request_history == []
    assert issue(client, env, env["group_id"])["status"] == "resolved"  # applied before the answer

    started = time.monotonic()
    run_jobs()
    assert time.monotonic() - started >= 3  # the slow call happened here, in the worker
    (update,) = requests_mock.request_history
    assert update.url == RESPONSE_URL
    assert update.json()["replace_original"] is True
    outcome = next(b for b in update.json()["blocks"] if b["block_id"] == "outcome")
    assert outcome["elements"][0]["text"] == f"Issue resolved by <@{SLACK_USER}>"


def test_the_core_refuses_a_chat_user_of_another_org_whatever_the_plugin_checked(env, factories):
    """``services.chat_action`` called directly (as a plugin that checks nothing would)."""
    other = factories.org("globex")
    eve = factories.member(other, "eve@globex.test", role="owner")
    factories.identity(env["integration"], "U0EVE", eve)
    integration = services.get_integration_by_id(env["integration_id"])
    assert integration is not None

    def act(user_id: str, group_id: str = env["group_id"], action: str = "resolve"):
        actor = ChatIdentity("slack", TEAM, user_id)
        return services.chat_action(integration, ChatAction(actor, group_id, action))

    result = act("U0EVE")
    assert (result.outcome, result.user.email) == ("not-member", "eve@globex.test")
    assert act("U0NOBODY").outcome == "link-identity"
    # an issue of an org that does not use this workspace, even for a member of that org
    globex_project = factories.project(other, "web")
    theirs = factories.group(globex_project, "KeyError: 'x'")
    assert act("U0EVE", str(theirs.id)).outcome == "not-found"
    assert services.get_group(str(theirs.id)).status == "unresolved"
    assert services.get_group(env["group_id"]).status == "unresolved"
    assert act("U0EVE", action="assign").outcome == "not-member"

    factories.identity(env["integration"], SLACK_USER, env["jess"])  # a member of acme: it applies
    assert act(SLACK_USER).outcome == "applied"
    assert services.get_group(env["group_id"]).status == "resolved"
    assert act(SLACK_USER).outcome == "unchanged"


def test_a_click_by_someone_of_another_org_changes_nothing_and_queues_no_redraw(
    client, env, factories, slack, requests_mock, run_jobs, outbox_entries
):
    eve = factories.member(factories.org("globex"), "eve@globex.test", role="owner")
    factories.identity(env["integration"], SLACK_USER, eve)
    r = slack.action(block_actions(env["group_id"]))
    assert r.status_code == 200
    assert "not a member of this issue's organization" in r.json["text"]
    run_jobs()
    assert outbox_entries("run_task") == []
    assert [a["type"] for a in activities(client, env, env["group_id"])] == ["first_seen"]
    assert requests_mock.request_history == []


def test_an_ordinary_event_is_recorded_once_by_its_event_id(client, slack, env):
    event = {"type": "event_callback", "team_id": TEAM, "event_id": "Ev77", "event": {"type": "app_mention"}}
    first = slack.event(event)
    assert first.status_code == 200 and first.json == {"detail": "accepted"}
    again = slack.event({**event, "event_time": 1})  # Slack's retry: another body, the same event id
    assert again.status_code == 200 and again.json["detail"] == "Already processed."
    listed = client.get("/api/0/organizations/acme/deliveries/", headers=env["headers"]).json
    mine = [d for d in listed if d["provider"] == "slack"]
    assert sorted(d["outcome"] for d in mine) == ["duplicate", "received"]
    assert {d["dedupeKey"] for d in mine} == {"Ev77"}
    assert all(d["changes"] == [] for d in mine)


def _imports(package: Path, name: str) -> dict[str, set[str]]:
    """Module → the modules of the package it imports (anywhere in it, local imports too)."""
    graph: dict[str, set[str]] = {}
    modules = {f"{name}.{p.stem}" if p.stem != "__init__" else name for p in package.glob("*.py")}
    for path in package.glob("*.py"):
        module = name if path.stem == "__init__" else f"{name}.{path.stem}"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name and t != module}
        graph[module] = found
    return graph


def test_no_import_cycle_inside_the_slack_plugin():
    import plugins.slack

    graph = _imports(Path(plugins.slack.__file__).parent, "plugins.slack")
    assert "plugins.slack.request" in graph and graph["plugins.slack.webhooks"]

    def cycle_from(start: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for nxt in sorted(graph.get(start, ())):
            if nxt in seen:
                return (*seen[seen.index(nxt):], nxt)
            found = cycle_from(nxt, (*seen, nxt))
            if found:
                return found
        return None

    cycles = [c for m in sorted(graph) if (c := cycle_from(m, (m,)))]
    assert cycles == []
    # the handlers share the request helpers, never the router
    for handler in ("actions", "commands", "events", "identity", "oauth"):
        assert "plugins.slack.webhooks" not in graph[f"plugins.slack.{handler}"]


def test_an_unlinked_user_asking_for_a_dialog_gets_the_link_prompt_and_no_modal(
    client, env, slack, requests_mock
):
    requests_mock.post(f"{API}/views.open", json={"ok": True, "view": {"id": "V0001"}})
    r = slack.action(
        block_actions(env["group_id"], action={"action_id": "resolve_dialog", "value": "resolve_dialog"})
    )
    assert r.status_code == 200
    assert r.json["response_type"] == "ephemeral"
    assert "/extensions/slack/link-identity/" in r.json["text"]
    assert requests_mock.request_history == []
    assert issue(client, env, env["group_id"])["status"] == "unresolved"
