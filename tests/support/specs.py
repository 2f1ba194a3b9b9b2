"""Check outbound HTTP requests captured in tests against the providers' API contracts.

Usage (in a test that mocks a provider with requests-mock)::

    from tests.support.specs import assert_valid_requests, validate_request

    with requests_mock.Mocker() as m:
        m.post(requests_mock.ANY, json={"ok": True})
        ...  # exercise the hub
    assert assert_valid_requests("slack", m.request_history, "https://slack.com/api") > 0
    assert validate_request("discord", m.request_history[0]) == []    # else: a list of readable errors

Specs: ``"jira-cloud"``, ``"jira-dc"``, ``"slack"``, ``"slack-response-url"``, ``"discord"``.

Two sources, one set of assertions:

* **contract** (every run): the hub's own request schemas for exactly the endpoints it calls,
  :mod:`tests.support.contracts` (method, path template, path/query parameters, body per content type,
  credential scheme).
* **official** (when ``HUB_SPECS_DIR`` names a folder of the providers' official OpenAPI documents): the
  same requests are also validated with openapi-core against those documents, see
  :mod:`tests.support.official_specs`. A folder that cannot be used stops the test run with one line
  (:func:`pytest_configure`, registered by ``tests/conftest.py``).

Each error names its source (``[contract] ...`` / ``[official] ...``); a request is valid when every active
source accepts it.

URL mapping: each spec's paths live under a path root, :data:`SPEC_BASES` (``/api`` for Slack, ``/api/v10``
for Discord, nothing for Jira, whose paths already start with ``/rest/...``).
:func:`assert_valid_requests` strips the path of the ``base_url`` the hub was configured with and prepends
that root, so a mock at ``http://slack.test/api`` or a Jira DC site with a context path
(``https://jira.example.com/jira``) map correctly. :func:`validate_request` without ``base_url`` uses the
URL path as it is, and only if that is not in the spec, drops a prefix before the root (e.g. a Jira context
path ``/jira`` before ``/rest/``).

``allow_unlisted``: path templates (e.g. ``"/rest/webhooks/1.0/webhook/{id}"``, optionally prefixed with a
method, ``"POST /rest/webhooks/1.0/webhook"``) that a test accepts *consciously although the official spec
lacks them*. It only concerns the official source: the hub's contracts list every endpoint the hub calls
and always validate them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest

from tests.support import official_specs
from tests.support.captured import Captured, capture, compile_template
from tests.support.contracts import CONTRACTS

__all__ = [
    "SPEC_BASES",
    "SPEC_NAMES",
    "validate_request",
    "assert_valid_requests",
    "spec_path_for",
    "active_sources",
]

#: Path root of each spec: the spec-side path that the provider's API base URL corresponds to.
SPEC_BASES: Mapping[str, str] = MappingProxyType(
    {
        "jira-cloud": "",  # paths /rest/api/3/...; base URL = the site, e.g. https://example.atlassian.net
        "jira-dc": "",  # paths /rest/api/2/..., /rest/webhooks/...; base URL = the site (with context path)
        "slack": "/api",  # paths /api/chat.postMessage; base URL https://slack.com/api
        "slack-response-url": "",  # paths /actions/T.../...; base URL = the response_url's host
        "discord": "/api/v10",  # paths /api/v10/channels/{channel_id}/messages; base URL https://discord.com/api/v10
    }
)
SPEC_NAMES = tuple(SPEC_BASES)

# Where a URL path enters the spec's path space, for validate_request() without base_url (context paths).
_ANCHORS = {"jira-cloud": "/rest/", "jira-dc": "/rest/", "slack": "/api/", "discord": "/api/v10/"}

ENV = "HUB_SPECS_DIR"
_REPO = Path(__file__).resolve().parents[2]
_CACHE_ROOT = _REPO / ".cache" / "specs"


class _Checker(Protocol):
    def match(self, path: str) -> list: ...

    def check(self, req: Captured, template: str, variables: Mapping[str, str]) -> list[str]: ...


class _Source:
    """Where specs come from: ``contract`` (the hub's own) or ``official`` (a folder of documents)."""

    def __init__(self, tag: str, load, honours_allow_list: bool):
        self.tag = tag
        self.load = load  # spec name -> _Checker | None (no document of that name)
        self.honours_allow_list = honours_allow_list


CONTRACT_SOURCE = _Source("contract", CONTRACTS.get, honours_allow_list=False)
_OFFICIAL: dict[Path, _Source] = {}
_LOCK = threading.Lock()


def official_source(specs_dir: Path, cache_root: Path = _CACHE_ROOT) -> _Source:
    """The official specs of ``specs_dir`` (one loader per folder and process)."""
    key = specs_dir.resolve()
    with _LOCK:
        if key not in _OFFICIAL:
            specs = official_specs.OfficialSpecs(key, cache_root)
            _OFFICIAL[key] = _Source("official", specs.load, honours_allow_list=True)
        return _OFFICIAL[key]


def specs_dir_from(environ: Mapping[str, str]) -> Path | None:
    value = (environ.get(ENV) or "").strip()
    return Path(value).expanduser().resolve() if value else None


def active_sources(environ: Mapping[str, str] = os.environ) -> tuple[_Source, ...]:
    """The hub's contracts, plus the official specs when ``HUB_SPECS_DIR`` names them."""
    specs_dir = specs_dir_from(environ)
    if specs_dir is None:
        return (CONTRACT_SOURCE,)
    problem = official_specs.problem_with(specs_dir)
    if problem:
        raise RuntimeError(problem)
    return (CONTRACT_SOURCE, official_source(specs_dir))


def pytest_configure(config: pytest.Config) -> None:
    """Stop the run with one line when ``HUB_SPECS_DIR`` names no usable folder."""
    specs_dir = specs_dir_from(os.environ)
    problem = official_specs.problem_with(specs_dir) if specs_dir else None
    if problem:
        raise pytest.UsageError(problem)


def pytest_report_header(config: pytest.Config) -> str:
    specs_dir = specs_dir_from(os.environ)
    extra = (
        f" + the official specs in {specs_dir}" if specs_dir else f" (set {ENV} to add the official specs)"
    )
    return "provider requests checked against: the hub's contracts" + extra


def spec_path_for(spec: str, url: str, base_url: str | None = None) -> str | None:
    """The spec-side path of ``url``: with ``base_url``, the base URL's path is replaced by the spec's root
    (:data:`SPEC_BASES`); ``None`` if ``url`` is not under ``base_url``."""
    root = SPEC_BASES[spec]
    u = urlsplit(url)
    if base_url is None:
        return u.path
    b = urlsplit(base_url)
    base_path = b.path.rstrip("/")
    if (u.scheme.lower(), u.netloc.lower()) != (b.scheme.lower(), b.netloc.lower()):
        return None
    if not (u.path == base_path or u.path.startswith(base_path + "/")):
        return None
    rel = u.path[len(base_path) :]
    if root and (rel == root or rel.startswith(root + "/")):
        return rel  # base_url was the bare host and the URL already carries the root
    return root + rel


# ---------------------------------------- validation


def _allow_set(allow_unlisted: Iterable[str]) -> frozenset[str]:
    if isinstance(allow_unlisted, str):
        raise TypeError("allow_unlisted takes a set of path templates, not a single string")
    return frozenset(allow_unlisted)


def _allowed(allow_unlisted: Iterable[str], method: str, path: str) -> bool:
    for entry in allow_unlisted:
        want_method, _, template = entry.strip().rpartition(" ")
        if want_method and want_method.upper() != method:
            continue
        regex, _ = compile_template(template)
        if regex.fullmatch(path):
            return True
    return False


def _check_one(
    source: _Source, spec: str, req: Captured, path: str, allow: frozenset[str], base_url: str | None
) -> list[str]:
    checker: _Checker | None = source.load(spec)
    if checker is None:
        return []  # this source has no document for the spec (the official specs lack Slack's response_url)
    tag = f"[{source.tag}]"
    hits = checker.match(path)
    if not hits and base_url is None and spec in _ANCHORS:
        at = path.find(_ANCHORS[spec], 1)
        if at > 0:  # e.g. a Jira context path: https://jira.example.com/jira/rest/api/2/...
            path = path[at:]
            hits = checker.match(path)
    if not hits:
        if source.honours_allow_list and _allowed(allow, req.method, path):
            return []
        hint = (
            f" (if the official spec genuinely lacks it, accept it with allow_unlisted={{{path!r}}})"
            if source.honours_allow_list
            else " (add the endpoint to tests/support/contracts/)"
        )
        return [f"{tag} {req.label}: path {path} not in spec {spec}{hint}"]
    chosen = next(((t, v) for t, v in hits if req.method in t.methods), None)
    if chosen is None:
        allowed = sorted({m for t, _ in hits for m in t.methods})
        return [
            f"{tag} {req.label}: method {req.method} not in spec for {hits[0][0].path} "
            f"(the spec has {', '.join(allowed)})"
        ]
    template, variables = chosen
    label = f"{tag} {req.method} {template.path} ({req.url})"
    return [f"{label}: {e}" for e in checker.check(req, template.path, variables)]


def _validate(
    spec: str,
    request: Any,
    allow_unlisted: Iterable[str],
    base_url: str | None,
    sources: Iterable[_Source] | None = None,
) -> list[str]:
    if spec not in SPEC_BASES:
        raise ValueError(f"unknown spec {spec!r}; expected one of {', '.join(SPEC_NAMES)}")
    req = capture(request)
    if isinstance(req, str):
        return [req]
    path = spec_path_for(spec, req.url, base_url)
    if path is None:
        return [f"{req.label}: not under base URL {base_url}"]
    errors: list[str] = []
    for source in active_sources() if sources is None else sources:
        errors += _check_one(source, spec, req, path, frozenset(allow_unlisted), base_url)
    return errors


def validate_request(
    spec: str, request: Any, *, allow_unlisted: Iterable[str] = frozenset(), base_url: str | None = None
) -> list[str]:
    """Validate one captured request against ``spec``; return ``[]`` when valid, else readable error strings.

    :param spec: one of :data:`SPEC_NAMES`.
    :param request: an entry of ``requests_mock``'s ``request_history``, a ``requests.PreparedRequest`` or a
        ``requests.Request``.
    :param allow_unlisted: path templates (spec path space, optionally ``"METHOD /path"``) that the
        official spec lacks and the caller accepts there unvalidated (the hub's contracts still check them).
    :param base_url: the provider base URL the request was sent to; when given, the URL is mapped onto
        the spec's paths exactly as :func:`assert_valid_requests` does (else the URL path is used as is).
    """
    return _validate(spec, request, _allow_set(allow_unlisted), base_url)


def assert_valid_requests(
    spec: str, history: Iterable[Any], base_url: str, *, allow_unlisted: Iterable[str] = frozenset()
) -> int:
    """Validate every request in ``history`` whose URL is under ``base_url``; raise ``AssertionError``
    listing every invalid one with its errors; return how many requests were checked.

    :param base_url: the provider base URL the hub was configured with, e.g. ``https://example.atlassian.net``,
        ``https://jira.example.com/jira``, ``http://slack.test/api``, ``https://discord.com/api/v10``,
        ``https://hooks.slack.com`` (for ``slack-response-url``).
    """
    allow = _allow_set(allow_unlisted)
    checked, failures = 0, []
    for request in history:
        url = getattr(request, "url", None)
        if not url or spec_path_for(spec, url, base_url) is None:
            continue
        checked += 1
        errors = _validate(spec, request, allow, base_url)
        if errors:
            failures.append("\n".join(["- " + errors[0], *("  " + e for e in errors[1:])]))
    if failures:
        raise AssertionError(
            f"{len(failures)} of {checked} request(s) to {base_url} violate the {spec} spec:\n"
            + "\n".join(failures)
        )
    return checked
