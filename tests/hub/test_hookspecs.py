"""The hook contract (hub/hookspecs.py): every hook documented; plugins get what the docstrings promise."""

from __future__ import annotations

from typing import Any

from hub import hookimpl


def test_every_hook_is_documented():
    import inspect

    from hub import hookspecs

    doc = open("docs/plugin_hooks.md").read()
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if not hasattr(fn, "hub_spec"):
            continue
        assert fn.__doc__ and "**Called**" in fn.__doc__ and "**Result**" in fn.__doc__, name
        signature = f"{name}({', '.join(inspect.signature(fn).parameters)})"
        assert signature in doc, f"docs/plugin_hooks.md lacks {signature}"


def test_ticket_metadata_and_status_as_documented(
    client: Any, factories: Any, register_plugin: Any, run_jobs: Any, requests_mock: Any,
) -> None:
    """hookspecs: ``metadata`` from get_external_issue comes back as ``external_issue.metadata``;
    ``status``/``projectId`` make ``hub reconcile`` call it outside any request."""
    seen: list[dict[str, Any]] = []
    ticket_status = {"id": "10", "category": "new"}

    class Docs:
        @hookimpl
        def provider_info(self) -> dict[str, Any]:
            return {"key": "docs", "name": "Docs", "features": ["issue-sync", "status-sync"]}

        @hookimpl
        def get_external_issue(self, integration: Any, key: str) -> dict[str, Any] | None:
            if integration.provider != "docs":
                return None
            return {"key": key, "title": "T", "url": "", "metadata": {"uuid": "u-1"},
                    "status": dict(ticket_status), "projectId": "P"}

        @hookimpl
        def sync_status_outbound(self, integration: Any, external_issue: Any, is_resolved: bool) -> None:
            if integration.provider == "docs":
                seen.append(dict(external_issue.metadata))

    register_plugin(Docs(), "docs")
    s = factories.setup()
    integration = factories.integration(s["org"], "docs", "d",
                                        config={"sync_status_forward": True, "sync_status_reverse": True})
    group = factories.group(s["project"])
    r = client.post(f"/api/0/organizations/acme/issues/{group.id}/external-issues/", headers=s["headers"],
                    json={"integrationId": str(integration.id), "action": "link", "externalIssue": "D-1"})
    assert r.status_code == 201, r.json
    r = client.put(f"/api/0/organizations/acme/issues/{group.id}/", headers=s["headers"],
                   json={"status": "resolved"})
    assert r.status_code == 200
    run_jobs()
    assert seen == [{"uuid": "u-1"}]
    out = client.application.test_cli_runner().invoke(args=["reconcile", "--org", "acme"])
    assert "D-1 (10): unresolved" in out.output, out.output
    r = client.get(f"/api/0/organizations/acme/issues/{group.id}/", headers=s["headers"])
    assert r.json["status"] == "unresolved"
