"""The app's routes as (method, template) pairs, and each /api/v1 route's roles in its OpenAPI document.

FastAPI nests included routers; `iter_route_contexts` (where this FastAPI has it) flattens them into
the routes a request can match, with their full templates. The role table itself is pure policy in
`access.model`; here it is only shown to API readers (`x-roles` and a line of each operation's description).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi import routing as fastapi_routing

from microfactory.access.model import V1, declared_roles


def all_routes(app: FastAPI) -> Iterator[tuple[str, str, Any]]:
    """(method, path template, route) for every route of the app; HEAD is folded into GET."""
    flatten = getattr(fastapi_routing, "iter_route_contexts", None)
    routes = flatten(app.routes) if flatten is not None else app.routes
    for route in routes:
        path = getattr(route, "path", None)
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD" and path is not None:
                yield method, path, route


ERROR_BODY = {
    "type": "object",
    "required": ["error", "problems"],
    "properties": {
        "error": {"type": "string"},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "message"],
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "reference": {"type": "string", "description": "of the logged traceback (500 only)"},
    },
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
WHY = {
    "401": "no bearer token, or an unknown or revoked one",
    "403": "the caller's role (or site, or channel) may not do this",
    "404": "a thing the request names does not exist",
    "409": "the state or a rule refuses the request",
    "413": "the body is larger than MICROFACTORY_MAX_BODY_BYTES",
    "422": "the request is not valid: every problem named, by place",
    "429": "too many requests from this client: try again after Retry-After seconds",
    "503": "busy (Retry-After), a setting is missing, or the database is unreachable",
}


def _errors_of(method: str) -> list[str]:
    """The error statuses an /api/v1 operation can answer, besides those it declares itself."""
    codes = ["401", "403", "404", "422", "503"]  # 404: a path id, or the loaded network, missing
    if method != "get":
        codes += ["409", "413"]
    return codes


def document_errors(schema: dict[str, Any]) -> None:
    """Every error the API answers has one shape (`api/errors.py`): declare it, with each status an
    operation can answer, so that clients (and schemathesis) know them all."""
    schema.setdefault("components", {}).setdefault("schemas", {})["ErrorBody"] = ERROR_BODY
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            codes = _errors_of(method) if path.startswith(V1) else []
            if path.startswith("/webhooks/"):
                codes = ["413", "429"]
            responses = operation.setdefault("responses", {})
            for code in (*codes, *(c for c in responses if c[0] in "45")):
                described = responses.setdefault(code, {})
                described.setdefault("description", WHY.get(code, "refused"))
                if "HTTPValidationError" in str(described.get("content", "HTTPValidationError")):
                    described["content"] = {"application/json": {"schema": ERROR_REF}}


def document_roles(app: FastAPI) -> None:
    """Show each /api/v1 operation's roles in the OpenAPI document (`x-roles`, and its description),
    and the errors it can answer (`document_errors`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI's own, cached while the routes stay the same
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                roles = declared_roles(method, path) if path.startswith(V1) else None
                if roles is not None and isinstance(operation, dict) and "x-roles" not in operation:
                    shown = sorted(roles)
                    operation["x-roles"] = shown
                    text = operation.get("description", "")
                    operation["description"] = f"{text}\n\nRoles: {', '.join(shown)}.".strip()
        if "ErrorBody" not in schema.get("components", {}).get("schemas", {}):
            document_errors(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
