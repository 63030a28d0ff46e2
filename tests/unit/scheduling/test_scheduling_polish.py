"""The site local search: valid plans under every rule, never worse, and it fixes what it should."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from scheduling_strategies import problems

from microfactory.scheduling.cpsat import SolverSettings, solve
from microfactory.scheduling.dispatch import dispatch
from microfactory.scheduling.model import Job, Machine, Mode, Objective, Operation, SchedulingProblem
from microfactory.scheduling.plan import Assignment, Plan, count_setups, evaluate
from microfactory.scheduling.polish import PolishLimits, polish
from microfactory.scheduling.validate import validate


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_polished_plans_are_valid_and_never_worse(problem: SchedulingProblem) -> None:
    objective = Objective()
    start = dispatch(problem, objective)
    plan = polish(problem, start, objective, PolishLimits(seconds=10, moves=60))
    assert validate(problem, plan) == []
    assert evaluate(problem, plan, objective).score <= evaluate(problem, start, objective).score


def _alternating() -> tuple[SchedulingProblem, Plan]:
    """Four 5-minute prints on one printer, materials A B A B, 10 minutes per change, in that order."""
    printer = Machine("P", material_change_minutes=10)
    jobs = tuple(Job(f"J{j}") for j in range(4))
    ops = tuple(Operation(f"o{j}", j, (Mode(0, 5),), material="AB"[j % 2]) for j in range(4))
    problem = SchedulingProblem((printer,), jobs, ops)
    starts = (0, 15, 30, 45)
    plan = Plan(tuple(Assignment(j, 0, s, s + 5) for j, s in enumerate(starts)), "feasible", "by hand")
    return problem, plan


def test_polish_groups_materials_to_save_changes() -> None:
    problem, start = _alternating()
    assert validate(problem, start) == []
    plan = polish(problem, start, Objective(), PolishLimits(seconds=10, moves=200))
    assert validate(problem, plan) == []
    assert (count_setups(problem, plan)[0], plan.makespan) == (1, 30)
    assert plan.solver == "by hand+polish"


def test_polish_brings_a_late_order_forward() -> None:
    """J1 is due early but was placed last; moving it first makes every order on time."""
    machine = Machine("M")
    jobs = (Job("J0", due=100), Job("J1", due=10))
    ops = (Operation("a", 0, (Mode(0, 20),)), Operation("b", 1, (Mode(0, 5),)))
    problem = SchedulingProblem((machine,), jobs, ops)
    start = Plan((Assignment(0, 0, 0, 20), Assignment(1, 0, 20, 25)), "feasible", "by hand")
    plan = polish(problem, start, Objective(), PolishLimits(seconds=10, moves=50))
    assert evaluate(problem, plan, Objective()).late_jobs == 0
    assert validate(problem, plan) == []


def test_deterministic_site_solves_repeat_with_the_polish() -> None:
    printers = tuple(Machine(f"P{m}", material_change_minutes=15) for m in range(3))
    jobs = tuple(Job(f"J{j}", release=3 * j, due=60 + 7 * j) for j in range(45))
    ops = tuple(
        Operation(f"o{j}", j, tuple(Mode(m, 10 + (j * m) % 7) for m in range(3)), material="ABC"[j % 3])
        for j in range(45)
    )
    problem = SchedulingProblem(printers, jobs, ops)
    chosen = SolverSettings(time_limit=0.4, deterministic=True)
    first, second = solve(problem, Objective(), chosen), solve(problem, Objective(), chosen)
    assert first.assignments == second.assignments
    assert validate(problem, first) == []
    baseline = evaluate(problem, dispatch(problem, Objective()), Objective()).score
    assert evaluate(problem, first, Objective()).score <= baseline


def _busy_site(operations: int = 300, seed: int = 5) -> SchedulingProblem:
    """Ten machines with working hours (6 printers with 15-minute material changes), orders of two
    prints then an assembly, four materials, tight due dates: a site of the demo's size."""
    rng = random.Random(seed)
    hours = tuple((d * 1440 + 360, d * 1440 + 1320) for d in range(60))
    machines = tuple(
        Machine(f"M{m}", calendar=hours, material_change_minutes=15 if m < 6 else 0) for m in range(10)
    )
    jobs: list[Job] = []
    ops: list[Operation] = []
    while len(ops) < operations:
        j, first = len(jobs), len(ops)
        release = rng.randint(0, 2880)
        jobs.append(Job(f"WO{j}", release=release, due=release + rng.randint(240, 1200)))
        material = rng.choice(["PLA-BLACK", "PLA-RED", "PLA-TEAL", "PLA-WHITE"])
        for k in range(2):
            printers = rng.sample(range(6), 3)
            ops.append(
                Operation(
                    f"WO{j}.{k}", j, tuple(Mode(m, rng.randint(20, 90)) for m in printers), material=material
                )
            )
        ops.append(
            Operation(
                f"WO{j}.2", j, (Mode(rng.choice((6, 7, 8, 9)), rng.randint(5, 30)),), after=(first, first + 1)
            )
        )
    return SchedulingProblem(machines, tuple(jobs), tuple(ops), name="busy-site")


def test_a_site_too_big_for_cpsat_in_its_budget_is_polished_from_the_dispatch_plan() -> None:
    """Its CP-SAT model would not be built in one second; the whole second goes to polish, which
    beats the dispatcher on material changes without letting any order be later."""
    problem = _busy_site()
    objective = Objective()
    plan = solve(problem, objective, SolverSettings(time_limit=1, workers=2, deterministic=True))
    assert validate(problem, plan) == []
    assert plan.solver.endswith("+polish")
    mine = evaluate(problem, plan, objective)
    baseline = evaluate(problem, dispatch(problem, objective), objective)
    assert mine.score < baseline.score
    assert mine.weighted_tardiness <= baseline.weighted_tardiness
    assert mine.setups < baseline.setups
