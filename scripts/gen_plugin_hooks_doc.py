"""Regenerate docs/plugin_hooks.md from hub/hookspecs.py (tests/hub check that they agree)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from hub import hookspecs

HEAD = """# Plugin hooks (plugin API v1)

A plugin is a module registered under the entry-point group `hub.plugins`; the entry point's name is the
provider key. Implement any subset of these hooks with `from hub import hookimpl`. Hooks are called with keyword
arguments only and an implementation may accept fewer arguments than listed. This API only grows: nothing is
renamed or removed in v1. The full contract of each hook is its docstring in `hub/hookspecs.py`; the functions a
plugin may call to change hub state are in `hub/services.py`; the values it receives are in `hub/types.py`; its
HTTP client base is `hub.http.BaseApiClient`.

"""


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
    text = (HEAD + "| hook | firstresult | called |\n|---|---|---|\n" + "\n".join(r for _, r in sorted(rows))
            + "\n\n" + "\n".join(d for _, d in sorted(details)))
    Path(__file__).resolve().parents[1].joinpath("docs", "plugin_hooks.md").write_text(text)


if __name__ == "__main__":
    main()
