"""Roles and what each may do: a pure policy, decided on the principal's role, never on its name.

A token's identity is its id; its name is a label. The policy answers two questions: may this role
call this route at all (`route_allowed`, by method and route template), and may it touch this site's
work or this channel's orders (`check_site`, `check_channel`), which the endpoints ask once they know
the site or channel of what is requested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from microfactory.errors import Forbidden

Role = Literal["admin", "planner", "site", "inspector", "integration"]
ROLES: tuple[str, ...] = get_args(Role)
SHOPIFY = "shopify"
V1 = "/api/v1"

# Only the admin issues, lists and revokes tokens, replaces the catalog or the network, and reads the
# outbox (its payloads hold customer data).
ADMIN_ONLY = frozenset(
    {
        ("GET", f"{V1}/outbox"),
        ("GET", f"{V1}/jobs"),
        ("POST", f"{V1}/tokens"),
        ("GET", f"{V1}/tokens"),
        ("DELETE", f"{V1}/tokens/{{token_id}}"),
        ("POST", f"{V1}/catalogs"),
        ("POST", f"{V1}/network"),
    }
)
# An integration creates and reads orders, in channels other than shopify (checked per order).
INTEGRATION_ROUTES = frozenset(
    {
        ("POST", f"{V1}/orders"),
        ("POST", f"{V1}/orders/import"),
        ("GET", f"{V1}/orders"),
        ("GET", f"{V1}/orders/{{order_id}}"),
    }
)
# A site reads and changes its own site's work only (the site is checked per request).
SITE_ROUTES = frozenset(
    {
        ("GET", f"{V1}/network/sites/{{site_id}}"),
        ("GET", f"{V1}/network/sites/{{site_id}}/load"),
        ("POST", f"{V1}/network/events"),
        ("POST", f"{V1}/assignments/{{assignment_id}}/accept"),
        ("POST", f"{V1}/assignments/{{assignment_id}}/decline"),
        ("GET", f"{V1}/work-orders"),
        ("GET", f"{V1}/work-orders/{{work_order_id}}"),
        ("GET", f"{V1}/work-orders/{{work_order_id}}/routing"),
        ("GET", f"{V1}/sites/{{site_id}}/operations"),
        ("POST", f"{V1}/sites/{{site_id}}/reports"),
        ("GET", f"{V1}/units/{{serial}}"),
    }
)
READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The caller behind a bearer token: its id is its identity, its role decides what it may do."""

    id: str
    name: str
    role: str
    site: str | None = None

    @property
    def actor(self) -> str:
        """How the audit trail names the caller."""
        return self.name


def route_allowed(principal: Principal, method: str, route: str) -> bool:
    """May the principal's role call `method route` (the route's template, e.g. `/api/v1/orders/{order_id}`)?"""
    call = (method.upper(), route)
    if principal.role == "admin":
        return True
    if call in ADMIN_ONLY:
        return False
    if principal.role == "planner":
        return True
    if principal.role == "inspector":
        return call[0] in READS
    if principal.role == "integration":
        return call in INTEGRATION_ROUTES
    if principal.role == "site":
        return call in SITE_ROUTES
    return False


def check_route(principal: Principal, method: str, route: str) -> None:
    if not route_allowed(principal, method, route):
        raise Forbidden(f"a {principal.role} token may not call {method.upper()} {route}")


def check_site(principal: Principal, site: str | None) -> None:
    """A site token touches its own site's work only; other roles are not limited by site."""
    if principal.role == "site" and site != principal.site:
        shown = f"site {site!r}" if site else "work of no site"
        raise Forbidden(f"this token belongs to site {principal.site!r}, not to {shown}")


def check_channel(principal: Principal, channel: str) -> None:
    """An integration token creates and reads orders in channels other than shopify only."""
    if principal.role == "integration" and channel == SHOPIFY:
        raise Forbidden("an integration token may not create or read shopify orders")


def hidden_channels(principal: Principal) -> frozenset[str]:
    """Channels whose orders a list leaves out for this principal."""
    return frozenset({SHOPIFY}) if principal.role == "integration" else frozenset()
