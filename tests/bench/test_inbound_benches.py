"""CI runs the inbound benches briefly as smoke tests: each runs to the end on a throwaway SQLite
database and prints its figures; nothing is asserted about time (CI machines are shared)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_inbound_apply_bench_counts_statements_per_change():
    out = _run("bench/inbound_apply.py", "--sizes", "1,10", "--repeat", "2")
    counts = re.findall(r"(\d+) linked issue\(s\):\s+([\d.]+) statements/change", out)
    assert [size for size, _ in counts] == ["1", "10"], out
    assert counts[0][1] == counts[1][1], out  # constant however many issues are linked


def test_the_webhook_ack_bench_prints_the_ratio():
    out = _run("bench/webhook_ack.py", "--duration", "1")
    assert re.search(r"ratio jira_server issue_updated / bare: [\d.]+", out), out
    assert re.search(r"ratio jira \(Cloud\) issue_updated / bare: [\d.]+", out), out
    assert re.search(r"jira_server issue_updated .* non-2xx 0 ", out), (
        out
    )  # every delivery verified and recorded
    assert re.search(r"jira \(Cloud\) issue_updated .* non-2xx 0 ", out), out
    assert re.search(r"floor \(bare \+ one insert\) .* non-2xx 0 ", out), out  # the floor wrote every row
    assert re.search(r"ratio floor \(bare \+ one insert\) / bare: [\d.]+", out), out


def test_the_end_to_end_bench_applies_everything():
    out = _run("bench/inbound_e2e.py", "--rate", "20", "--seconds", "2")
    assert "non-2xx 0" in out and "left pending 0" in out, out
    assert re.search(r"applied 40 of 40", out), out
