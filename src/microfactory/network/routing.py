"""Where each work order is made: feasibility, a weighted score, and an explanation of the choice.

Pure and fast. A `Router` holds the network, the moving state of every site (machines down, stock
on hand less reservations, the queue of open work) and per-site sets precomputed from them
(`site_state.py`), so that one decision is a few set operations and one greedy pass over each
candidate's machines: 10,000 work orders over 50 sites route in a few seconds on one core.

A site is a candidate when it can make all of the work order: every capability on a machine that
is up, every material on a machine of the right capability, every bought-in part in stock. Among
candidates the lowest score wins; each component is normalised so that 1.0 means about the same
thing to an operator (1,000 km, a week of queued work, twice the cheapest cost, a week later):

    score = w_distance * km / 1000 + w_load * queued weeks + w_cost * (cost / cheapest - 1)
            + w_promise * days to ship / 7

The ship estimate lays the work order behind the site's queue on its machines, the way the site
plan runs it (`site_queue.py`): a promise is what the site can keep, and a busier site promises later.
The central factory is the fallback: it wins only when no local site can make the work order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

__all__ = ["Candidate", "Demand", "Router", "RoutingDecision", "RoutingWeights", "SiteState", "merge"]

from microfactory.network.demand import COMPONENTS, Demand, RoutingWeights, Step, merge
from microfactory.network.model import Network
from microfactory.network.site_queue import Program, Queued
from microfactory.network.site_state import SiteIndex, SiteState, missing_stock

DISTANCE_SCALE_KM = 1000.0
PROMISE_SCALE_DAYS = 7.0
ONLY_FEASIBLE = "only feasible site"
CENTRAL_FALLBACK = "no local site can make it: central fallback"
NOTHING_FEASIBLE = "no site can make it"


@dataclass(slots=True)
class Candidate:
    """One site considered for a demand: why it cannot, or how it scores."""

    site: str
    central: bool
    reasons: tuple[str, ...]  # empty when the site can make it
    distance_km: float | None = None
    load: float = 0.0  # weeks of work queued on the busiest capability the demand needs
    cost: float = 0.0
    ship_days: float = 0.0  # estimated calendar days until the work is done
    work_minutes: float = 0.0  # working minutes until done, queue included
    components: dict[str, float] = field(default_factory=dict)  # weighted, normalised
    score: float | None = None

    @property
    def feasible(self) -> bool:
        return not self.reasons


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The chosen site (or none), every candidate, and the component that decided."""

    demand: Demand
    site: str | None
    central: bool
    deciding_factor: str
    candidates: tuple[Candidate, ...]  # winner first, then by score, then the infeasible
    weights: RoutingWeights

    @property
    def winner(self) -> Candidate | None:
        return self.candidates[0] if self.site is not None else None

    def as_dict(self) -> dict[str, Any]:
        """The routing explanation: stored with the assignment, shown by the API and the CLI."""
        from microfactory.network.explanation import explain

        return explain(self)


_ShapeKey = tuple[frozenset[str], frozenset[tuple[str, str]], tuple[Step, ...]]


class _Shape:
    """One site judged for one shape of work (its steps): what equipment it lacks, the steps
    compiled for its machines, and the finish last found behind its queue (kept while the queue
    has not changed: shapes repeat, and most sites do not change between two decisions)."""

    __slots__ = ("finish", "index", "program", "reasons", "site", "version")

    def __init__(
        self, site: str, index: SiteIndex, reasons: tuple[str, ...], program: Program | None
    ) -> None:
        self.site = site
        self.index = index
        self.reasons = reasons
        self.program = program
        self.version = 0
        self.finish = 0.0


class Router:
    """Routes demands over a network and keeps the site states up to date as it assigns work."""

    def __init__(
        self,
        network: Network,
        states: Mapping[str, SiteState] | None = None,
        weights: RoutingWeights | None = None,
    ) -> None:
        self.network = network
        self.weights = weights or RoutingWeights()
        self.states: dict[str, SiteState] = {
            sid: (states or {}).get(sid) or SiteState.initial(site) for sid, site in network.sites.items()
        }
        self._index = {sid: SiteIndex(site, self.states[sid]) for sid, site in network.sites.items()}
        self._shapes: dict[_ShapeKey, list[_Shape]] = {}

    def refresh(self, site_id: str) -> None:
        """Rebuild a site's sets after its machines changed state (its queue is laid again)."""
        self._index[site_id] = SiteIndex(self.network.sites[site_id], self.states[site_id])
        self._shapes.clear()

    def equipment_reasons(self, site_id: str, demand: Demand) -> tuple[str, ...]:
        """Why the site's machines, or its being closed, rule the demand out now; stock aside."""
        reasons = self._index[site_id].missing_equipment(demand.capabilities, demand.materials)
        return reasons if self.states[site_id].open else ("closed", *reasons)

    def queue_minutes(self, site_id: str, demands: Sequence[Demand], now: datetime) -> list[float | None]:
        """Working minutes from `now` until each demand is done, laid in this order on the site's
        machines up with nothing else queued: re-promising a site's whole queue, first come first
        served. None for a demand the machines up cannot run."""
        index = self._index[site_id]
        if index.central:
            return [0.0 for _ in demands]
        laid = index.machines.queue(index.clock(self.states[site_id], now))
        found: list[float | None] = []
        for demand in demands:
            program = index.machines.compile(demand.work)
            found.append(None if program is None else laid.work_minutes(laid.add(program)))
        return found

    def _judged(self, demand: Demand) -> list[_Shape]:
        """Per site, what equipment it lacks for this shape of work and the work compiled for its
        machines; cached, since shapes repeat."""
        steps = demand.work
        key = (demand.capabilities, demand.materials, steps)
        found = self._shapes.get(key)
        if found is None:
            found = []
            for sid, index in self._index.items():
                reasons = index.missing_equipment(demand.capabilities, demand.materials)
                program = None if index.central or reasons else index.machines.compile(steps)
                if program is None and not index.central and not reasons:
                    reasons = index.machines.unrunnable(steps)  # a material the demand did not declare
                found.append(_Shape(sid, index, reasons, program))
            self._shapes[key] = found
        return found

    def route(
        self, demand: Demand, now: datetime, excluded: Mapping[str, str] | None = None
    ) -> RoutingDecision:
        """Choose a site for the demand (nothing is reserved: see `assign`).

        `excluded` maps sites that must not get the work (they declined it, or let it expire) to
        the reason, which the explanation shows.
        """
        local: list[Candidate] = []
        feasible: list[Candidate] = []
        central: Candidate | None = None
        today = now.date()
        point = demand.destination
        target = None
        if point is not None:
            lat = math.radians(point.lat)
            target = (lat, math.radians(point.lon), math.cos(lat))
        states = self.states
        for shape in self._judged(demand):
            sid, index = shape.site, shape.index
            state = states[sid]
            reasons: tuple[str, ...] | list[str] = shape.reasons
            if not state.open:
                reasons = ["closed", *reasons]
            if not index.central:
                stock = missing_stock(demand.parts, state.available)
                if stock:
                    reasons = [*reasons, *stock]
            if excluded and sid in excluded:
                reasons = [excluded[sid], *reasons]
            candidate = Candidate(sid, index.central, tuple(reasons))
            if not reasons or index.central:
                if target is not None:
                    candidate.distance_km = index.distance(*target)
                self._measure(candidate, shape, state, demand, now, today)
            if index.central:
                central = candidate
            else:
                local.append(candidate)
                if not reasons:
                    feasible.append(candidate)
        self._score(feasible, central)
        feasible.sort(key=_rank)
        infeasible = [c for c in local if c.reasons]
        tail = [central] if central is not None else []
        if feasible:
            factor = _deciding_factor(feasible[0], feasible[1]) if len(feasible) > 1 else ONLY_FEASIBLE
            return RoutingDecision(
                demand, feasible[0].site, False, factor, (*feasible, *tail, *infeasible), self.weights
            )
        if central is not None and central.feasible:
            return RoutingDecision(
                demand, central.site, True, CENTRAL_FALLBACK, (central, *infeasible), self.weights
            )
        return RoutingDecision(demand, None, False, NOTHING_FEASIBLE, (*tail, *infeasible), self.weights)

    @staticmethod
    def _measure(
        candidate: Candidate, shape: _Shape, state: SiteState, demand: Demand, now: datetime, today: date
    ) -> None:
        index = shape.index
        site = index.site
        if index.central:
            candidate.cost = float(demand.parts_cost) + float(site.unit_overhead) * demand.units
            candidate.ship_days = float(site.lead_time_days)
            return
        queued = state.queued
        machines_up = index.machines_up
        cost_per_minute = index.cost_per_minute
        setup = len(demand.materials) * site.material_change_minutes
        longest_wait = 0.0
        cost = float(demand.parts_cost) + setup * index.labour_per_minute
        for capability, minutes in demand.minutes.items():
            longest_wait = max(longest_wait, queued.get(capability, 0.0) / machines_up[capability])
            cost += minutes * cost_per_minute[capability]
        laid = index.laid(state, now)
        if shape.version != laid.version:
            assert shape.program is not None  # `_judged` gives a reason to every site it cannot compile for
            shape.finish, shape.version = laid.finish(shape.program), laid.version
        work = laid.work_minutes(shape.finish)
        days = work / index.minutes_per_day * index.days_per_working_day
        if state.closed_dates:
            horizon = today + timedelta(days=math.ceil(days))
            days += sum(1 for closed in state.closed_dates if today <= closed <= horizon)
        candidate.load = longest_wait / index.minutes_per_week
        candidate.cost = cost
        candidate.work_minutes = work
        candidate.ship_days = days

    def _score(self, feasible: list[Candidate], central: Candidate | None) -> None:
        weights = self.weights
        measured = feasible + ([central] if central is not None and central.feasible else [])
        # the cheapest local site is the yardstick; the central baseline only when none can make it
        cheapest = min((c.cost for c in feasible or measured if c.cost > 0), default=1.0)
        for candidate in measured:
            components = {
                "distance": weights.distance * (candidate.distance_km or 0.0) / DISTANCE_SCALE_KM,
                "load": weights.load * candidate.load,
                "cost": weights.cost * (candidate.cost / cheapest - 1.0),
                "promise": weights.promise * candidate.ship_days / PROMISE_SCALE_DAYS,
            }
            candidate.components = components
            candidate.score = sum(components.values())

    def assign(self, decision: RoutingDecision) -> None:
        """Take the decision: reserve the parts and queue the work at the chosen site, laid on its
        machines at once, so that the next work order routed waits behind it."""
        if decision.site is None or decision.central:
            return
        demand = decision.demand
        state = self.states[decision.site]
        for part, qty in demand.parts.items():
            state.available[part] = state.available.get(part, Decimal(0)) - qty
        for capability, minutes in demand.minutes.items():
            state.queued[capability] = state.queued.get(capability, 0.0) + minutes
        steps = demand.work
        state.queue.append(Queued(demand.work_order_ids, steps))
        index = self._index[decision.site]
        laid = index.laid_if_any()
        if laid is not None:
            program = index.machines.compile(steps)
            if program is not None:
                laid.add(program)

    def unassign(self, site_id: str, demand: Demand) -> None:
        """Give back what `assign` took (a decline, a cancellation, a re-route)."""
        state = self.states.get(site_id)
        if state is None or self.network.sites[site_id].is_central:
            return
        for part, qty in demand.parts.items():
            state.available[part] = state.available.get(part, Decimal(0)) + qty
        for capability, minutes in demand.minutes.items():
            state.queued[capability] = max(0.0, state.queued.get(capability, 0.0) - minutes)
        state.take_out(demand.work_order_ids, demand.work)
        self._index[site_id].forget_laid()

    def route_order(
        self,
        demands: list[Demand],
        allow_split: bool,
        now: datetime,
        excluded: Mapping[str, str] | None = None,
    ) -> list[RoutingDecision]:
        """Route an order's work orders, assigning as it goes.

        They stay together at one site unless the store allows splitting; even then a split is
        made only when no local site can make the whole order.
        """
        if len(demands) == 1:
            decisions = [self.route(demands[0], now, excluded)]
        else:
            together = self.route(merge(demands), now, excluded)
            if not allow_split or (together.site is not None and not together.central):
                decisions = [together]
            else:
                decisions = []
                for demand in demands:
                    decision = self.route(demand, now, excluded)
                    self.assign(decision)
                    decisions.append(decision)
                return decisions
        for decision in decisions:
            self.assign(decision)
        return decisions


def _rank(candidate: Candidate) -> tuple[float, float, str]:
    return (candidate.score or 0.0, candidate.distance_km or 0.0, candidate.site)


def _deciding_factor(winner: Candidate, runner_up: Candidate) -> str:
    """The component that separated the two most: where the runner-up lost most ground."""
    gains = {name: runner_up.components[name] - winner.components[name] for name in COMPONENTS}
    best = max(COMPONENTS, key=lambda name: gains[name])
    return best if gains[best] > 0 else "tie (site id)"
