"""Dispatcher and CP-SAT: every plan passes the independent validator; CP-SAT is never worse."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from scheduling_strategies import problems

from microfactory.scheduling.cpsat import SolverSettings, solve
from microfactory.scheduling.dispatch import compact, dispatch, dispatch_rule
from microfactory.scheduling.fjs import read_fjs
from microfactory.scheduling.model import Job, Machine, Mode, Objective, Operation, SchedulingProblem
from microfactory.scheduling.plan import evaluate
from microfactory.scheduling.validate import validate

QUICK = SolverSettings(time_limit=0.5, workers=2)


@settings(max_examples=40, deadline=None)
@given(problems())
def test_every_dispatching_rule_gives_a_valid_plan(problem: SchedulingProblem) -> None:
    for rule in ("ect", "mwkr", "edd", "fill"):
        plan = dispatch_rule(problem, rule)
        assert validate(problem, plan) == [], rule
        assert validate(problem, compact(problem, plan)) == []
        assert compact(problem, plan).makespan <= plan.makespan


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_cpsat_plans_are_valid_and_no_worse_than_the_dispatcher(problem: SchedulingProblem) -> None:
    objective = Objective()
    plan = solve(problem, objective, QUICK)
    assert validate(problem, plan) == []
    assert (
        evaluate(problem, plan, objective).score
        <= evaluate(problem, dispatch(problem, objective), objective).score
    )


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(calendars=False))
def test_conservative_setups_stay_valid_when_the_circuit_is_too_big(problem: SchedulingProblem) -> None:
    plan = solve(problem, Objective(), SolverSettings(time_limit=0.5, workers=2, circuit_limit=1))
    assert validate(problem, plan) == []


def _two_materials() -> SchedulingProblem:
    machine = Machine("P1", material_change_minutes=30)
    jobs = tuple(Job(f"J{i}") for i in range(4))
    ops = tuple(
        Operation(f"o{i}", i, (Mode(0, 10),), material="PLA" if i % 2 == 0 else "PETG") for i in range(4)
    )
    return SchedulingProblem((machine,), jobs, ops)


def test_cpsat_groups_materials_to_save_setups() -> None:
    problem = _two_materials()
    plan = solve(problem, Objective.makespan_only(), QUICK)
    assert validate(problem, plan) == []
    assert plan.makespan == 70  # four prints and a single material change
    assert plan.status == "optimal" and plan.lower_bound == 70
    assert evaluate(problem, plan, Objective()).setups == 1


def test_weighted_lateness_comes_first() -> None:
    machine = Machine("M")
    jobs = (Job("long", due=100, weight=1), Job("rush", due=5, weight=5))
    ops = (Operation("a", 0, (Mode(0, 20),)), Operation("b", 1, (Mode(0, 5),)))
    problem = SchedulingProblem((machine,), jobs, ops)
    plan = solve(problem, Objective(), QUICK)
    assert plan.assignments[1].start == 0
    assert evaluate(problem, plan, Objective()).late_jobs == 0


def test_a_tiny_time_limit_answers_with_the_dispatch_plan() -> None:
    problem = _two_materials()
    plan = solve(problem, Objective(), SolverSettings(time_limit=0.0))
    assert plan.solver.startswith("dispatch")
    assert validate(problem, plan) == []


def test_calendars_keep_operations_inside_working_time() -> None:
    machine = Machine("M", calendar=((0, 8), (16, 24), (32, 1000)))
    jobs = (Job("J"),)
    ops = tuple(Operation(f"o{k}", 0, (Mode(0, 6),), after=(k - 1,) if k else ()) for k in range(3))
    problem = SchedulingProblem((machine,), jobs, ops)
    plan = solve(problem, Objective.makespan_only(), QUICK)
    assert [a.start for a in plan.assignments] == [0, 16, 32]
    assert validate(problem, plan) == []


def test_fixed_operations_stay_where_they_are() -> None:
    machines = (Machine("A"), Machine("B"))
    jobs = (Job("J"),)
    ops = (
        Operation("a", 0, (Mode(0, 5), Mode(1, 5)), fixed=(1, 3)),
        Operation("b", 0, (Mode(0, 2),), after=(0,)),
    )
    problem = SchedulingProblem(machines, jobs, ops)
    plan = solve(problem, Objective(), QUICK)
    assert (plan.assignments[0].machine, plan.assignments[0].start) == (1, 3)
    assert plan.assignments[1].start == 8
    assert validate(problem, plan) == []


def test_the_fill_rule_puts_an_operation_into_a_gap_the_others_leave() -> None:
    """B's parts print early on their own printer; its assembly need not wait on the bench for A's,
    which is due first but whose parts print late."""
    machines = (Machine("print-a"), Machine("bench"), Machine("print-b"))
    operations = (
        Operation("a-print", 0, (Mode(0, 300),)),
        Operation("a-assemble", 0, (Mode(1, 10),), after=(0,)),
        Operation("b-print", 1, (Mode(2, 20),)),
        Operation("b-assemble", 1, (Mode(1, 10),), after=(2,)),
    )
    problem = SchedulingProblem(machines, (Job("A", due=400), Job("B", due=500)), operations)
    appended, filled = dispatch_rule(problem, "edd"), dispatch_rule(problem, "fill")
    assert appended.assignments[3].start == 310  # behind A's assembly
    assert (filled.assignments[3].start, filled.assignments[1].start) == (20, 300)  # A keeps its place
    assert validate(problem, filled) == []
    assert dispatch(problem).makespan == 310  # `fill` runs when there are due dates


def test_a_deterministic_budget_gives_the_same_plan_again() -> None:
    """The demo's promise: the same problem, the same plan, however busy the machine is."""
    problem = read_fjs(Path(__file__).parents[3] / "benchmarks" / "data" / "fjs" / "mk01.fjs")
    budget = SolverSettings(time_limit=0.3, deterministic=True)
    first, second = solve(problem, Objective(), budget), solve(problem, Objective(), budget)
    assert validate(problem, first) == []
    assert first.assignments == second.assignments and first.solver == "cp-sat"
