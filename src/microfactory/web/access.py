"""Who may see which page and press which button: a pure policy on the user's role and site.

The same roles as the API (`access.model`). A site operator sees and acts on their own site only
(`access.model.check_site`, 403 elsewhere); an inspector reads everything and acts on quality
(verdicts, NCRs, machine holds); planners and admins see and act everywhere. The actions follow
the API's role table (`access.model`): a person's verdict is the inspector's (and the admin's),
dispositions and hold releases are quality work (planner, inspector), packing and retrying a
parcel's handoff are site work (planner, site: its own site's parcels only).
"""

from __future__ import annotations

from typing import Literal

from microfactory.access.model import Principal, check_site
from microfactory.errors import Forbidden

Page = Literal["overview", "orders", "order", "needs-attention", "site", "quality", "shipments"]
Action = Literal[
    "correct-line",
    "report-operation",
    "override-verdict",
    "dispose-ncr",
    "release-hold",
    "pack",
    "retry-handoff",
]

EVERYONE = frozenset({"admin", "planner", "inspector", "site"})
OFFICE = frozenset({"admin", "planner", "inspector"})
PAGE_ROLES: dict[str, frozenset[str]] = {
    "overview": OFFICE,
    "orders": OFFICE,
    "order": EVERYONE,  # a site operator: orders with a line made at their site (checked per order)
    "needs-attention": OFFICE,
    "site": EVERYONE,  # a site operator: their own site (checked per site)
    "quality": EVERYONE,  # a site operator: their own site's sections
    "shipments": EVERYONE,  # a site operator: their own site's parcels
}
ACTION_ROLES: dict[str, frozenset[str]] = {
    "correct-line": frozenset({"admin", "planner"}),
    "report-operation": frozenset({"admin", "planner", "site"}),  # site: its own site's steps
    "override-verdict": frozenset({"admin", "inspector"}),
    "dispose-ncr": frozenset({"admin", "planner", "inspector"}),
    "release-hold": frozenset({"admin", "planner", "inspector"}),
    "pack": frozenset({"admin", "planner", "site"}),  # site: its own site's parcels
    "retry-handoff": frozenset({"admin", "planner", "site"}),
}


def may_see(principal: Principal, page: Page) -> bool:
    return principal.role in PAGE_ROLES[page]


def may_do(principal: Principal, action: Action) -> bool:
    return principal.role in ACTION_ROLES[action]


def check_page(principal: Principal, page: Page) -> None:
    if not may_see(principal, page):
        raise Forbidden(f"a {principal.role} user may not see the {page} page")


def check_action(principal: Principal, action: Action, site: str | None = None) -> None:
    """403 unless the role may do it, and for a site user, unless it is their site's."""
    if not may_do(principal, action):
        raise Forbidden(f"a {principal.role} user may not {action.replace('-', ' ')}")
    check_site(principal, site)


def check_order_sites(principal: Principal, sites: set[str | None]) -> None:
    """A site operator reads an order only when one of its lines is made at their site."""
    if principal.role == "site" and principal.site not in sites:
        raise Forbidden(f"this order has no work at site {principal.site!r}")
