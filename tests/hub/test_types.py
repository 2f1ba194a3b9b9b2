"""The values handed to plugin hooks (hub/types.py)."""

from __future__ import annotations

import pytest

DEEP = b"[" * 100000 + b"]" * 100000


def test_webhook_request_json_refuses_deep_nesting_with_value_error():
    """Plugins catch ``ValueError`` from ``request.json()`` to answer 400; deep nesting must be one too."""
    from hub.types import WebhookRequest

    with pytest.raises(ValueError):
        WebhookRequest(method="POST", path="/extensions/x/", headers={}, body=DEEP).json()
