"""A site's plan from its work orders: batches, machines, working hours, real dates.

This is where the pure solver meets the network: a site's machines and calendar (in its own time
zone) become minute intervals, work orders become batched operations, and the answer comes back
as aware UTC datetimes with the figures a site lead asks about: span, material changes saved by
batching compared with taking orders first come first served, and orders that keep their promise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from microfactory.catalog.work_order import Translation
from microfactory.errors import Conflict
from microfactory.network.model import Site
from microfactory.scheduling.batching import Batch, BatchItem, BatchPolicy, batch_predecessors, make_batches
from microfactory.scheduling.cpsat import SolverSettings, solve
from microfactory.scheduling.dispatch import dispatch, dispatch_rule
from microfactory.scheduling.model import (
    Interval,
    Job,
    Machine,
    Mode,
    Objective,
    Operation,
    SchedulingProblem,
)
from microfactory.scheduling.plan import Figures, Plan, count_setups, evaluate, job_ends

DEFAULT_POLICIES: Mapping[str, BatchPolicy] = {
    "fdm_print": BatchPolicy(capacity_units=24, capacity_minutes=240, run_overhead_minutes=5),
}
DEFAULT_POLICY = BatchPolicy(capacity_units=10, capacity_minutes=120)


@dataclass(frozen=True, slots=True)
class WorkOrderInput:
    """A work order to plan: its translation, when its parts are there, when it is promised."""

    id: str
    translation: Translation
    release: datetime
    due: datetime
    priority: int = 1


@dataclass(frozen=True, slots=True)
class SitePlanSettings:
    time_limit: float = 10.0
    workers: int = 2
    deterministic: bool = False  # the same plan for the same work orders (see SolverSettings)
    objective: Objective = field(default_factory=Objective)
    policies: Mapping[str, BatchPolicy] = field(default_factory=lambda: dict(DEFAULT_POLICIES))
    default_policy: BatchPolicy = DEFAULT_POLICY
    horizon_days: int = 42

    def policy(self, capability: str) -> BatchPolicy:
        return self.policies.get(capability, self.default_policy)


@dataclass(frozen=True, slots=True)
class Run:
    """One batch on one machine, in UTC: what the edge agent and the Gantt chart show."""

    batch: Batch
    machine: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class SitePlan:
    """The plan of one site, its problem in minutes from `origin`, and the figures of the plan."""

    site: str
    origin: datetime
    problem: SchedulingProblem
    plan: Plan
    batches: tuple[Batch, ...]
    orders: tuple[WorkOrderInput, ...]
    first_come_material_changes: int
    # the dispatcher's plan of the same problem under the same objective: what the search gained
    dispatch_baseline: Figures | None = None

    def at(self, minute: int) -> datetime:
        return self.origin + timedelta(minutes=minute)

    @property
    def runs(self) -> tuple[Run, ...]:
        return tuple(
            Run(
                self.batches[a.operation],
                self.problem.machines[a.machine].id,
                self.at(a.start),
                self.at(a.end),
            )
            for a in self.plan.assignments
        )

    @property
    def span(self) -> timedelta:
        if not self.plan.assignments:
            return timedelta(0)
        first = min(a.start for a in self.plan.assignments)
        return timedelta(minutes=self.plan.makespan - first)

    @property
    def material_changes(self) -> int:
        return count_setups(self.problem, self.plan)[0]

    @property
    def completions(self) -> dict[str, datetime]:
        """When each work order's last operation ends."""
        ends = job_ends(self.problem, self.plan)
        return {order.id: self.at(ends[n]) for n, order in enumerate(self.orders)}

    @property
    def on_time(self) -> int:
        done = self.completions
        return sum(1 for order in self.orders if done[order.id] <= order.due)


def minute_of(origin: datetime, moment: datetime) -> int:
    """Whole minutes from origin to moment (rounded up: a part due at 10:00:30 is there at 10:01)."""
    return math.ceil((moment - origin).total_seconds() / 60)


def calendar_intervals(site: Site, origin: datetime, days: int) -> tuple[Interval, ...]:
    """The site's working hours over `days` days from origin, as minute intervals in origin's clock."""
    zone = ZoneInfo(site.timezone)
    local_day = origin.astimezone(zone).date()
    intervals: list[Interval] = []
    for offset in range(-1, days + 1):
        day = local_day + timedelta(days=offset)
        if not site.calendar.is_working_day(day):
            continue
        opens = datetime.combine(day, site.calendar.open, tzinfo=zone)
        closes = datetime.combine(day, site.calendar.close, tzinfo=zone)
        start, end = max(0, minute_of(origin, opens)), minute_of(origin, closes)
        if end > start:
            intervals.append((start, end))
    return tuple(intervals)


def item_list(orders: Sequence[WorkOrderInput], origin: datetime) -> list[BatchItem]:
    items: list[BatchItem] = []
    for order in orders:
        for op in order.translation.operations:
            items.append(
                BatchItem(
                    ref=f"{order.id}/{op.id}",
                    order=order.id,
                    operation=op.id,
                    capability=op.capability,
                    qty=max(1, int(op.qty)),
                    minutes=max(1, math.ceil(op.minutes)),
                    material=op.material,
                    configuration_key=order.translation.configuration_key,
                    after=tuple(f"{order.id}/{a}" for a in op.after),
                    due=minute_of(origin, order.due),
                    release=max(0, minute_of(origin, order.release)),
                )
            )
    return items


def site_machines(site: Site, calendar: tuple[Interval, ...]) -> tuple[Machine, ...]:
    return tuple(
        Machine(
            id=m.id,
            capability=m.capability,
            calendar=calendar,
            material_change_minutes=site.material_change_minutes,
            initial_material=m.materials[0] if m.materials else None,
        )
        for m in site.machines
    )


def build_problem(
    site: Site,
    orders: Sequence[WorkOrderInput],
    batches: Sequence[Batch],
    origin: datetime,
    machines: tuple[Machine, ...],
    settings: SitePlanSettings,
) -> SchedulingProblem:
    """One operation per batch, on machines of its capability loaded (or loadable) with its material."""
    job_of = {order.id: n for n, order in enumerate(orders)}
    operations: list[Operation] = []
    for batch, after in zip(batches, batch_predecessors(batches), strict=True):
        policy = settings.policy(batch.capability)
        duration = batch.minutes(policy)
        modes = tuple(
            Mode(m, duration)
            for m, machine in enumerate(site.machines)
            if machine.capability == batch.capability
            and (batch.material is None or not machine.materials or batch.material in machine.materials)
        )
        if not modes:
            raise Conflict(f"site {site.id} has no {batch.capability} machine for {batch.material or 'it'}")
        served = sorted({job_of[item.order] for item in batch.items})
        urgent = min(served, key=lambda j: (orders[j].due, j))
        operations.append(
            Operation(
                id=batch.id,
                job=urgent,
                modes=modes,
                after=after,
                material=batch.material,
                shared_with=tuple(j for j in served if j != urgent),
                label=f"{batch.capability} x{batch.qty}",
            )
        )
    jobs = tuple(
        Job(
            order.id,
            release=max(0, minute_of(origin, order.release)),
            due=minute_of(origin, order.due),
            weight=max(1, order.priority),
        )
        for order in orders
    )
    return SchedulingProblem(machines, jobs, tuple(operations), name=site.id)


def plan_site(
    site: Site, orders: Sequence[WorkOrderInput], now: datetime, settings: SitePlanSettings | None = None
) -> SitePlan:
    """Batch, solve and date a site's work orders from `now` (aware; the plan is in UTC)."""
    settings = settings or SitePlanSettings()
    origin = now.astimezone(UTC).replace(second=0, microsecond=0)
    machines = site_machines(site, calendar_intervals(site, origin, settings.horizon_days))
    items = item_list(orders, origin)
    batches: list[Batch] = []
    for capability in dict.fromkeys(item.capability for item in items):
        policy = settings.policy(capability)
        batches.extend(make_batches([i for i in items if i.capability == capability], policy))
    batches = [Batch(f"{site.id}-B{n + 1}", b.capability, b.material, b.items) for n, b in enumerate(batches)]
    problem = build_problem(site, orders, batches, origin, machines, settings)
    solver = SolverSettings(
        time_limit=settings.time_limit, workers=settings.workers, deterministic=settings.deterministic
    )
    plan = solve(problem, settings.objective, solver)
    return SitePlan(
        site.id,
        origin,
        problem,
        plan,
        tuple(batches),
        tuple(orders),
        first_come_changes(site, orders, origin, machines, settings),
        dispatch_figures(problem, settings.objective),
    )


def dispatch_figures(problem: SchedulingProblem, objective: Objective) -> Figures | None:
    """The figures of the dispatcher's best plan: the baseline the improved search is judged by."""
    if not problem.operations:
        return None
    return evaluate(problem, dispatch(problem, objective), objective)


def first_come_changes(
    site: Site,
    orders: Sequence[WorkOrderInput],
    origin: datetime,
    machines: tuple[Machine, ...],
    settings: SitePlanSettings,
) -> int:
    """Material changes when every operation runs alone, in order of arrival: the baseline."""
    singles = make_batches(item_list(orders, origin), BatchPolicy(enabled=False))
    problem = build_problem(site, orders, singles, origin, machines, settings)
    fifo = dispatch_rule(problem, "fifo")
    return count_setups(problem, fifo)[0]


def figures(site_plan: SitePlan) -> dict[str, object]:
    """The site's plan in numbers, for reports and the JSON export."""
    score = evaluate(site_plan.problem, site_plan.plan, Objective())
    baseline = site_plan.dispatch_baseline
    return {
        "site": site_plan.site,
        "span_hours": round(site_plan.span.total_seconds() / 3600, 2),
        "batches": len(site_plan.batches),
        "operations": sum(len(b.items) for b in site_plan.batches),
        "material_changes": site_plan.material_changes,
        "first_come_material_changes": site_plan.first_come_material_changes,
        "orders": len(site_plan.orders),
        "orders_on_time": site_plan.on_time,
        "status": site_plan.plan.status,
        "solver": site_plan.plan.solver,
        "weighted_tardiness_minutes": score.weighted_tardiness,
        "dispatch_weighted_tardiness_minutes": None if baseline is None else baseline.weighted_tardiness,
        "dispatch_material_changes": None if baseline is None else baseline.setups,
    }


def plan_network(
    sites: Sequence[Site],
    orders_by_site: Mapping[str, Sequence[WorkOrderInput]],
    now: datetime,
    settings: SitePlanSettings | None = None,
) -> list[SitePlan]:
    """Plan every site that has work orders (the demo's scheduling stage), in the order given."""
    return [
        plan_site(site, orders_by_site[site.id], now, settings)
        for site in sites
        if not site.is_central and orders_by_site.get(site.id)
    ]
