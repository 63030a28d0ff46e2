"""The queue laid on a site's machines: the working clock, closings, material changes, gaps.

A promise is what the site can keep, so each rule here is a rule of the site plan: an operation
runs inside one working day, after its predecessors, on a machine of its capability loaded with
its material, with a change when the machine was loaded with another one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from microfactory.network.demand import Step
from microfactory.network.model import Calendar, Location, Machine, Network, Site
from microfactory.network.promise import finish_time
from microfactory.network.site_queue import MachineQueue, Placement, SiteMachines, _lay, clock_at
from microfactory.scheduling.model import Job, Mode, Operation, SchedulingProblem
from microfactory.scheduling.model import Machine as PlanMachine
from microfactory.scheduling.plan import Assignment, Plan
from microfactory.scheduling.validate import validate

WEEKDAYS = Calendar(frozenset(range(5)), time(8), time(18))  # 600 minutes a day
MONDAY_8 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
Net = Callable[..., Network]


def _site(*machines: Machine, change: int = 10) -> Site:
    return Site(
        id="s",
        name="s",
        location=Location(52.5, 13.4),
        timezone="Europe/Berlin",
        calendar=WEEKDAYS,
        fulfilment_partner="van",
        labour_rate_per_hour=Decimal(30),
        machines=machines,
        material_change_minutes=change,
    )


PRINTER = Machine("fdm-1", "fdm_print", ("PLA-BLACK", "PLA-TEAL"))
BENCH = Machine("bench-1", "assembly")


def _queue(site: Site, now: datetime = MONDAY_8) -> MachineQueue:
    return SiteMachines(site, site.machines).queue(clock_at(site.calendar, site.timezone, now))


def _add(queue: MachineQueue, machines: SiteMachines, *steps: Step) -> float:
    program = machines.compile(steps)
    assert program is not None
    return queue.add(program)


def test_the_clock_starts_at_the_opening_of_the_day_now_falls_in() -> None:
    tz = "Europe/Berlin"
    assert clock_at(WEEKDAYS, tz, datetime(2026, 3, 2, 9, 0, tzinfo=UTC)).offset == 120  # Monday 10:00
    saturday = clock_at(WEEKDAYS, tz, datetime(2026, 3, 7, 12, 0, tzinfo=UTC))
    assert (saturday.anchor, saturday.offset) == (date(2026, 3, 9), 0)
    friday_evening = clock_at(WEEKDAYS, tz, datetime(2026, 3, 6, 18, 0, tzinfo=UTC))
    assert friday_evening.anchor == date(2026, 3, 9)
    closed = Calendar(WEEKDAYS.days, WEEKDAYS.open, WEEKDAYS.close, frozenset({date(2026, 3, 2)}))
    assert clock_at(closed, tz, MONDAY_8).anchor == date(2026, 3, 3)


def test_an_operation_never_spans_a_closing() -> None:
    site = _site(PRINTER)
    machines = SiteMachines(site, site.machines)
    late = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)  # 17:30 in Berlin: 30 minutes left today
    queue = machines.queue(clock_at(site.calendar, site.timezone, late))
    done = _add(queue, machines, Step("fdm_print", "PLA-BLACK", 38.0, ()))
    ship = finish_time(site.calendar, site.timezone, late, queue.work_minutes(done))
    assert ship == datetime(2026, 3, 3, 7, 38, tzinfo=UTC)  # Tuesday 08:38: it starts at the opening


def test_a_material_change_is_paid_where_the_printer_was_loaded_with_another() -> None:
    site = _site(PRINTER, change=10)
    machines = SiteMachines(site, site.machines)
    queue = machines.queue(clock_at(site.calendar, site.timezone, MONDAY_8))
    assert _add(queue, machines, Step("fdm_print", "PLA-BLACK", 30.0, ())) == 30  # loaded with black
    assert _add(queue, machines, Step("fdm_print", "PLA-TEAL", 30.0, ())) == 70  # a change first
    assert _add(queue, machines, Step("fdm_print", "PLA-TEAL", 30.0, ())) == 100  # none now


def test_steps_wait_for_their_predecessors_and_whole_minutes_are_counted() -> None:
    site = _site(PRINTER, Machine("fdm-2", "fdm_print", ("PLA-BLACK",)), BENCH)
    machines = SiteMachines(site, site.machines)
    queue = machines.queue(clock_at(site.calendar, site.timezone, MONDAY_8))
    top, bottom = Step("fdm_print", "PLA-BLACK", 38.0, ()), Step("fdm_print", "PLA-BLACK", 30.5, ())
    # two printers print the parts side by side; the bench starts when the longer one is done
    assert _add(queue, machines, top, bottom, Step("assembly", None, 6.0, (0, 1))) == 38 + 6


def test_a_later_operation_fills_a_gap_and_leaves_earlier_work_where_it_is() -> None:
    site = _site(PRINTER, Machine("fdm-2", "fdm_print", ("PLA-TEAL",)), BENCH)
    machines = SiteMachines(site, site.machines)
    queue = machines.queue(clock_at(site.calendar, site.timezone, MONDAY_8))
    black = (Step("fdm_print", "PLA-BLACK", 300.0, ()), Step("assembly", None, 10.0, (0,)))
    assert _add(queue, machines, *black) == 310  # the bench is idle until 300
    teal = (Step("fdm_print", "PLA-TEAL", 20.0, ()), Step("assembly", None, 10.0, (0,)))
    program = machines.compile(teal)
    assert program is not None
    assert queue.finish(program) == 30  # in the bench's gap, before the black keypad's assembly
    assert queue.add(program) == 30
    assert _add(queue, machines, *black) == 610  # black waits on its printer, not on the teal one


def test_finishing_without_adding_changes_nothing() -> None:
    site = _site(PRINTER, BENCH)
    machines = SiteMachines(site, site.machines)
    queue = machines.queue(clock_at(site.calendar, site.timezone, MONDAY_8))
    steps = (Step("fdm_print", "PLA-TEAL", 50.0, ()), Step("assembly", None, 5.0, (0,)))
    program = machines.compile(steps)
    assert program is not None
    version = queue.version
    assert queue.finish(program) == queue.finish(program) == 65  # 10 of them a change to teal
    assert queue.version == version
    assert queue.add(program) == 65
    assert queue.version != version


def test_a_step_no_machine_up_can_run_is_named() -> None:
    site = _site(PRINTER)
    machines = SiteMachines(site, site.machines)
    steps = (Step("fdm_print", "PLA-RED", 10.0, ()), Step("laser_engrave", None, 3.0, ()))
    assert machines.compile(steps) is None
    assert machines.unrunnable(steps) == (
        "no machine up for fdm_print with PLA-RED",
        "no machine up for laser_engrave",
    )


MATERIALS = st.sampled_from(["PLA-BLACK", "PLA-RED", "PLA-TEAL"])
STEP = st.tuples(st.sampled_from(["fdm_print", "assembly"]), MATERIALS, st.integers(1, 400))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(STEP, min_size=1, max_size=4), min_size=1, max_size=12), st.integers(0, 900))
def test_the_laid_queue_is_a_plan_the_site_plan_validator_accepts(
    orders: list[list[tuple[str, str, int]]], minutes_after_eight: int
) -> None:
    """Whatever is laid: no overlap, every change paid, every operation inside one working day."""
    site = _site(
        Machine("fdm-1", "fdm_print", ("PLA-BLACK", "PLA-RED")),
        Machine("fdm-2", "fdm_print", ("PLA-RED", "PLA-TEAL")),
        BENCH,
        change=15,
    )
    now = datetime(2026, 3, 2, 7, 0, tzinfo=UTC).replace(hour=7 + minutes_after_eight // 60)
    machines = SiteMachines(site, site.machines)
    queue = _queue(site, now)
    placed: list[Placement] = []
    for order in orders:
        steps = [
            Step(capability, material if capability == "fdm_print" else None, float(minutes), ())
            for capability, material, minutes in order
        ]
        steps.append(Step("assembly", None, 5.0, tuple(range(len(steps)))))  # after all of them
        program = machines.compile(steps)
        assert program is not None
        mine: list[Placement] = []
        finish = _lay(queue, program, float(queue.clock.day_minutes), mine)
        assert finish == queue.finish(program)
        for machine, start, end, material in mine:
            queue.gaps[machine].fill(start, end, material)
        placed += mine
    assert validate(*_as_plan(site, queue, placed)) == []


def _as_plan(site: Site, queue: MachineQueue, placed: list[Placement]) -> tuple[SchedulingProblem, Plan]:
    """The placements as a plan on the working clock: each working day one interval."""
    days = 1 + int(max(end for _, _, end, _ in placed) // queue.clock.day_minutes)
    day = queue.clock.day_minutes
    calendar = tuple((n * day, (n + 1) * day) for n in range(days))
    machines = tuple(
        PlanMachine(
            m.id,
            m.capability,
            calendar,
            site.material_change_minutes,
            m.materials[0] if m.materials else None,
        )
        for m in site.machines
    )
    operations = tuple(
        Operation(f"op{n}", 0, (Mode(machine, round(end - start)),), material=material)
        for n, (machine, start, end, material) in enumerate(placed)
    )
    assignments = tuple(
        Assignment(n, machine, round(start), round(end)) for n, (machine, start, end, _) in enumerate(placed)
    )
    return SchedulingProblem(machines, (Job("all"),), operations), Plan(assignments, "feasible", "queue")


def test_routing_lays_each_work_order_behind_the_last(
    make_site: Any, make_network: Net, keypad_demand: Any
) -> None:
    from microfactory.network.routing import Router

    router = Router(make_network(only=make_site(52.39, 13.06)))
    minutes = []
    for _ in range(12):
        decision = router.route(keypad_demand(color="black"), MONDAY_8)
        assert decision.site == "only" and decision.winner is not None
        minutes.append(decision.winner.work_minutes)
        router.assign(decision)
    assert minutes == sorted(minutes)  # work routed earlier in the run comes first
    print_minutes = keypad_demand(color="black").minutes["fdm_print"]
    assert minutes[-1] - minutes[0] >= 11 * print_minutes  # one printer: each waits for all before it
