"""Cross-module flows use the core tests' fixtures (tests/hub/conftest.py)."""

from tests.hub.conftest import env  # noqa: F401 - the pytest fixture
