"""Regenerate the hooks' table and sections of docs/plugin_hooks.md from hub/hookspecs.py
(tests/hub/test_hookspecs.py checks they agree); the prose above the table is the document's own."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from hub import hookspecs

TABLE = "| hook | firstresult | called |\n|---|---|---|\n"
DOC = Path(__file__).resolve().parents[1] / "docs" / "plugin_hooks.md"


def _head() -> str:
    """The prose above the hooks' table, written by hand in the document itself (kept as it is)."""
    text = DOC.read_text()
    if TABLE not in text:
        raise SystemExit(f"{DOC}: no hooks table ({TABLE.splitlines()[0]!r}) to regenerate below")
    return text[: text.index(TABLE)]


def main() -> None:
    rows, details = [], []
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        opts = getattr(fn, "hub_spec", None)
        if opts is None:
            continue
        signature = f"{name}({', '.join(inspect.signature(fn).parameters)})"
        doc = inspect.getdoc(fn) or ""
        called = re.search(r"\*\*Called\*\*: (.*?)(?:\.\s|\.$)", doc, re.S)
        when = " ".join(called.group(1).split()) if called else ""
        line = fn.__code__.co_firstlineno
        rows.append((line, f"| `{signature}` | {'yes' if opts.get('firstresult') else 'no'} | {when} |"))
        details.append((line, f"## `{signature}`\n\n{doc}\n"))
    text = (_head() + TABLE + "\n".join(r for _, r in sorted(rows))
            + "\n\n" + "\n".join(d for _, d in sorted(details)))
    DOC.write_text(text)


if __name__ == "__main__":
    main()
