"""Recorded-payload replays are collected only with HUB_PAYLOADS_DIR (tests/support/recorded_payloads.py)."""

from tests.support.recorded_payloads import enabled

collect_ignore_glob = [] if enabled() else ["*/test_recorded_payloads.py"]
