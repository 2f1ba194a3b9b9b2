"""How the hub's own API contracts are written down and checked.

A :class:`Contract` lists the provider endpoints the hub calls, each an :class:`Endpoint`: method, path
template, JSON Schemas for path and query parameters, one JSON Schema of the decoded body per accepted
content type, and the credential schemes the provider takes there. Form bodies are checked as the string
fields they are; JSON bodies with their real types. Messages read like those of the official-spec check
(``missing required query parameter 'x'``, ``body.fields.description: 'plain' is not of type 'object'``),
so one assertion covers both.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from tests.support.captured import Captured, TemplateIndex

Schema = Mapping[str, Any]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# ---------------------------------------- JSON Schema helpers

_FORMATS = FormatChecker()


def _json_of_type(kind: type) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if not isinstance(value, str):
            return True
        try:
            return isinstance(json.loads(value), kind)
        except ValueError:
            return False

    return check


# A form field carrying JSON (Slack's ``blocks`` and ``view``): the string must decode to that shape.
_FORMATS.checks("json-array")(_json_of_type(list))
_FORMATS.checks("json-object")(_json_of_type(dict))


@_FORMATS.checks("absolute-url")
def _absolute_url(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value) is not None


def string(**kw: Any) -> dict[str, Any]:
    return {"type": "string", **kw}


def obj(
    properties: Mapping[str, Any], *, required: Iterable[str] = (), closed: bool = False, **kw: Any
) -> dict:
    """An object schema; ``closed``: no other properties allowed."""
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties), **kw}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


FORM_BOOLEAN = {"type": "string", "enum": ["true", "false", "1", "0"]}


# ---------------------------------------- credentials


@dataclass(frozen=True)
class Scheme:
    """A way of authenticating: ``shows`` is what an error message names, ``accepts`` the check."""

    name: str
    shows: str
    accepts: Callable[[Captured], bool]

    def describe(self) -> str:
        return f"{self.name} ({self.shows})"


def _authorization(req: Captured, kind: str) -> str | None:
    scheme, _, value = (req.headers.get("Authorization") or "").strip().partition(" ")
    return value.strip() if scheme.lower() == kind.lower() and value.strip() else None


def _basic(req: Captured) -> bool:
    value = _authorization(req, "Basic")
    try:
        user, sep, _ = base64.b64decode(value or "", validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return bool(value and sep and user)


def _jwt(req: Captured) -> bool:
    value = _authorization(req, "JWT") or ""
    return re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]*", value) is not None


def oauth1_params(req: Captured) -> dict[str, str]:
    """The parameters of an ``Authorization: OAuth k="v", ...`` header (empty if there is none)."""
    value = _authorization(req, "OAuth") or ""
    return {k: v for k, v in re.findall(r'([\w]+)="([^"]*)"', value)}


def oauth1(*also_required: str) -> Scheme:
    """OAuth 1.0a signed with RSA-SHA1 (Jira application links), with ``also_required`` parameters."""
    needed = ("oauth_consumer_key", "oauth_signature", "oauth_nonce", "oauth_timestamp", *also_required)

    def accepts(req: Captured) -> bool:
        params = oauth1_params(req)
        return params.get("oauth_signature_method") == "RSA-SHA1" and all(params.get(k) for k in needed)

    shows = 'Authorization: OAuth ... oauth_signature_method="RSA-SHA1"'
    if also_required:
        shows += ", with " + ", ".join(also_required)
    return Scheme("oauth1", shows, accepts)


BASIC = Scheme("basic", "Authorization: Basic ...", _basic)
BEARER = Scheme("bearer", "Authorization: Bearer ...", lambda r: _authorization(r, "Bearer") is not None)
CONNECT_JWT = Scheme("connect-jwt", "Authorization: JWT ...", _jwt)
BOT = Scheme("bot", "Authorization: Bot ...", lambda r: _authorization(r, "Bot") is not None)
CLIENT_CREDENTIALS_FIELDS = Scheme(
    "client credentials",
    "client_id and client_secret form fields",
    lambda r: bool(r.form().get("client_id") and r.form().get("client_secret")),
)
CLIENT_CREDENTIALS_BASIC = Scheme(
    "client credentials", "Authorization: Basic base64(client_id:client_secret)", _basic
)
NO_CREDENTIALS = Scheme(
    "none", "no Authorization header: the URL is the credential", lambda r: "Authorization" not in r.headers
)


# ---------------------------------------- endpoints


@dataclass(frozen=True)
class Endpoint:
    """One provider endpoint the hub calls, as the provider documents it."""

    method: str
    path: str
    auth: tuple[Scheme, ...]
    why: str = ""
    params: Mapping[str, Schema] = field(default_factory=dict)  # path variables
    query: Mapping[str, Schema] = field(default_factory=dict)
    required_query: tuple[str, ...] = ()
    body: Mapping[str, Schema] = field(default_factory=dict)  # content type -> schema of the decoded body


def _where(base: str, path: Iterable[Any]) -> str:
    return base + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in path)


def _schema_errors(schema: Schema, value: Any, where: str) -> list[str]:
    validator = Draft202012Validator(schema, format_checker=_FORMATS)
    errors = sorted(validator.iter_errors(value), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{_where(where, e.absolute_path)}: {e.message}" for e in errors]


class Contract:
    """The endpoints of one provider API that the hub calls."""

    def __init__(self, name: str, endpoints: Iterable[Endpoint]):
        self.name = name
        self.endpoints: dict[tuple[str, str], Endpoint] = {}
        paths: dict[str, set[str]] = {}
        for e in endpoints:
            key = (e.method.upper(), e.path)
            assert key not in self.endpoints, f"{name}: {key} listed twice"
            self.endpoints[key] = e
            paths.setdefault(e.path, set()).add(e.method.upper())
        self._index = TemplateIndex({p: frozenset(m) for p, m in paths.items()})

    def match(self, path: str):
        return self._index.match(path)

    def check(self, req: Captured, template: str, variables: Mapping[str, str]) -> list[str]:
        """Every way ``req`` breaks the endpoint's contract (``[]``: none)."""
        e = self.endpoints[(req.method, template)]
        errors: list[str] = []
        for name, value in variables.items():
            errors += _schema_errors(
                e.params.get(name, string(minLength=1)), value, f"path parameter {name!r}"
            )
        query = dict(req.query_pairs)
        for name in e.required_query:
            if name not in query:
                errors.append(f"missing required query parameter {name!r}")
        for name, value in query.items():
            if name not in e.query:
                errors.append(f"query parameter {name!r} is not in the contract (it takes {sorted(e.query)})")
            else:
                errors += _schema_errors(e.query[name], value, f"query parameter {name!r}")
        errors += self._check_body(req, e)
        if not any(s.accepts(req) for s in e.auth):
            errors.append(
                "security: credentials missing or of the wrong scheme; the contract accepts: "
                + " or ".join(s.describe() for s in e.auth)
            )
        return errors

    @staticmethod
    def _check_body(req: Captured, e: Endpoint) -> list[str]:
        if not e.body:
            return ["the endpoint takes no request body"] if req.body else []
        if not req.body:
            return ["the request body is required but missing"]
        if req.media_type not in e.body:
            return [
                f"Content-Type {req.media_type or '(none)'!r} not accepted; "
                f"the contract accepts {', '.join(e.body)}"
            ]
        if req.media_type == FORM:
            value: Any = req.form()
        else:
            try:
                value = req.json()
            except ValueError:
                return ["body: not valid JSON"]
        return _schema_errors(e.body[req.media_type], value, "body")
