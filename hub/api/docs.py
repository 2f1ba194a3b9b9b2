"""``/api/0/openapi.json``, generated from the marshmallow schemas the endpoints validate with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

F = TypeVar("F", bound=Callable[..., Any])

#: (path, method, summary, request schema, response schema, status, many) per documented endpoint.
OPERATIONS: list[dict[str, Any]] = []


def doc(path: str, method: str, summary: str, *, body: type[Schema] | None = None,
        response: type[Schema] | None = None, status: int = 200, many: bool = False,
        auth: bool = True) -> Callable[[F], F]:
    """Record an endpoint for the OpenAPI document (declarative; no side effect on the view)."""

    def decorator(view: F) -> F:
        OPERATIONS.append({"path": path, "method": method.lower(), "summary": summary, "body": body,
                           "response": response, "status": status, "many": many, "auth": auth,
                           "operationId": view.__name__})
        return view

    return decorator


def build_spec(version: str, base_url: str) -> dict[str, Any]:
    spec = APISpec(title="Integration Hub API", version=version, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()], servers=[{"url": base_url}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=_error_schema())
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        operation: dict[str, Any] = {
            "summary": op["summary"],
            "operationId": op["operationId"],
            "responses": {},
        }
        params = [p.strip("{}") for p in op["path"].split("/") if p.startswith("{")]
        if params:
            operation["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params
            ]
        if op["body"] is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": op["body"]}},
            }
        ok: dict[str, Any] = {"description": "OK"}
        if op["response"] is not None:
            schema: Any = op["response"]
            ok["content"] = {
                "application/json": {"schema": {"type": "array", "items": schema} if op["many"] else schema}
            }
        operation["responses"][str(op["status"])] = ok
        for code in ("400", "401", "403", "404") if op["auth"] else ("400",):
            operation["responses"][code] = {
                "description": "Error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        if op["auth"]:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(op["path"], {})[op["method"]] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _error_schema() -> type[Schema]:
    from hub.api.schemas import ErrorOut

    return ErrorOut
