"""Where tests.support.specs takes its specs from, and the official-spec adapter itself.

The adapter is exercised on small OpenAPI documents written here (shaped like the providers' ones), so these
tests run the same with or without ``HUB_SPECS_DIR``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import requests_mock

from tests.support import official_specs, specs

REPO = Path(__file__).resolve().parents[2]
OK = {"200": {"description": "ok"}}


def _doc(paths: dict, schemes: dict) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "test double", "version": "1"},
        "paths": paths,
        "components": {"securitySchemes": schemes},
    }


def _json_body(schema: dict, *extra_types: str) -> dict:
    content = {"application/json": {"schema": schema}}
    content.update({t: {"schema": schema} for t in extra_types})
    return {"required": True, "content": content}


DOCS = {
    "jira-cloud": _doc(
        {
            "/rest/api/3/myself": {
                "get": {
                    "security": [{"OAuth2": ["read:jira-user"]}],
                    "x-atlassian-connect-scope": "READ",
                    "responses": OK,
                }
            },
            "/rest/api/3/issue/{issueIdOrKey}/assignee": {
                "put": {
                    "parameters": [
                        {"name": "issueIdOrKey", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "security": [{"basicAuth": []}],
                    "requestBody": _json_body(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"accountId": {"type": "string"}},
                        }
                    ),
                    "responses": OK,
                }
            },
        },
        {
            "OAuth2": {
                "type": "oauth2",
                "flows": {
                    "implicit": {
                        "authorizationUrl": "https://auth.test/",
                        "scopes": {"read:jira-user": "read"},
                    }
                },
            },
            "basicAuth": {"type": "http", "scheme": "basic"},
        },
    ),
    "jira-dc": _doc(
        {"/rest/api/2/myself": {"get": {"security": [{"basic": []}], "responses": OK}}},
        {"basic": {"type": "http", "scheme": "basic"}},
    ),
    "slack": _doc(
        {
            "/api/oauth.v2.access": {
                "post": {
                    "security": [{"slackBearer": []}],
                    "requestBody": _json_body(
                        {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}},
                        "application/x-www-form-urlencoded",
                    ),
                    "responses": OK,
                }
            }
        },
        {"slackBearer": {"type": "http", "scheme": "bearer"}},
    ),
    "discord": _doc(
        {
            "/api/v10/guilds/{guild_id}": {
                "get": {
                    "parameters": [
                        {
                            "name": "guild_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[0-9]+$"},
                        }
                    ],
                    "security": [{"BotToken": []}],
                    "responses": OK,
                }
            }
        },
        {"BotToken": {"type": "apiKey", "in": "header", "name": "Authorization"}},
    ),
}


def write_derived(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in DOCS.items():
        (folder / f"{name}.json").write_text(json.dumps(doc))
    return folder


@pytest.fixture
def official(tmp_path):
    """An official source over the documents above (a folder of derived copies)."""
    return specs.official_source(write_derived(tmp_path / "derived"), cache_root=tmp_path / "cache")


def check(source, spec, method, url, allow=frozenset(), **kwargs):
    with requests_mock.Mocker() as m:
        m.register_uri(requests_mock.ANY, requests_mock.ANY, json={})
        requests.request(method, url, timeout=5, **kwargs)
    return specs._validate(spec, m.request_history[-1], frozenset(allow), None, sources=(source,))


def only(errors, *fragments):
    assert len(errors) == 1, errors
    assert errors[0].startswith("[official] "), errors[0]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


# ---------------------------------------- which sources are active


def test_the_hub_contracts_alone_without_hub_specs_dir(tmp_path):
    assert [s.tag for s in specs.active_sources({})] == ["contract"]
    assert [s.tag for s in specs.active_sources({"HUB_SPECS_DIR": " "})] == ["contract"]
    folder = write_derived(tmp_path / "derived")
    sources = specs.active_sources({"HUB_SPECS_DIR": str(folder)})
    assert [s.tag for s in sources] == ["contract", "official"]
    assert specs.active_sources({"HUB_SPECS_DIR": str(folder)})[1] is sources[1]  # loaded once per folder


def test_an_unusable_hub_specs_dir_is_one_clear_line(tmp_path):
    missing = tmp_path / "nothing-here"
    with pytest.raises(RuntimeError, match="no such folder"):
        specs.active_sources({"HUB_SPECS_DIR": str(missing)})
    assert "no such folder" in official_specs.problem_with(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "neither the derived copies" in official_specs.problem_with(empty)
    partial = write_derived(tmp_path / "partial")
    (partial / "slack.json").unlink()
    assert official_specs.problem_with(partial) == f"HUB_SPECS_DIR={partial}: missing slack.json"
    assert official_specs.problem_with(write_derived(tmp_path / "ok")) is None


def test_pytest_stops_with_one_line_when_hub_specs_dir_is_missing(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")},
           "HUB_SPECS_DIR": str(tmp_path / "no-specs")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "tests/support/test_specs.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert lines == [
        f"ERROR: HUB_SPECS_DIR={tmp_path / 'no-specs'}: no such folder (unset it to check against "
        "the hub's own contracts)"
    ]


# ---------------------------------------- derived copies: generated once, again when the inputs change


def test_official_documents_are_derived_once_and_cached(tmp_path):
    originals = tmp_path / "specs"
    originals.mkdir()
    for name in official_specs.DERIVED.values():
        (originals / name).write_text("{}")
    tools = tmp_path / "tools"
    tools.mkdir()
    runs = tmp_path / "runs.txt"
    tool = tools / "patch_specs.py"
    tool.write_text(
        "import json, shutil, sys\n"
        f"open({str(runs)!r}, 'a').write('run\\n')\n"
        f"for name in {sorted(DOCS)!r}:\n"
        f"    shutil.copy({str(write_derived(tmp_path / 'made'))!r} + '/' + name + '.json', sys.argv[2])\n"
    )
    loader = official_specs.OfficialSpecs(originals, tmp_path / "cache")
    assert official_specs.problem_with(originals) is None
    first = loader.derived_dir()
    assert first.parent == tmp_path / "cache" and (first / ".stamp").read_text() == loader.stamp()
    assert loader.derived_dir() == first and runs.read_text() == "run\n"
    assert loader.load("discord") is loader.load("discord")
    assert loader.load("slack-response-url") is None  # no official document

    time.sleep(0.01)
    tool.write_text(tool.read_text() + "# changed\n")
    assert official_specs.OfficialSpecs(originals, tmp_path / "cache").derived_dir() == first
    assert runs.read_text() == "run\nrun\n"

    tool.write_text("import sys; sys.exit(3)\n")
    with pytest.raises(RuntimeError, match=r"failed \(3\)"):
        official_specs.OfficialSpecs(originals, tmp_path / "cache").derived_dir()


# ---------------------------------------- corrections on top of the official documents


def test_oauth2_requirement_means_a_bearer_token_and_connect_apps_send_a_jwt(official):
    url = "https://example.atlassian.net/rest/api/3/myself"
    assert check(official, "jira-cloud", "GET", url, headers={"Authorization": "Bearer at-1"}) == []
    assert check(official, "jira-cloud", "GET", url, headers={"Authorization": "JWT a.b.c"}) == []
    only(
        check(official, "jira-cloud", "GET", url),
        "security",
        "OAuth2 (Authorization: Bearer ...)",
        "connectJwt (Authorization: JWT ...)",
    )
    only(check(official, "jira-cloud", "GET", url, headers={"Authorization": "Token x"}), "security")


def test_null_unassigns_and_nothing_else_is_added(official):
    url = "https://example.atlassian.net/rest/api/3/issue/APP-1/assignee"
    basic = ("me@example.com", "token")
    assert check(official, "jira-cloud", "PUT", url, json={"accountId": None}, auth=basic) == []
    assert check(official, "jira-cloud", "PUT", url, json={"accountId": "abc"}, auth=basic) == []
    only(
        check(official, "jira-cloud", "PUT", url, json={"accountId": None, "self": None}, auth=basic), "body"
    )
    # no Connect scope on this operation: a JWT is not an alternative here
    only(
        check(
            official,
            "jira-cloud",
            "PUT",
            url,
            json={"accountId": "a"},
            headers={"Authorization": "JWT a.b.c"},
        ),
        "security",
    )


def test_jira_dc_takes_oauth1_where_it_takes_basic(official):
    url = "https://jira.example.com/rest/api/2/myself"
    oauth = {"Authorization": 'OAuth oauth_consumer_key="hub", oauth_signature_method="RSA-SHA1"'}
    assert check(official, "jira-dc", "GET", url, headers=oauth) == []
    assert check(official, "jira-dc", "GET", url, auth=("jess", "pw")) == []
    only(check(official, "jira-dc", "GET", url), "security", "oauth1 (Authorization: OAuth ...)")


def test_discord_bot_token_must_read_bot(official):
    url = "https://discord.com/api/v10/guilds/42"
    assert check(official, "discord", "GET", url, headers={"Authorization": "Bot t0k3n"}) == []
    only(check(official, "discord", "GET", url, headers={"Authorization": "t0k3n"}), "security", "Bot ...")
    only(
        check(
            official,
            "discord",
            "GET",
            "https://discord.com/api/v10/guilds/x",
            headers={"Authorization": "Bot t"},
        ),
        "path parameter 'guild_id'",
    )


def test_slack_code_exchange_takes_client_credentials_and_forms_only(official):
    url = "https://slack.com/api/oauth.v2.access"
    assert (
        check(official, "slack", "POST", url, data={"code": "c", "client_id": "1", "client_secret": "s"})
        == []
    )
    assert check(official, "slack", "POST", url, data={"code": "c"}, auth=("1", "s")) == []
    only(check(official, "slack", "POST", url, data={"code": "c"}), "client credentials")
    errors = check(official, "slack", "POST", url, json={"code": "c", "client_id": "1", "client_secret": "s"})
    assert any("Content-Type 'application/json' not accepted" in e for e in errors), errors


def test_allow_unlisted_accepts_only_listed_templates_and_methods_the_spec_lacks(official):
    create = "https://jira.example.com/rest/webhooks/1.0/webhook"
    only(
        check(official, "jira-dc", "POST", create, json={}),
        "/rest/webhooks/1.0/webhook not in spec jira-dc",
        "allow_unlisted",
    )
    assert check(official, "jira-dc", "POST", create, {"/rest/webhooks/1.0/webhook"}, json={}) == []
    assert check(official, "jira-dc", "POST", create, {"POST /rest/webhooks/1.0/webhook"}, json={}) == []
    only(
        check(
            official,
            "jira-dc",
            "DELETE",
            f"{create}/10",
            {"POST /rest/webhooks/1.0/webhook", "PUT /rest/webhooks/1.0/webhook/{id}"},
        ),
        "not in spec",
    )
    assert check(official, "jira-dc", "DELETE", f"{create}/10", {"/rest/webhooks/1.0/webhook/{id}"}) == []
    # the allow-list never switches off validation of a path the spec has
    only(
        check(
            official, "jira-dc", "GET", "https://jira.example.com/rest/api/2/myself", {"/rest/api/2/myself"}
        ),
        "security",
    )
