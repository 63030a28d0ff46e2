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

ADMIN = "admin"
PLANNER = ("planner",)
READERS = ("planner", "inspector")  # reads open to the planner and the inspector
SITE_WORK = ("planner", "site")  # a site token: its own site only (checked per request)
SITE_READS = ("planner", "inspector", "site")
QUALITY_WORK = ("planner", "inspector")

# Every /api/v1 route states who may call it, here, in one table a reviewer can read: "METHOD
# /path under /api/v1" -> the roles besides admin (the admin may call every route). A route missing
# from the table is refused to every role but admin (fail closed), and a test walks the app's
# routes so that none is missing. Only the admin issues, rotates and revokes tokens, replaces the
# catalog or the network, and reads the outbox (its payloads hold customer data). An integration
# creates and reads orders, in channels other than shopify (checked per order); a site reads and
# changes its own site's work only (the site is checked per request).
_DECLARED: dict[str, tuple[str, ...]] = {
    # orders
    "POST /orders": ("planner", "integration"),
    "POST /orders/import": ("planner", "integration"),
    "GET /orders": ("planner", "inspector", "integration"),
    "GET /orders/{order_id}": ("planner", "inspector", "integration"),
    "GET /orders/{order_id}/history": READERS,
    "PATCH /orders/{order_id}/lines/{line_id}": PLANNER,
    "POST /orders/{order_id}/cancel": PLANNER,
    "GET /needs-attention": READERS,
    "GET /needs-attention/warnings": READERS,
    "POST /needs-attention/retry": PLANNER,
    "GET /work-orders": SITE_READS,
    "GET /work-orders/{work_order_id}": SITE_READS,
    "POST /orders/{order_id}/shipments": PLANNER,
    "GET /orders/{order_id}/shipments": READERS,
    # catalog, tokens, outbox, Shopify inbox
    "POST /catalogs": (),
    "GET /catalogs": READERS,
    "POST /tokens": (),
    "GET /tokens": (),
    "DELETE /tokens/{token_id}": (),
    "POST /tokens/{token_id}/rotate": (),
    "GET /outbox": (),
    "GET /jobs": (),
    "GET /shopify/inbox": READERS,
    # network and routing
    "GET /network": READERS,
    "POST /network": (),
    "PUT /network/weights": PLANNER,
    "GET /network/sites": READERS,
    "GET /network/sites/{site_id}": SITE_READS,
    "GET /network/sites/{site_id}/load": SITE_READS,
    "POST /network/events": SITE_WORK,
    "POST /work-orders/route": PLANNER,
    "POST /work-orders/{work_order_id}/route": PLANNER,
    "GET /work-orders/{work_order_id}/routing": SITE_READS,
    "POST /assignments/{assignment_id}/accept": SITE_WORK,
    "POST /assignments/{assignment_id}/decline": SITE_WORK,
    "POST /assignments/expire": PLANNER,
    # scheduling and production
    "GET /sites/{site_id}/plan": READERS,
    "GET /sites/{site_id}/plan.png": READERS,
    "POST /sites/{site_id}/plan": PLANNER,
    "GET /sites/{site_id}/operations": SITE_READS,
    "POST /sites/{site_id}/reports": SITE_WORK,
    "GET /units/{serial}": SITE_READS,
    # production by hand: a station's start, finish, fail; holds
    "POST /operations/{operation_id}/start": SITE_WORK,
    "POST /operations/{operation_id}/finish": SITE_WORK,
    "POST /operations/{operation_id}/fail": SITE_WORK,
    "POST /operations/{operation_id}/hold": SITE_WORK,
    "POST /operations/{operation_id}/unhold": SITE_WORK,
    # quality: stations record their own site's inspections; inspectors record, judge, dispose NCRs
    # and release machine holds; recording is for those who look at units, not for planners
    "POST /units/{serial}/inspections": ("inspector", "site"),
    "POST /units/{serial}/inspections/manual": ("inspector",),
    "GET /units/{serial}/inspections": SITE_READS,
    "GET /units/{serial}/inspection-plan": SITE_READS,
    "GET /inspections/{inspection_id}/image": READERS,
    "GET /ncrs": READERS,
    "GET /ncrs/{ncr_id}": READERS,
    "POST /ncrs/{ncr_id}/dispose": QUALITY_WORK,
    "GET /quality/spc": READERS,
    "GET /quality/spc.png": READERS,
    "POST /quality/spc": QUALITY_WORK,
    "GET /quality/holds": READERS,
    "POST /quality/holds/{machine}/release": QUALITY_WORK,
    # logistics: a site packs and follows its own parcels
    "POST /orders/{order_id}/pack": SITE_WORK,
    "GET /shipments": SITE_READS,
    "GET /shipments/{shipment_id}": SITE_READS,
    "GET /shipments/{shipment_id}/label": SITE_READS,
    "POST /shipments/{shipment_id}/retry": SITE_WORK,
    "POST /shipments/{shipment_id}/tracking": SITE_WORK,
    # telemetry
    "GET /machines/{machine}/telemetry": READERS,
    "GET /alerts": READERS,
    "POST /alerts/{alert_id}/ack": PLANNER,
}


def _route_roles(declared: dict[str, tuple[str, ...]]) -> dict[tuple[str, str], frozenset[str]]:
    table: dict[tuple[str, str], frozenset[str]] = {}
    for call, roles in declared.items():
        method, path = call.split(" ", 1)
        table[(method, V1 + path)] = frozenset((ADMIN, *roles))
    return table


ROUTE_ROLES: dict[tuple[str, str], frozenset[str]] = _route_roles(_DECLARED)
"""(method, route template) -> the roles that may call it; every /api/v1 route is here."""

# Routes outside /api/v1 take no bearer token: each says here how it is protected instead.
PUBLIC_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/webhooks/shopify"): "signed by the store (HMAC of the body); failed signatures rate-limited",
    ("POST", "/shopify/fulfillment_order_notification"): "signed by the store (HMAC)",
    ("GET", "/shopify/fetch_tracking_numbers"): "signed by the store (HMAC of the query)",
    ("GET", "/shopify/fetch_tracking_numbers.json"): "signed by the store (HMAC of the query)",
    ("GET", "/healthz"): "public: says only whether the database answers",
    ("GET", "/readyz"): "public: says only whether the database answers and its schema is current",
    ("GET", "/metrics"): "a bearer token: MICROFACTORY_METRICS_TOKEN or an admin, planner or inspector token",
    ("GET", "/openapi.json"): "public: the API's description",
    ("GET", "/docs"): "public: the API's description",
    ("GET", "/docs/oauth2-redirect"): "public: part of the API's description",
    ("GET", "/redoc"): "public: the API's description",
    ("POST", "/webhooks/easypost"): "signed by EasyPost (X-Hmac-Signature); failed signatures rate-limited",
    ("POST", "/webhooks/shippo"): "Shippo's ?token= secret; failed tokens rate-limited",
    ("POST", "/webhooks/courier/{partner}"): "signed by the courier (X-Microfactory-Signature)",
}
# The web UI's pages take a login session instead (CSRF-checked on POST); which role sees which page
# is `web/access.py`. Not logged in: a redirect to /login.
WEB_SESSION = "a web UI login session (CSRF token on POST); roles per page in web/access.py"
PUBLIC_ROUTES |= dict.fromkeys(
    (
        ("GET", "/"),
        ("GET", "/orders"),
        ("GET", "/orders/{order_id}"),
        ("GET", "/needs-attention"),
        ("POST", "/needs-attention/{order_id}/{line_id}"),
        ("GET", "/sites/{site_id}"),
        ("GET", "/sites/{site_id}/live"),
        ("POST", "/operations/{operation_id}/{action}"),
        ("GET", "/quality"),
        ("GET", "/quality/inspections/{inspection_id}"),
        ("GET", "/quality/inspections/{inspection_id}/image"),
        ("GET", "/quality/charts/{by}/{key}"),
        ("POST", "/quality/inspections/{inspection_id}/verdict"),
        ("POST", "/quality/ncrs/{ncr_id}/dispose"),
        ("POST", "/quality/holds/{site}/{machine}/release"),
        ("GET", "/shipments"),
        ("GET", "/shipments/{shipment_id}"),
        ("GET", "/shipments/{shipment_id}/label"),
        ("POST", "/shipments/{shipment_id}/retry"),
        ("POST", "/shipments/pack/{order_id}"),
        ("GET", "/logout"),
        ("POST", "/logout"),
    ),
    WEB_SESSION,
)
PUBLIC_ROUTES |= {
    ("GET", "/login"): "public: the login form",
    ("POST", "/login"): "public: the login itself, rate-limited per client and per username",
}
METRICS_ROLES = frozenset((ADMIN, *READERS))


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
    """May the principal's role call `method route` (the route's template, e.g. `/api/v1/orders/{order_id}`)?

    Decided by the route's row in `ROUTE_ROLES`; a route with no row is the admin's only.
    """
    if principal.role == ADMIN:
        return True
    method = method.upper()
    if method == "HEAD":
        method = "GET"  # a HEAD is the GET without its body
    roles = ROUTE_ROLES.get((method, route))
    return roles is not None and principal.role in roles


def declared_roles(method: str, route: str) -> frozenset[str] | None:
    """The roles a route declares, None when it declares none."""
    return ROUTE_ROLES.get((method.upper(), route))


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
