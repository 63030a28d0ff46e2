"""Every route states who may call it (issue 16.4), and every role is refused what it may not call.

The role table is `access.model.ROUTE_ROLES` (each /api/v1 route) and `PUBLIC_ROUTES` (the
routes that take no bearer token, each with how it is protected instead). A new route without a
row fails `test_every_route_declares_its_role`; until it has one, only the admin may call it.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from microfactory.access.model import PUBLIC_ROUTES, ROLES, ROUTE_ROLES, V1, Principal, route_allowed
from microfactory.api.routes import all_routes
from tests.integration.operations.conftest import Issue

SHIP_TO = {"city": "Berlin", "country": "DE", "latitude": 52.52, "longitude": 13.4}


def test_every_route_declares_its_role(client: TestClient) -> None:
    routes = {(method, path) for method, path, _ in all_routes(client.app)}  # type: ignore[arg-type]
    undeclared = sorted(
        f"{method} {path}" for method, path in routes if (method, path) not in ROUTE_ROLES | PUBLIC_ROUTES
    )
    assert undeclared == [], (
        f"routes without a role in access.model.ROUTE_ROLES or PUBLIC_ROUTES: {undeclared}"
    )
    unbearered = sorted(f"{m} {p}" for m, p in PUBLIC_ROUTES if p.startswith(V1))
    assert unbearered == [], "every /api/v1 route takes a bearer token"
    stale = sorted(f"{m} {p}" for m, p in ROUTE_ROLES.keys() | PUBLIC_ROUTES.keys() if (m, p) not in routes)
    assert stale == [], f"roles declared for routes the app does not have: {stale}"


def test_the_roles_are_shown_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    operation = paths["/api/v1/orders/{order_id}/cancel"]["post"]
    assert operation["x-roles"] == ["admin", "planner"]
    assert operation["description"].endswith("Roles: admin, planner.")


def test_an_undeclared_route_is_the_admins_only() -> None:
    for role in ROLES:
        allowed = route_allowed(Principal("t", "t", role, "berlin"), "GET", f"{V1}/not-declared")
        assert allowed is (role == "admin")


def _filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "nothing-here", path)


@pytest.mark.parametrize("role", [role for role in ROLES if role != "admin"])
def test_each_role_is_refused_every_route_it_may_not_call(
    client: TestClient, issue: Issue, role: str
) -> None:
    caller, _ = issue(f"{role}-token", role, "berlin" if role == "site" else None)
    refused = [(m, p) for (m, p), roles in ROUTE_ROLES.items() if role not in roles]
    assert refused, role
    for method, path in refused:
        answer = caller.request(method, _filled(path), json={})
        assert answer.status_code == 403, (role, method, path, answer.text)
        assert f"a {role} token may not call {method} {path}" in answer.json()["error"]
    for method, path in ((m, p) for (m, p), roles in ROUTE_ROLES.items() if role in roles):
        answer = caller.request(method, _filled(path), json={})
        assert "may not call" not in answer.text, (role, method, path)  # any other refusal is finer


def test_an_inspector_reads_and_writes_nothing(client: TestClient, issue: Issue, examples: object) -> None:
    inspector, _ = issue("qa-bench", "inspector")
    created = client.post(
        "/api/v1/orders", json={"external_id": "I-1", "ship_to": SHIP_TO, "lines": [{"product": "KP"}]}
    )
    order_id = created.json()["id"]
    assert inspector.get(f"/api/v1/orders/{order_id}").status_code == 200
    assert inspector.get(f"/api/v1/orders/{order_id}/history").status_code == 200
    assert inspector.post(f"/api/v1/orders/{order_id}/cancel", json={"reason": "x"}).status_code == 403
    order = {"external_id": "I-2", "ship_to": SHIP_TO, "lines": [{"product": "KP"}]}
    assert inspector.post("/api/v1/orders", json=order).status_code == 403
    assert inspector.get("/api/v1/tokens").status_code == 403
    assert inspector.get("/api/v1/outbox").status_code == 403
