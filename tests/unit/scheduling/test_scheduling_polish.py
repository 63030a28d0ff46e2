"""The site local search: valid plans under every rule, never worse, and it fixes what it should."""

from __future__ import annotations

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
