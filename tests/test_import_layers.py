"""The import floors and the no-circle rule (pyproject.toml's ``[tool.importlinter]``), checked by
``lint-imports`` on the code as it is, and on a copy where one import closes a circle."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, **({"PYTHONPATH": str(pythonpath)} if pythonpath else {})}
    command = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_code_keeps_its_floors_and_closes_no_circle():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_an_import_that_closes_a_circle_fails_the_check(tmp_path):
    for name in ("hub", "plugins"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "static",
                                                                                    "templates"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    config = tmp_path / "hub" / "config.py"  # the floor; hub.egress already reads it
    config.write_text(config.read_text() + "\n\nfrom hub import egress  # noqa: E402,F401\n")
    result = _lint_imports(tmp_path, pythonpath=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no import circles BROKEN" in result.stdout and "hub floors BROKEN" in result.stdout
    assert "- .config -> .egress" in result.stdout or "- .egress -> .config" in result.stdout
