"""Jira Cloud and Jira Server answer the hooks they share with one implementation (plugins/jira/hooks.py),
each bound to its own client and install guide."""

from __future__ import annotations

import pytest

import plugins.jira as cloud
import plugins.jira_server as server
from plugins.jira import guide as cloud_guide
from plugins.jira.client import cloud_client
from plugins.jira.hooks import JiraHooks
from plugins.jira_server import guide as server_guide
from plugins.jira_server.client import server_client


@pytest.mark.parametrize(("module", "client", "guide"), [
    (cloud, cloud_client, cloud_guide.install_guide), (server, server_client, server_guide.install_guide)])
def test_each_jira_plugin_binds_the_shared_hooks_to_its_own_client(app, module, client, guide):
    for name in JiraHooks.NAMES:
        hook = getattr(module, name)
        assert hook.__name__ == name, f"{module.__name__}.{name} is {hook.__name__}"
        assert (hook.__self__.client, hook.__self__.guide) == (client, guide)
    registered = app.extensions["hub"].records[module.__name__.rsplit(".", 1)[1]].hooks
    assert set(JiraHooks.NAMES) <= set(registered)


def test_the_install_guides_stay_each_plugins_own(app):
    hook = app.extensions["hub"].hook
    base = "https://hub.example"
    cloud_steps = hook.get_install_guide(provider="jira", organization_slug="acme", base_url=base)
    server_steps = hook.get_install_guide(provider="jira_server", organization_slug="acme", base_url=base)
    assert cloud_steps["copy"][0]["value"] == f"{base}/extensions/jira/descriptor/"
    assert server_steps["buttons"][0]["url"] == f"{base}/extensions/jira_server/setup/?organization=acme"
