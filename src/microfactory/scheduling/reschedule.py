"""Replanning on events without upsetting the shop floor.

A machine goes down, a rush order comes in, a print runs long: the plan must change, but a plan
that reshuffles everything every hour is worse than a slightly longer one. So what has started
stays where it is (it is reality now), and everything else is solved again with an extra cost per
minute moved away from where the previous plan had it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from microfactory.network.model import Site
from microfactory.scheduling.batching import Batch, make_batches
from microfactory.scheduling.cpsat import SolverSettings, solve
from microfactory.scheduling.model import Interval, Mode, SchedulingProblem
from microfactory.scheduling.site_plan import (
    SitePlan,
    SitePlanSettings,
    WorkOrderInput,
    build_problem,
    dispatch_figures,
    first_come_changes,
    item_list,
    minute_of,
)

FAR = 10**9


@dataclass(frozen=True, slots=True)
class MachineDown:
    """The machine cannot work in [start, end); anything running on it then must run again elsewhere."""

    machine: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class RushOrder:
    order: WorkOrderInput


@dataclass(frozen=True, slots=True)
class FinishingLate:
    """A running batch will end at `expected_end` rather than when planned."""

    batch: str
    expected_end: datetime


Event = MachineDown | RushOrder | FinishingLate


def _without(calendar: tuple[Interval, ...] | None, start: int, end: int) -> tuple[Interval, ...]:
    working = calendar if calendar is not None else ((0, FAR),)
    result: list[Interval] = []
    for lo, hi in working:
        if hi <= start or lo >= end:
            result.append((lo, hi))
            continue
        if lo < start:
            result.append((lo, start))
        if hi > end:
            result.append((end, hi))
    return tuple(result)


def reschedule(
    previous: SitePlan,
    site: Site,
    events: Sequence[Event],
    now: datetime,
    settings: SitePlanSettings | None = None,
) -> SitePlan:
    """A new plan from `now`: started batches fixed, the rest moved as little as the objective allows."""
    settings = settings or SitePlanSettings()
    origin = previous.origin
    now_minute = max(0, minute_of(origin, now))
    orders = list(previous.orders)
    batches = list(previous.batches)
    rush = [event.order for event in events if isinstance(event, RushOrder)]
    if rush:
        orders.extend(rush)
        items = item_list(rush, origin)
        for capability in dict.fromkeys(item.capability for item in items):
            for batch in make_batches(
                [i for i in items if i.capability == capability], settings.policy(capability)
            ):
                batches.append(
                    Batch(f"{site.id}-B{len(batches) + 1}", batch.capability, batch.material, batch.items)
                )
    down = [
        (e.machine, minute_of(origin, e.start), minute_of(origin, e.end))
        for e in events
        if isinstance(e, MachineDown)
    ]
    machines = list(previous.problem.machines)
    for n, machine in enumerate(machines):
        calendar = machine.calendar
        for machine_id, lo, hi in down:
            if machine_id == machine.id:
                calendar = _without(calendar, lo, hi)
        machines[n] = replace(machine, calendar=calendar, available_from=now_minute)
    problem = build_problem(site, orders, batches, origin, tuple(machines), settings)
    problem = _pin(problem, previous, events, now_minute, down)
    objective = settings.objective
    if objective.deviation == 0:
        objective = replace(objective, deviation=1)
    plan = solve(problem, objective, SolverSettings(time_limit=settings.time_limit, workers=settings.workers))
    return SitePlan(
        site.id,
        origin,
        problem,
        plan,
        tuple(batches),
        tuple(orders),
        first_come_changes(site, orders, origin, tuple(machines), settings),
        dispatch_figures(problem, objective),
    )


def _pin(
    problem: SchedulingProblem,
    previous: SitePlan,
    events: Sequence[Event],
    now: int,
    down: list[tuple[str, int, int]],
) -> SchedulingProblem:
    late = {
        e.batch: minute_of(previous.origin, e.expected_end) for e in events if isinstance(e, FinishingLate)
    }
    operations = list(problem.operations)
    for a in previous.plan.assignments:
        op = operations[a.operation]
        machine = problem.machines[a.machine]
        interrupted = any(m == machine.id and lo < a.end and a.start < hi and hi > now for m, lo, hi in down)
        if a.start < now and not interrupted:
            end = max(late.get(op.id, a.end), a.start + 1) if op.id in late else a.end
            operations[a.operation] = replace(
                op, modes=(Mode(a.machine, end - a.start),), fixed=(a.machine, a.start)
            )
        elif a.start >= now:
            operations[a.operation] = replace(op, previous_start=a.start)
    return replace(problem, operations=tuple(operations))


def moved_minutes(before: SitePlan, after: SitePlan) -> int:
    """Total minutes the batches of `before` moved in `after` (a measure of plan stability)."""
    return sum(
        abs(a.start - b.start) for a, b in zip(before.plan.assignments, after.plan.assignments, strict=False)
    )
