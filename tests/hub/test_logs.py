"""Structured logs (hub/logs.py): JSON lines with the bound context, the request id, never a secret."""

from __future__ import annotations

import io
import json
import logging

from hub import logs


def test_log_lines_are_json_with_bound_context_and_no_secrets():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("hub.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # whatever level an earlier test's app left the "hub" logger at
    try:
        with logs.bound(request_id="r-1", organization="acme", integration=7):
            logger.info("thing.happened", extra={"access_token": "xoxb-secret", "count": 2})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    line = stream.getvalue().strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "thing.happened" and record["request_id"] == "r-1"
    assert record["organization"] == "acme" and record["integration"] == 7 and record["count"] == 2
    assert record["access_token"] == "[redacted]" and "xoxb-secret" not in line


def test_request_logs_carry_the_request_id(client, env, capsys):
    r = client.get(
        "/api/0/organizations/acme/issues/?status=bad", headers={**env["headers"], "X-Request-Id": "abc"}
    )
    assert r.headers["X-Request-Id"] == "abc"


def test_no_log_call_uses_a_reserved_record_attribute():
    """logging raises KeyError for extra={"thread": ...} and the like: a job would crash on a log line."""
    import ast
    import pathlib

    reserved = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
    root = pathlib.Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.joinpath("hub").rglob("*.py"), *root.joinpath("plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "extra" and isinstance(node.value, ast.Dict):
                offenders += [f"{path.name}:{node.value.lineno} {k.value}" for k in node.value.keys
                              if isinstance(k, ast.Constant) and k.value in reserved]
    assert offenders == []


def test_a_hub_db_upgrade_run_in_process_leaves_logging_whole(app, capfd):
    """``hub db upgrade`` loads alembic.ini's logging config: run by a CLI runner, its handler must not
    keep the runner's stream (closed afterwards: "--- Logging error ---" on every later record) nor
    print the hub's records a second time through the root logger."""
    out = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert out.exit_code == 0, out.output
    capfd.readouterr()
    logging.getLogger("alembic.runtime.migration").info("alembic.after")
    logging.getLogger("hub.test").warning("hub.after")
    err = capfd.readouterr().err
    assert "Logging error" not in err
    assert err.count("alembic.after") == 1 and err.count("hub.after") == 1, err
