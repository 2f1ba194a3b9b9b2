"""Check outbound HTTP requests captured in tests against the providers' official OpenAPI specs.

Usage (in a test that mocks a provider with requests-mock)::

    from tests.support.specs import assert_valid_requests, validate_request

    with requests_mock.Mocker() as m:
        m.post(requests_mock.ANY, json={"ok": True})
        ...  # exercise the hub
    assert assert_valid_requests("slack", m.request_history, "https://slack.com/api") > 0
    assert validate_request("discord", m.request_history[0]) == []    # else: a list of readable errors

Specs: ``"jira-cloud"``, ``"jira-dc"``, ``"slack"``, ``"discord"``. They are the harness copies that
``<shared>/tools/patch_specs.py`` derives from the official documents in ``<shared>/specs/`` (see
``<shared>/tools/README.md``), generated once into ``<repo>/.cache/specs/`` and re-generated when missing or
when the originals or the tool change. ``<shared>`` is ``$HUB_SHARED_DIR`` if set, else
``<repo>/../shared``.

What is checked, per request: the path exists in the spec (else ``"... not in spec"``), the method exists on
that path, path/query/header parameters (required ones present, values valid), the body against the schema
of its ``Content-Type`` (a content type the operation does not accept is an error), and the credentials the
operation's ``security`` requires (the *scheme*, e.g. ``Authorization: Bearer``; never the token's value).

URL mapping: each spec's paths live under a path root, :data:`SPEC_BASES` (``/api`` for Slack, ``/api/v10``
for Discord, nothing for Jira, whose spec paths already start with ``/rest/...``).
:func:`assert_valid_requests` strips the path of the ``base_url`` the hub was configured with and prepends
that root, so a mock at ``http://slack.test/api`` or a Jira DC site with a context path
(``https://jira.example.com/jira``) map correctly. :func:`validate_request` without ``base_url`` uses the
URL path as it is, and only if that is not in the spec, drops a prefix before the root (e.g. a Jira context
path ``/jira`` before ``/rest/``).

``allow_unlisted``: a set of path templates in the spec's path space (as error messages print them, e.g.
``"/rest/webhooks/1.0/webhook"`` or ``"/rest/webhooks/1.0/webhook/{id}"``; optionally prefixed with a
method, ``"POST /rest/webhooks/1.0/webhook"``) that a test accepts *consciously although the official spec
lacks them*. Such a request is not validated at all (there is nothing to validate it against); everything
else that is missing from the spec is an error. A listed template that *is* in the spec is validated
normally.

Corrections applied on top of the derived copies (in memory, see ``_OVERLAYS``; each one is tested):

* all specs: an ``oauth2``/``openIdConnect`` requirement means ``Authorization: Bearer <token>``
  (openapi-core otherwise accepts *any* request for such a requirement, which would switch security checks
  off);
* jira-cloud: every operation carries ``x-atlassian-connect-scope``, i.e. Atlassian Connect apps may call it
  with ``Authorization: JWT <token>``; the spec's ``securitySchemes`` omit that, so it is added as an
  alternative;
* jira-dc: Jira Server/DC also authenticates REST calls with OAuth 1.0a (application links, RSA-SHA1:
  ``Authorization: OAuth oauth_consumer_key=..., oauth_signature_method="RSA-SHA1", ...``); the spec only
  declares basic (and patch_specs adds bearer for personal access tokens), so an ``oauth1`` scheme is added as
  an alternative wherever basic is accepted (the scheme only; tests verify the signature themselves);
* jira-cloud and jira-dc: ``PUT .../issue/{issueIdOrKey}/assignee`` with ``{"accountId": null}`` (Cloud) or
  ``{"name": null}`` (DC) unassigns the issue - the Cloud operation's own description says so, as do Jira's
  Server/DC REST docs - but the body schemas do not allow the null; exactly that body is added as an
  alternative;
* discord: the ``BotToken`` scheme (an ``Authorization`` header) must read ``Bot <token>`` as Discord
  requires;
* slack: ``oauth.access``, ``oauth.token`` and ``oauth.v2.access`` exchange a code for a token: the official
  spec marks them scope ``none`` and they take no token, but the derived copy requires ``Authorization:
  Bearer``. Here they require client credentials instead (``client_id`` + ``client_secret`` fields, or HTTP
  Basic auth) and, as Slack only takes JSON bodies together with a bearer token, form-encoded (or query)
  parameters only;
* slack: for methods the official spec only lists as GET (``views.open``, ``views.publish``, ``dialog.open``
  ...), patch_specs mirrors a POST whose JSON flavour still types JSON-payload parameters (``view``,
  ``dialog``, ...) as strings; as patch_specs already does for native POST methods, they accept any JSON
  value there (slack_sdk sends ``view`` as an object).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from jsonschema_path import SchemaPath
from openapi_core.datatypes import RequestParameters
from openapi_core.security.exceptions import SecurityProviderError
from openapi_core.security.factories import SecurityProviderFactory
from openapi_core.security.providers import ApiKeyProvider, BaseProvider, HttpProvider
from openapi_core.templating.datatypes import TemplateResult
from openapi_core.templating.paths.datatypes import Path as _FoundPath
from openapi_core.templating.paths.exceptions import PathsNotFound
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.validation.request.validators import V30RequestValidator, V31RequestValidator
from werkzeug.datastructures import Headers, ImmutableMultiDict

__all__ = ["SPEC_BASES", "SPEC_NAMES", "validate_request", "assert_valid_requests", "spec_path_for"]

#: Path root of each spec: the spec-side path that the provider's API base URL corresponds to.
SPEC_BASES: Mapping[str, str] = MappingProxyType(
    {
        "jira-cloud": "",  # paths /rest/api/3/...; base URL = the site, e.g. https://example.atlassian.net
        "jira-dc": "",  # paths /rest/api/2/..., /rest/agile/1.0/...; base URL = the site (with context path)
        "slack": "/api",  # paths /api/chat.postMessage; base URL https://slack.com/api
        "discord": "/api/v10",  # paths /api/v10/channels/{channel_id}/messages; base URL https://discord.com/api/v10
    }
)
SPEC_NAMES = tuple(SPEC_BASES)

# Where a URL path enters the spec's path space, for validate_request() without base_url (context paths).
_ANCHORS = {"jira-cloud": "/rest/", "jira-dc": "/rest/", "slack": "/api/", "discord": "/api/v10/"}

_REPO = Path(__file__).resolve().parents[2]
_CACHE_DIR = _REPO / ".cache" / "specs"
_HOST = "http://spec.invalid"  # every derived copy gets this one server; the path is matched by this module
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_LOCK = threading.RLock()
_LOADED: dict[str, _Spec] = {}


def shared_dir() -> Path:
    """The shared material: ``$HUB_SHARED_DIR`` or ``<repo>/../shared``."""
    env = os.environ.get("HUB_SHARED_DIR")
    return Path(env).resolve() if env else (_REPO / ".." / "shared").resolve()


# ---------------------------------------- derived copies (generated once)


def _stamp(shared: Path) -> str:
    """Identity of the inputs (tool + originals): size and mtime of each, plus where they are."""
    parts = [str(shared)]
    for p in [shared / "tools" / "patch_specs.py", *sorted((shared / "specs").glob("*.json"))]:
        st = p.stat()
        parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _ensure_derived() -> Path:
    """Generate ``<repo>/.cache/specs/*.json`` with patch_specs.py unless present and up to date."""
    shared = shared_dir()
    tool, src = shared / "tools" / "patch_specs.py", shared / "specs"
    if not tool.is_file():
        raise RuntimeError(f"patch_specs.py not found at {tool} (set HUB_SHARED_DIR to the shared directory)")
    stamp = _stamp(shared)
    stamp_file = _CACHE_DIR / ".stamp"
    wanted = [_CACHE_DIR / f"{n}.json" for n in SPEC_NAMES]
    try:
        if stamp_file.read_text() == stamp and all(p.is_file() for p in wanted):
            return _CACHE_DIR
    except OSError:
        pass
    _CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # Generate into a private directory and move the files in atomically: safe with parallel test workers.
    with tempfile.TemporaryDirectory(dir=_CACHE_DIR, prefix=".gen-") as tmp:
        proc = subprocess.run([sys.executable, str(tool), str(src), tmp], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"patch_specs.py failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        for p in wanted:
            os.replace(Path(tmp) / p.name, p)
        tmp_stamp = Path(tmp) / ".stamp"
        tmp_stamp.write_text(stamp)
        os.replace(tmp_stamp, stamp_file)
    return _CACHE_DIR


# ---------------------------------------- corrections (see module docstring)


def _operations(doc: dict):
    for path, item in doc["paths"].items():
        for method in _METHODS:
            if isinstance(item.get(method), dict):
                yield path, method, item[method]


def _overlay_all(doc: dict) -> None:
    # One server for every operation: this module decides which path is meant, not openapi-core's servers.
    doc["servers"] = [{"url": _HOST}]
    for item in doc["paths"].values():
        item.pop("servers", None)
        for method in _METHODS:
            if isinstance(item.get(method), dict):
                item[method].pop("servers", None)


def _allow_null_assignee(doc: dict, path: str, key: str) -> None:
    """Unassigning is ``PUT .../assignee`` with ``{key: null}``; the body schema does not allow the null."""
    media = doc["paths"][path]["put"]["requestBody"]["content"]["application/json"]
    media["schema"] = {
        "anyOf": [
            media["schema"],
            {
                "type": "object",
                "required": [key],
                "additionalProperties": False,
                "properties": {key: {"type": "string", "nullable": True, "enum": [None]}},
            },
        ]
    }


def _overlay_jira_dc(doc: dict) -> None:
    _allow_null_assignee(doc, "/rest/api/2/issue/{issueIdOrKey}/assignee", "name")
    # Jira Server/DC REST also accepts OAuth 1.0a (application links, RSA-SHA1): Atlassian's "OAuth for REST
    # APIs" DC docs; the spec's securitySchemes only declare basic. Added as an alternative wherever basic is.
    doc["components"]["securitySchemes"]["oauth1"] = {
        "type": "http",
        "scheme": "oauth",
        "description": "OAuth 1.0a RSA-SHA1 (Jira application links; added by tests/support/specs.py)",
    }
    for _, _, op in _operations(doc):
        sec = op.get("security")
        if sec and {"basic": []} in sec and {"oauth1": []} not in sec:
            op["security"] = [*sec, {"oauth1": []}]


def _overlay_jira_cloud(doc: dict) -> None:
    _allow_null_assignee(doc, "/rest/api/3/issue/{issueIdOrKey}/assignee", "accountId")
    doc["components"]["securitySchemes"]["connectJwt"] = {
        "type": "http",
        "scheme": "jwt",
        "description": "Atlassian Connect app JWT (added by tests/support/specs.py)",
    }
    for _, _, op in _operations(doc):
        sec = op.get("security")
        if sec and "x-atlassian-connect-scope" in op and {"connectJwt": []} not in sec:
            op["security"] = [*sec, {"connectJwt": []}]


def _overlay_discord(doc: dict) -> None:
    bot = doc["components"]["securitySchemes"].get("BotToken")
    if bot and bot.get("type") == "apiKey" and bot.get("name") == "Authorization":
        bot["x-hub-value-prefix"] = "Bot "


SLACK_TOKENLESS = frozenset({"/api/oauth.access", "/api/oauth.token", "/api/oauth.v2.access"})
_SLACK_JSON_PAYLOAD_NAMES = {"blocks", "attachments", "metadata", "view", "users", "channels"}


def _overlay_slack(doc: dict) -> None:
    for path, method, op in _operations(doc):
        if path in SLACK_TOKENLESS:
            op.pop("security", None)
            content = op.get("requestBody", {}).get("content", {})
            content.pop("application/json", None)
        elif (
            method == "post"
            and "get" in doc["paths"][path]
            and str(op.get("operationId", "")).endswith("_post")
        ):
            schema = (
                op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            )
            for name, prop in schema.get("properties", {}).items():
                if name in _SLACK_JSON_PAYLOAD_NAMES or "JSON" in prop.get("description", ""):
                    schema["properties"][name] = {"description": prop.get("description", "")}


_OVERLAYS = {
    "jira-cloud": _overlay_jira_cloud,
    "jira-dc": _overlay_jira_dc,
    "discord": _overlay_discord,
    "slack": _overlay_slack,
}


def _slack_client_credentials(req: _Req, template: str) -> list[str]:
    if template not in SLACK_TOKENLESS:
        return []
    fields = dict(req.query_pairs)
    if req.content_type.startswith("application/x-www-form-urlencoded") and req.body:
        fields.update(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
    auth = req.headers.get("Authorization", "")
    if (fields.get("client_id") and fields.get("client_secret")) or auth.lower().startswith("basic "):
        return []
    return [
        f"security: {template[5:]} needs the app's client credentials: client_id and client_secret "
        "form fields, or HTTP Basic auth (Authorization: Basic base64(client_id:client_secret))"
    ]


_EXTRA_CHECKS = {"slack": [_slack_client_credentials]}


# ---------------------------------------- security providers


class _BearerProvider(BaseProvider):
    """oauth2 / openIdConnect: the access token travels as ``Authorization: Bearer <token>``."""

    def __call__(self, parameters: RequestParameters) -> Any:
        auth = parameters.header.get("Authorization", "")
        kind, _, token = auth.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise SecurityProviderError("Missing bearer token.")
        return token


class _ApiKeyProvider(ApiKeyProvider):
    def __call__(self, parameters: RequestParameters) -> Any:
        value = super().__call__(parameters)
        prefix = self.scheme.get("x-hub-value-prefix")
        if prefix and not (
            isinstance(value, str) and value.startswith(str(prefix)) and value[len(prefix) :].strip()
        ):
            raise SecurityProviderError(f"api key must read '{prefix}<token>'")
        return value


class _SecurityFactory(SecurityProviderFactory):
    PROVIDERS = {
        "apiKey": _ApiKeyProvider,
        "http": HttpProvider,
        "oauth2": _BearerProvider,
        "openIdConnect": _BearerProvider,
    }


# ---------------------------------------- path finding


class _ExactPathsIterator:
    """openapi-core gets the path *template* this module matched (``request.path_pattern``): look it up
    directly instead of re-matching the URL against every path (faster; no other template can be picked)."""

    def __call__(self, name: str, spec: SchemaPath, base_url: str | None = None):
        paths = spec / "paths"
        if not paths.exists():
            raise PathsNotFound(paths.as_uri())
        template = name[len(_HOST) :] if name.startswith(_HOST) else name
        if template in paths:
            yield _FoundPath(paths / template, TemplateResult(template, {}))


class _ExactPathFinder(APICallPathFinder):
    paths_iterator = _ExactPathsIterator()


# ---------------------------------------- loaded spec


@dataclass
class _Template:
    path: str
    regex: re.Pattern
    names: tuple[str, ...]
    methods: frozenset[str]


def _compile_template(path: str) -> tuple[re.Pattern, tuple[str, ...]]:
    names: list[str] = []
    out = []
    for part in re.split(r"(\{[^}/]+\})", path):
        if part.startswith("{") and part.endswith("}"):
            names.append(part[1:-1])
            out.append("([^/]+)")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out)), tuple(names)


class _Spec:
    def __init__(self, name: str, doc: dict):
        self.name = name
        _overlay_all(doc)
        if name in _OVERLAYS:
            _OVERLAYS[name](doc)
        self.doc = doc
        self.schemes = doc.get("components", {}).get("securitySchemes", {})
        by_len: dict[int, list[_Template]] = {}
        for path, item in doc["paths"].items():
            regex, names = _compile_template(path)
            methods = frozenset(m for m in _METHODS if isinstance(item.get(m), dict))
            by_len.setdefault(path.count("/"), []).append(_Template(path, regex, names, methods))
        for lst in by_len.values():  # fewer variables = more concrete, as openapi-core and servers do
            lst.sort(key=lambda t: (len(t.names), -len(t.path)))
        self.by_len = by_len
        version = str(doc.get("openapi", ""))
        cls = V31RequestValidator if version.startswith("3.1") else V30RequestValidator
        self.validator = cls(
            SchemaPath.from_dict(doc),
            path_finder_cls=_ExactPathFinder,
            security_provider_factory=_SecurityFactory(),
        )

    def match(self, path: str) -> list[tuple[_Template, dict[str, str]]]:
        hits = []
        for t in self.by_len.get(path.count("/"), ()):
            m = t.regex.fullmatch(path)
            if m:
                hits.append((t, {n: unquote(v) for n, v in zip(t.names, m.groups(), strict=True)}))
        return hits

    def describe_scheme(self, name: str) -> str:
        s = self.schemes.get(name, {})
        typ = s.get("type")
        if typ == "http":
            scheme = str(s.get("scheme", ""))
            scheme = {"jwt": "JWT", "oauth": "OAuth"}.get(scheme.lower(), scheme.capitalize())
            return f"{name} (Authorization: {scheme} ...)"
        if typ in ("oauth2", "openIdConnect"):
            return f"{name} (Authorization: Bearer ...)"
        if typ == "apiKey":
            return f"{name} ({s.get('in')} {s.get('name')}: {s.get('x-hub-value-prefix', '')}...)"
        return name


def _load(spec: str) -> _Spec:
    if spec not in SPEC_BASES:
        raise ValueError(f"unknown spec {spec!r}; expected one of {', '.join(SPEC_NAMES)}")
    loaded = _LOADED.get(spec)
    if loaded is None:
        with _LOCK:
            loaded = _LOADED.get(spec)
            if loaded is None:
                directory = _ensure_derived()
                with open(directory / f"{spec}.json", encoding="utf-8") as f:
                    loaded = _LOADED[spec] = _Spec(spec, json.load(f))
    return loaded


# ---------------------------------------- request adapter


class _Req:
    """A captured request in the shape openapi-core wants (openapi_core.protocols.Request + path_pattern)."""

    host_url = _HOST

    def __init__(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None):
        self.url = url
        self.method = method.lower()
        self.split = urlsplit(url)
        self.headers = Headers(list(headers.items()))
        self.body = body
        self.content_type = (self.headers.get("Content-Type") or "").lower()
        self.query_pairs = parse_qsl(self.split.query, keep_blank_values=True)
        cookies = SimpleCookie()
        try:
            cookies.load(self.headers.get("Cookie", ""))
        except Exception:  # noqa: BLE001 - an unparsable cookie header simply carries no cookies
            pass
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(self.query_pairs),
            header=self.headers,
            cookie=ImmutableMultiDict({k: v.value for k, v in cookies.items()}),
        )
        self.path = self.split.path
        self.path_pattern = self.path


def _adapt(request: Any) -> _Req | str:
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
    return _Req(method, url, dict(getattr(request, "headers", None) or {}), bytes(body) if body else None)


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


# ---------------------------------------- error formatting


def _schema_error_text(err: Any, where: str) -> str:
    def loc(e: Any) -> str:
        return where + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)

    msg = err.message
    if err.context:  # anyOf/oneOf: per branch, the error that got deepest into the value
        branches: dict[Any, list[Any]] = {}
        for e in err.context:
            branches.setdefault(e.schema_path[0] if e.schema_path else None, []).append(e)
        depth = len(err.absolute_path)
        notes = []
        for branch, errs in branches.items():
            best = max(_flatten(errs), key=lambda e: (len(e.absolute_path), e.validator != "type"))
            if len(best.absolute_path) == depth and best.validator == "type":
                continue  # the value is simply not of this branch's type (e.g. the "null" of a nullable)
            notes.append(f"branch {branch}: {loc(best)}: {best.message}")
        if notes:
            msg = f"{msg} ({'; '.join(notes)})"
    if len(msg) > 500:
        msg = msg[:500] + "..."
    return f"{loc(err)}: {msg}"


def _flatten(errors: Iterable[Any]) -> Iterable[Any]:
    for e in errors:
        yield e
        yield from _flatten(e.context or ())


def _format(exc: BaseException, spec: _Spec, label: str) -> list[str]:
    from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
    from openapi_core.templating.security.exceptions import SecurityNotFound
    from openapi_core.validation.request.exceptions import (
        InvalidParameter,
        MissingRequiredParameter,
        MissingRequiredRequestBody,
        RequestBodyValidationError,
        SecurityValidationError,
    )
    from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

    cause = exc.__cause__
    if isinstance(exc, SecurityValidationError) and isinstance(cause, SecurityNotFound):
        options = [" + ".join(spec.describe_scheme(n) for n in req) or "anonymous" for req in cause.schemes]
        return [
            f"{label}: security: credentials missing or of the wrong scheme; the spec accepts: "
            + " or ".join(options)
        ]
    if isinstance(exc, MissingRequiredParameter):
        return [f"{label}: missing required {exc.location} parameter {exc.name!r}"]
    if isinstance(exc, MissingRequiredRequestBody):
        return [f"{label}: the request body is required but missing"]
    if isinstance(exc, (InvalidParameter, RequestBodyValidationError)):
        where = f"{exc.location} parameter {exc.name!r}" if isinstance(exc, InvalidParameter) else "body"
        while (
            cause is not None
            and not isinstance(cause, (InvalidSchemaValue, MediaTypeNotFound))
            and cause.__cause__ is not None
        ):
            cause = cause.__cause__
        if isinstance(cause, InvalidSchemaValue):
            return [f"{label}: {_schema_error_text(e, where)}" for e in cause.schema_errors] or [
                f"{label}: {where}: {cause}"
            ]
        if isinstance(cause, MediaTypeNotFound):
            return [
                f"{label}: Content-Type {cause.mimetype or '(none)'!r} not accepted; "
                f"the spec accepts {', '.join(cause.availableMimetypes)}"
            ]
        return [f"{label}: {where}: {cause or exc}"]
    return [f"{label}: {exc}" + (f" ({cause})" if cause is not None else "")]


# ---------------------------------------- public API


def _allow_set(allow_unlisted: Iterable[str]) -> frozenset[str]:
    if isinstance(allow_unlisted, str):
        raise TypeError("allow_unlisted takes a set of path templates, not a single string")
    return frozenset(allow_unlisted)


def _allowed(allow_unlisted: Iterable[str], method: str, path: str) -> bool:
    for entry in allow_unlisted:
        want_method, _, template = entry.strip().rpartition(" ")
        if want_method and want_method.lower() != method:
            continue
        regex, _ = _compile_template(template)
        if regex.fullmatch(path):
            return True
    return False


def _validate(spec: str, request: Any, allow_unlisted: Iterable[str], base_url: str | None) -> list[str]:
    s = _load(spec)
    req = _adapt(request)
    if isinstance(req, str):
        return [req]
    label = f"{req.method.upper()} {req.url}"
    path = spec_path_for(spec, req.url, base_url)
    if path is None:
        return [f"{label}: not under base URL {base_url}"]
    hits = s.match(path)
    if not hits and base_url is None:
        anchor = _ANCHORS[spec]
        at = path.find(anchor, 1)
        if at > 0:  # e.g. a Jira context path: https://jira.example.com/jira/rest/api/2/...
            path = path[at:]
            hits = s.match(path)
    if not hits:
        if _allowed(allow_unlisted, req.method, path):
            return []
        return [
            f"{label}: path {path} not in spec {spec} (if the official spec genuinely lacks it, "
            f"accept it explicitly with allow_unlisted={{{path!r}}} using its template)"
        ]
    chosen = next(((t, v) for t, v in hits if req.method in t.methods), None)
    if chosen is None:
        allowed = sorted({m.upper() for t, _ in hits for m in t.methods})
        return [
            f"{label}: method {req.method.upper()} not in spec for {hits[0][0].path} "
            f"(the spec has {', '.join(allowed)})"
        ]
    template, variables = chosen
    label = f"{req.method.upper()} {template.path} ({req.url})"
    req.path_pattern = template.path
    req.parameters.path = variables
    errors: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openapi-core warns on deprecated parameters etc.
        for exc in s.validator.iter_errors(req):
            errors.extend(_format(exc, s, label))
    for check in _EXTRA_CHECKS.get(spec, ()):
        errors.extend(f"{label}: {e}" for e in check(req, template.path))
    return errors


def validate_request(
    spec: str, request: Any, *, allow_unlisted: Iterable[str] = frozenset(), base_url: str | None = None
) -> list[str]:
    """Validate one captured request against ``spec``; return ``[]`` when valid, else readable error strings.

    :param spec: ``"jira-cloud"``, ``"jira-dc"``, ``"slack"`` or ``"discord"``.
    :param request: an entry of ``requests_mock``'s ``request_history``, a ``requests.PreparedRequest`` or a
        ``requests.Request``.
    :param allow_unlisted: path templates (spec path space, optionally ``"METHOD /path"``) that the
        official spec lacks and the caller accepts unvalidated. Paths in the spec are always validated.
    :param base_url: the provider base URL the request was sent to; when given, the URL is mapped onto
        the spec's paths exactly as :func:`assert_valid_requests` does (else the URL path is used as is).
    """
    return _validate(spec, request, _allow_set(allow_unlisted), base_url)


def assert_valid_requests(
    spec: str, history: Iterable[Any], base_url: str, *, allow_unlisted: Iterable[str] = frozenset()
) -> int:
    """Validate every request in ``history`` whose URL is under ``base_url``; raise ``AssertionError``
    listing every invalid one with its errors; return how many requests were checked (allow-listed ones
    included).

    :param base_url: the provider base URL the hub was configured with, e.g. ``https://example.atlassian.net``,
        ``https://jira.example.com/jira``, ``http://slack.test/api``, ``https://discord.com/api/v10``.
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
