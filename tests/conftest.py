"""Suite-wide hooks: how outbound provider requests are checked (HUB_SPECS_DIR, tests/support/specs.py)."""

from tests.support.specs import pytest_configure, pytest_report_header  # noqa: F401 - pytest hooks
