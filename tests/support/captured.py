"""One captured outbound request, as every request checker reads it, and path-template matching.

Both checkers of :mod:`tests.support.specs` (the hub's own contracts and the providers' official specs) see
the same view of a request: method, URL, case-insensitive headers, raw body and its media type. Path
templates (``/channels/{channel_id}/messages``) are matched here once, the same way for both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from werkzeug.datastructures import Headers


class Captured:
    """A request as it left ``requests`` (a ``requests_mock`` history entry or a prepared request)."""

    def __init__(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None):
        self.method = method.upper()
        self.url = url
        self.split = urlsplit(url)
        self.path = self.split.path
        self.headers = Headers(list(headers.items()))
        self.body = body or None
        self.content_type = (self.headers.get("Content-Type") or "").lower()
        self.media_type = self.content_type.split(";", 1)[0].strip()
        self.query_pairs = parse_qsl(self.split.query, keep_blank_values=True)

    @property
    def label(self) -> str:
        return f"{self.method} {self.url}"

    def form(self) -> dict[str, str]:
        """The form fields of a form-encoded body (the last value of a repeated field)."""
        if self.media_type != "application/x-www-form-urlencoded" or not self.body:
            return {}
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def json(self) -> Any:
        """The decoded JSON body; ``ValueError`` when it is not JSON."""
        return json.loads((self.body or b"").decode("utf-8"))


def capture(request: Any) -> Captured | str:
    """A :class:`Captured` of ``request``, or a readable reason why it cannot be checked."""
    if hasattr(request, "prepare") and not hasattr(request, "body"):  # requests.Request
        request = request.prepare()
    method, url = getattr(request, "method", None), getattr(request, "url", None)
    if not method or not url:
        return f"cannot validate {request!r}: no method/url"
    body = getattr(request, "body", None)
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif body is not None and not isinstance(body, (bytes, bytearray)):
        return f"{method} {url}: body is a stream ({type(body).__name__}); cannot validate it"
    return Captured(method, url, dict(getattr(request, "headers", None) or {}), bytes(body) if body else None)


# ---------------------------------------- path templates


@dataclass(frozen=True)
class Template:
    path: str
    regex: re.Pattern
    names: tuple[str, ...]
    methods: frozenset[str]  # upper case


def compile_template(path: str) -> tuple[re.Pattern, tuple[str, ...]]:
    """``/a/{x}/b`` as a regex with one group per variable (a variable never spans a ``/``)."""
    names: list[str] = []
    out = []
    for part in re.split(r"(\{[^}/]+\})", path):
        if part.startswith("{") and part.endswith("}"):
            names.append(part[1:-1])
            out.append("([^/]+)")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out)), tuple(names)


class TemplateIndex:
    """Path templates by segment count; the most concrete template (fewest variables) first."""

    def __init__(self, paths: Mapping[str, frozenset[str]]):
        by_len: dict[int, list[Template]] = {}
        for path, methods in paths.items():
            regex, names = compile_template(path)
            by_len.setdefault(path.count("/"), []).append(Template(path, regex, names, methods))
        for templates in by_len.values():
            templates.sort(key=lambda t: (len(t.names), -len(t.path)))
        self._by_len = by_len

    def match(self, path: str) -> list[tuple[Template, dict[str, str]]]:
        hits = []
        for t in self._by_len.get(path.count("/"), ()):
            m = t.regex.fullmatch(path)
            if m:
                hits.append((t, {n: unquote(v) for n, v in zip(t.names, m.groups(), strict=True)}))
        return hits
