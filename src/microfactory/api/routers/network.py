"""The network under /api/v1: sites and their load, routing, assignments, site events."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Body, Response, status
from pydantic import BaseModel, ConfigDict, Field

from microfactory.access.model import check_site
from microfactory.api.auth import Caller, Who
from microfactory.api.deps import Uow
from microfactory.errors import Conflict, NotFound
from microfactory.network import service, site_events
from microfactory.network.demand import RoutingWeights
from microfactory.network.stored_state import current
from microfactory.network.views import (
    assignment_view,
    load_view,
    outcome_view,
    routing_view,
    site_assignments,
    site_view,
)
from microfactory.orders import service as orders_service

router = APIRouter(prefix="/api/v1", tags=["network"])


class WeightsIn(BaseModel):
    """Strict numbers: `false` is not a weight of 0."""

    model_config = ConfigDict(extra="forbid")

    distance: float = Field(1.0, ge=0, le=1000, strict=True)
    load: float = Field(1.0, ge=0, le=1000, strict=True)
    cost: float = Field(1.0, ge=0, le=1000, strict=True)
    promise: float = Field(1.0, ge=0, le=1000, strict=True)

    def to_weights(self) -> RoutingWeights:
        return RoutingWeights(self.distance, self.load, self.cost, self.promise)


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: WeightsIn | None = Field(None, description="weights for this call; the stored ones otherwise")


class DeclineIn(BaseModel):
    reason: str = Field(..., min_length=1, max_length=500)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: site_events.EventKind
    site: str = Field(..., min_length=1, max_length=80)
    machine: str | None = Field(None, max_length=80)
    day: date | None = Field(None, alias="date", description="site_closed / site_open: that day only")
    part: str | None = Field(None, max_length=120)
    qty: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=4)  # NUMERIC(14, 4)
    reason: str = Field("", max_length=500)


@router.get("/network")
def get_network(uow: Uow, caller: Caller) -> dict[str, Any]:
    ctx = current(uow)
    return {
        "network": ctx.network.name,
        "sites": list(ctx.network.sites),
        "weights": ctx.router.weights.as_dict(),
        "loaded_at": ctx.row.loaded_at.isoformat(),
    }


@router.post(
    "/network",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "this version was loaded before"}},
)
def load_network(
    uow: Uow, caller: Caller, response: Response, document: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """Load a network document (spec/network.md, as JSON); 422 with every problem if it is not valid.

    A changed document is a new version: work at removed sites is re-routed (`rerouted`); 409 when
    a removed site still has started work.
    """
    result = service.load_network(uow, document, actor=caller)
    view = {
        "network": result.network.name,
        "sites": list(result.network.sites),
        "created": result.created,
        "version": result.version,
        "added_sites": result.added_sites,
        "removed_sites": result.removed_sites,
        "rerouted": [outcome_view(outcome) for outcome in result.rerouted],
    }
    uow.commit()
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return view


@router.put("/network/weights")
def set_weights(body: WeightsIn, uow: Uow, caller: Caller) -> dict[str, float]:
    """The operator's routing weights, used by every later routing decision."""
    weights = service.set_weights(uow, body.to_weights())
    uow.commit()
    return weights.as_dict()


@router.get("/network/sites")
def list_sites(uow: Uow, caller: Caller) -> list[dict[str, Any]]:
    ctx = current(uow)
    return [site_view(ctx, site, uow) for site in ctx.network.sites.values()]


def _site(ctx: Any, site_id: str) -> Any:
    site = ctx.network.site(site_id)
    if site is None:
        raise NotFound("site", site_id, f"no site {site_id} in network {ctx.network.name}")
    return site


@router.get("/network/sites/{site_id}")
def get_site(site_id: str, uow: Uow, who: Who) -> dict[str, Any]:
    """A site with its machines, stock, load, and the work offered to or accepted by it."""
    check_site(who, site_id)
    ctx = current(uow)
    site = _site(ctx, site_id)
    return {**site_view(ctx, site, uow), "assignments": site_assignments(uow, ctx, site.id)}


@router.get("/network/sites/{site_id}/load")
def get_site_load(site_id: str, uow: Uow, who: Who) -> dict[str, Any]:
    check_site(who, site_id)
    ctx = current(uow)
    return load_view(ctx, _site(ctx, site_id))


@router.post("/network/events")
def post_event(body: EventIn, uow: Uow, caller: Caller, who: Who) -> dict[str, Any]:
    """A machine down or up, a site closed or open (for a day or until further notice), a stock count."""
    check_site(who, body.site)
    event = site_events.SiteEvent(
        body.kind, body.site, body.machine, body.day, body.part, body.qty, body.reason
    )
    outcome = site_events.apply_event(uow, event, actor=caller)
    view = {
        "rerouted": [outcome_view(o) for o in outcome.rerouted],
        "repromised": outcome.repromised,
        "slipped": outcome.slipped,
    }
    uow.commit()
    return view


@router.post("/work-orders/route")
def route_released(uow: Uow, caller: Caller, body: RouteIn | None = None) -> list[dict[str, Any]]:
    """Route every released work order (unanswered offers past their deadline move on first)."""
    weights = body.weights.to_weights() if body and body.weights else None
    outcomes = service.expire_overdue(uow, actor=caller)
    outcomes += service.route_work_orders(uow, weights=weights, actor=caller)
    views = [outcome_view(o) for o in outcomes]
    uow.commit()
    return views


@router.post("/work-orders/{work_order_id}/route")
def route_one(work_order_id: str, uow: Uow, caller: Caller, body: RouteIn | None = None) -> dict[str, Any]:
    """Route one released work order (with the rest of its order when the order may not be split)."""
    weights = body.weights.to_weights() if body and body.weights else None
    outcomes = service.route_work_orders(uow, [work_order_id], weights=weights, actor=caller)
    if not outcomes:
        raise Conflict(f"work order {work_order_id} is not released")
    views = [outcome_view(o) for o in outcomes]
    uow.commit()
    return views[0] if len(views) == 1 else {"outcomes": views}


@router.get("/work-orders/{work_order_id}/routing")
def get_routing(work_order_id: str, uow: Uow, who: Who) -> dict[str, Any]:
    """The routing explanation: every candidate site, its score, and why it lost."""
    if who.role == "site":
        check_site(who, orders_service.get_work_order(uow, work_order_id).site)
    return routing_view(uow, work_order_id)


@router.post("/assignments/{assignment_id}/accept")
def accept(assignment_id: str, uow: Uow, caller: Caller, who: Who) -> dict[str, Any]:
    check_site(who, service.get_assignment(uow, assignment_id).site)
    row = service.accept(uow, assignment_id, actor=caller)
    view = assignment_view(row)
    uow.commit()
    return view


@router.post("/assignments/{assignment_id}/decline")
def decline(assignment_id: str, body: DeclineIn, uow: Uow, caller: Caller, who: Who) -> dict[str, Any]:
    """The site says no; the work goes to the next best site, which this answer names."""
    check_site(who, service.get_assignment(uow, assignment_id).site)
    outcomes = service.decline(uow, assignment_id, body.reason, actor=caller)
    view = {
        "declined": assignment_view(service.get_assignment(uow, assignment_id)),
        "rerouted": [outcome_view(o) for o in outcomes],
    }
    uow.commit()
    return view


@router.post("/assignments/expire")
def expire(uow: Uow, caller: Caller) -> list[dict[str, Any]]:
    """Pass unanswered offers past their deadline to the next best site (a scheduler calls this)."""
    views = [outcome_view(o) for o in service.expire_overdue(uow, actor=caller)]
    uow.commit()
    return views
