"""The hub's own API contracts: exactly the provider endpoints the hub calls, written from the facts in the
providers' official specs and docs (see each module's docstring). They are checked in every test run;
``HUB_SPECS_DIR`` adds the official documents on top (see :mod:`tests.support.specs`).

A new provider call needs its :class:`~tests.support.contracts.model.Endpoint` here, or the tests that check
its requests fail with ``... not in spec``.
"""

from __future__ import annotations

from .discord import DISCORD
from .jira import JIRA_CLOUD, JIRA_DC
from .model import Contract
from .slack import SLACK, SLACK_RESPONSE_URL

CONTRACTS: dict[str, Contract] = {
    c.name: c for c in (JIRA_CLOUD, JIRA_DC, SLACK, SLACK_RESPONSE_URL, DISCORD)
}

__all__ = ["CONTRACTS", "Contract"]
