"""docs/architecture.md stays true: its tree lists every module under ``hub/`` and ``plugins/`` and nothing
that is gone, and its floors are exactly the layers of pyproject.toml's import-linter contract (which
tests/test_import_layers.py checks against the code)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
#: Folders the tree names without listing what is in them (templates, a stylesheet, one file per migration).
LEAVES = {"hub/migrations/", "hub/static/", "hub/web/templates/"}


def _block(heading: str) -> list[str]:
    """The lines of the first fenced block after ``## heading``."""
    text = DOC.read_text()
    section = text.split(f"\n## {heading}\n", 1)[1]
    return section.split("```\n", 2)[1].splitlines()


def _tree_paths(lines: list[str]) -> set[str]:
    """Each line ``<indent><name>  <what>`` as a path from the repository root (a folder ends with ``/``)."""
    paths: set[str] = set()
    parents: list[str] = []
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 2 == 0, f"odd indent: {line!r}"
        name = line.split()[0]
        parents = parents[: indent // 2]
        path = "".join(parents) + name
        paths.add(path)
        if name.endswith("/"):
            parents.append(name)
    return paths


def _modules_on_disk() -> set[str]:
    """Every module of ``hub`` and ``plugins`` as the tree names it: a package by its folder."""
    found: set[str] = set()
    for top in ("hub", "plugins"):
        for path in (ROOT / top).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if any(rel.startswith(leaf) for leaf in LEAVES):
                continue
            found.add(rel[: -len("__init__.py")] if path.name == "__init__.py" else rel)
    return found | {leaf for leaf in LEAVES if (ROOT / leaf).is_dir()}


def test_the_tree_lists_every_module_and_no_other():
    listed = _tree_paths(_block("The tree"))
    on_disk = _modules_on_disk()
    assert sorted(on_disk - listed) == [], "modules missing from docs/architecture.md's tree"
    assert sorted(listed - on_disk) == [], "docs/architecture.md's tree names modules that are gone"


def test_the_floors_are_the_import_linter_layers():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [floors] = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    lines = _block("The floors")[1:]  # under the header line
    documented = [re.split(r"\s{2,}", line.strip())[0] for line in lines]
    assert documented == [" ".join(layer.split()) for layer in floors["layers"]]


def test_each_core_test_file_is_named_after_the_hub_module_it_tests():
    """tests/hub mirrors hub/: ``test_<name>.py`` tests ``hub/<name>.py`` or the package ``hub/<name>/``."""
    modules = {p.stem for p in (ROOT / "hub").glob("*.py")} | {
        p.name for p in (ROOT / "hub").iterdir() if (p / "__init__.py").exists() or p.name == "migrations"}
    strays = [p.name for p in sorted((ROOT / "tests" / "hub").glob("test_*.py"))
              if p.stem.removeprefix("test_") not in modules]
    assert strays == [], "cross-module flows go to tests/flows/"
