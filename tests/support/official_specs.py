"""The opt-in strict check: captured requests validated against the providers' official OpenAPI documents.

``HUB_SPECS_DIR`` names a folder of the official documents (``jira-cloud-platform-v3.json``,
``jira-software-dc-10.3.json``, ``slack-web-openapi-v2.json``, ``discord-openapi.json``) with the harness
tool ``../tools/patch_specs.py`` beside it, which derives validating copies once into
``<repo>/.cache/specs/`` (re-derived when the originals or the tool change); or a folder that already holds
the derived copies (``jira-cloud.json``, ``jira-dc.json``, ``slack.json``, ``discord.json``). Nothing of
those documents is part of the project.

What is checked, per request, with openapi-core: the path and method exist in the spec, path/query/header
parameters (required ones present, values valid), the body against the schema of its ``Content-Type`` (a
content type the operation does not accept is an error), and the credentials the operation's ``security``
requires (the *scheme*, e.g. ``Authorization: Bearer``; never the token's value).

Corrections applied on top of the derived copies (in memory, see ``_OVERLAYS``; each one is tested):

* all specs: an ``oauth2``/``openIdConnect`` requirement means ``Authorization: Bearer <token>``
  (openapi-core otherwise accepts *any* request for such a requirement, which would switch security checks
  off);
* jira-cloud: every operation carries ``x-atlassian-connect-scope``, i.e. Atlassian Connect apps may call it
  with ``Authorization: JWT <token>``; the spec's ``securitySchemes`` omit that, so it is added as an
  alternative;
* jira-dc: Jira Server/DC also authenticates REST calls with OAuth 1.0a (application links, RSA-SHA1); the
  spec only declares basic (and patch_specs adds bearer for personal access tokens), so an ``oauth1``
  scheme is added as an alternative wherever basic is accepted (the scheme only);
* jira-cloud and jira-dc: ``PUT .../issue/{issueIdOrKey}/assignee`` with ``{"accountId": null}`` (Cloud) or
  ``{"name": null}`` (DC) unassigns the issue - the Cloud operation's own description says so, as do Jira's
  Server/DC REST docs - but the body schemas do not allow the null; exactly that body is added;
* discord: the ``BotToken`` scheme (an ``Authorization`` header) must read ``Bot <token>``;
* slack: ``oauth.access``, ``oauth.token`` and ``oauth.v2.access`` exchange a code for a token with client
  credentials (``client_id`` + ``client_secret`` fields, or HTTP Basic auth), form-encoded only;
* slack: for methods the official spec only lists as GET (``views.open`` ...), JSON-payload parameters of
  the mirrored POST (``view``, ...) accept any JSON value (slack_sdk sends ``view`` as an object).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterable, Mapping
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

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
from werkzeug.datastructures import ImmutableMultiDict

from tests.support.captured import Captured, TemplateIndex

#: The derived copy of each spec (what patch_specs.py writes) and the official document it comes from.
DERIVED = {
    "jira-cloud": "jira-cloud-platform-v3.json",
    "jira-dc": "jira-software-dc-10.3.json",
    "slack": "slack-web-openapi-v2.json",
    "discord": "discord-openapi.json",
}
PATCHER = Path("..") / "tools" / "patch_specs.py"  # relative to the specs folder

_HOST = "http://spec.invalid"  # every derived copy gets this one server; the path is matched by this module
JSON = "application/json"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def problem_with(specs_dir: Path) -> str | None:
    """Why ``specs_dir`` cannot serve as the official specs (one line), or ``None``."""
    if not specs_dir.is_dir():
        return (
            f"HUB_SPECS_DIR={specs_dir}: no such folder (unset it to check against the hub's own contracts)"
        )
    if (specs_dir / PATCHER).is_file():
        missing = [f for f in DERIVED.values() if not (specs_dir / f).is_file()]
    else:
        missing = [f"{n}.json" for n in DERIVED if not (specs_dir / f"{n}.json").is_file()]
        if len(missing) == len(DERIVED):
            return (
                f"HUB_SPECS_DIR={specs_dir}: neither the derived copies "
                f"({', '.join(f'{n}.json' for n in DERIVED)}) nor {PATCHER} beside the official documents"
            )
    if missing:
        return f"HUB_SPECS_DIR={specs_dir}: missing {', '.join(missing)}"
    return None


class OfficialSpecs:
    """The official specs of one folder, derived (if need be) once and loaded lazily, thread-safe."""

    def __init__(self, specs_dir: Path, cache_root: Path):
        self.specs_dir = specs_dir.resolve()
        self.cache_dir = cache_root / hashlib.sha256(str(self.specs_dir).encode()).hexdigest()[:16]
        self._lock = threading.RLock()
        self._loaded: dict[str, OfficialSpec] = {}

    @property
    def patcher(self) -> Path | None:
        tool = (self.specs_dir / PATCHER).resolve()
        return tool if tool.is_file() else None

    def stamp(self) -> str:
        """Identity of the inputs (tool + originals): size and mtime of each, plus where they are."""
        tool = self.patcher
        assert tool is not None
        parts = [str(self.specs_dir)]
        for p in [tool, *(self.specs_dir / f for f in sorted(DERIVED.values()))]:
            st = p.stat()
            parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def derived_dir(self) -> Path:
        """Where the derived copies are: the folder itself, or the cache (generated when stale)."""
        problem = problem_with(self.specs_dir)
        if problem:
            raise RuntimeError(problem)
        tool = self.patcher
        if tool is None:
            return self.specs_dir
        stamp = self.stamp()
        stamp_file = self.cache_dir / ".stamp"
        wanted = [self.cache_dir / f"{n}.json" for n in DERIVED]
        try:
            if stamp_file.read_text() == stamp and all(p.is_file() for p in wanted):
                return self.cache_dir
        except OSError:
            pass
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # Generate into a private directory and move the files in atomically: safe with parallel test workers.
        with tempfile.TemporaryDirectory(dir=self.cache_dir, prefix=".gen-") as tmp:
            proc = subprocess.run(
                [sys.executable, str(tool), str(self.specs_dir), tmp], capture_output=True, text=True
            )
            if proc.returncode != 0:
                raise RuntimeError(f"{tool} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
            for p in wanted:
                os.replace(Path(tmp) / p.name, p)
            tmp_stamp = Path(tmp) / ".stamp"
            tmp_stamp.write_text(stamp)
            os.replace(tmp_stamp, stamp_file)
        return self.cache_dir

    def load(self, name: str) -> OfficialSpec | None:
        """The spec ``name``; ``None`` when the providers publish none for it (e.g. Slack's response_url)."""
        if name not in DERIVED:
            return None
        loaded = self._loaded.get(name)
        if loaded is None:
            with self._lock:
                loaded = self._loaded.get(name)
                if loaded is None:
                    with open(self.derived_dir() / f"{name}.json", encoding="utf-8") as f:
                        loaded = self._loaded[name] = OfficialSpec(name, json.load(f))
        return loaded


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
    media = doc["paths"].get(path, {}).get("put", {}).get("requestBody", {}).get("content", {}).get(JSON)
    if media is None:
        return
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
    doc.setdefault("components", {}).setdefault("securitySchemes", {})["oauth1"] = {
        "type": "http",
        "scheme": "oauth",
        "description": "OAuth 1.0a RSA-SHA1 (Jira application links; added by the hub's tests)",
    }
    for _, _, op in _operations(doc):
        sec = op.get("security")
        if sec and {"basic": []} in sec and {"oauth1": []} not in sec:
            op["security"] = [*sec, {"oauth1": []}]


def _overlay_jira_cloud(doc: dict) -> None:
    _allow_null_assignee(doc, "/rest/api/3/issue/{issueIdOrKey}/assignee", "accountId")
    doc.setdefault("components", {}).setdefault("securitySchemes", {})["connectJwt"] = {
        "type": "http",
        "scheme": "jwt",
        "description": "Atlassian Connect app JWT (added by the hub's tests)",
    }
    for _, _, op in _operations(doc):
        sec = op.get("security")
        if sec and "x-atlassian-connect-scope" in op and {"connectJwt": []} not in sec:
            op["security"] = [*sec, {"connectJwt": []}]


def _overlay_discord(doc: dict) -> None:
    bot = doc.get("components", {}).get("securitySchemes", {}).get("BotToken")
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


def _slack_client_credentials(req: Any, template: str) -> list[str]:
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


class OfficialSpec:
    """One derived spec with the corrections applied, and its openapi-core validator."""

    def __init__(self, name: str, doc: dict):
        self.name = name
        _overlay_all(doc)
        if name in _OVERLAYS:
            _OVERLAYS[name](doc)
        self.doc = doc
        self.schemes = doc.get("components", {}).get("securitySchemes", {})
        self._index = TemplateIndex(
            {
                path: frozenset(m.upper() for m in _METHODS if isinstance(item.get(m), dict))
                for path, item in doc["paths"].items()
            }
        )
        version = str(doc.get("openapi", ""))
        cls = V31RequestValidator if version.startswith("3.1") else V30RequestValidator
        self.validator = cls(
            SchemaPath.from_dict(doc),
            path_finder_cls=_ExactPathFinder,
            security_provider_factory=_SecurityFactory(),
        )

    def match(self, path: str):
        return self._index.match(path)

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

    def check(self, captured: Captured, template: str, variables: Mapping[str, str]) -> list[str]:
        """Every way the request breaks this spec's operation ``template`` (``[]``: none)."""
        req = _Req(captured, template, variables)
        errors: list[str] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openapi-core warns on deprecated parameters etc.
            for exc in self.validator.iter_errors(req):
                errors.extend(_format(exc, self))
        for check in _EXTRA_CHECKS.get(self.name, ()):
            errors.extend(check(req, template))
        return errors


# ---------------------------------------- request adapter


class _Req:
    """A captured request in the shape openapi-core wants (openapi_core.protocols.Request + path_pattern)."""

    host_url = _HOST

    def __init__(self, captured: Captured, template: str, variables: Mapping[str, str]):
        self.url = captured.url
        self.method = captured.method.lower()
        self.headers = captured.headers
        self.body = captured.body
        self.content_type = captured.content_type
        self.query_pairs = captured.query_pairs
        cookies = SimpleCookie()
        try:
            cookies.load(self.headers.get("Cookie", ""))
        except Exception:  # noqa: BLE001 - an unparsable cookie header simply carries no cookies
            pass
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(self.query_pairs),
            header=self.headers,
            cookie=ImmutableMultiDict({k: v.value for k, v in cookies.items()}),
            path=dict(variables),
        )
        self.path = captured.path
        self.path_pattern = template


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


def _format(exc: BaseException, spec: OfficialSpec) -> list[str]:
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
            "security: credentials missing or of the wrong scheme; the spec accepts: " + " or ".join(options)
        ]
    if isinstance(exc, MissingRequiredParameter):
        return [f"missing required {exc.location} parameter {exc.name!r}"]
    if isinstance(exc, MissingRequiredRequestBody):
        return ["the request body is required but missing"]
    if isinstance(exc, (InvalidParameter, RequestBodyValidationError)):
        where = f"{exc.location} parameter {exc.name!r}" if isinstance(exc, InvalidParameter) else "body"
        while (
            cause is not None
            and not isinstance(cause, (InvalidSchemaValue, MediaTypeNotFound))
            and cause.__cause__ is not None
        ):
            cause = cause.__cause__
        if isinstance(cause, InvalidSchemaValue):
            return [_schema_error_text(e, where) for e in cause.schema_errors] or [f"{where}: {cause}"]
        if isinstance(cause, MediaTypeNotFound):
            return [
                f"Content-Type {cause.mimetype or '(none)'!r} not accepted; "
                f"the spec accepts {', '.join(cause.availableMimetypes)}"
            ]
        return [f"{where}: {cause or exc}"]
    return [f"{exc}" + (f" ({cause})" if cause is not None else "")]
