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


def document_roles(app: FastAPI) -> None:
    """Show each /api/v1 operation's roles in the OpenAPI document (`x-roles`, and its description)."""
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
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
