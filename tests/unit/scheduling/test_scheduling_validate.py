"""The validator catches each kind of broken plan, and says which operation and rule."""

from __future__ import annotations

from microfactory.scheduling.model import Job, Machine, Mode, Operation, SchedulingProblem
from microfactory.scheduling.plan import Assignment, Plan
from microfactory.scheduling.validate import validate


def _problem(**machine: object) -> SchedulingProblem:
    machines = (Machine("A", **machine), Machine("B"))  # type: ignore[arg-type]
    jobs = (Job("J", release=0),)
    ops = (
        Operation("x", 0, (Mode(0, 5), Mode(1, 7)), material="PLA"),
        Operation("y", 0, (Mode(0, 3),), after=(0,), material="PETG"),
    )
    return SchedulingProblem(machines, jobs, ops)


def _plan(*rows: tuple[int, int, int, int]) -> Plan:
    return Plan(tuple(Assignment(*row) for row in rows), "feasible", "test")


def test_a_valid_plan_has_no_violations() -> None:
    assert validate(_problem(), _plan((0, 1, 0, 7), (1, 0, 7, 10))) == []


def test_precedence_overlap_eligibility_and_duration_are_reported() -> None:
    problem = _problem()
    assert any("before x ends" in v for v in validate(problem, _plan((0, 1, 0, 7), (1, 0, 6, 9))))
    assert any("overlaps" in v for v in validate(problem, _plan((0, 0, 0, 5), (1, 0, 4, 7))))
    assert any("not eligible" in v for v in validate(problem, _plan((0, 1, 0, 7), (1, 1, 7, 10))))
    assert any("needs 5" in v for v in validate(problem, _plan((0, 0, 0, 4), (1, 0, 7, 10))))
    assert any("assignments" in v for v in validate(problem, _plan((0, 0, 0, 5))))


def test_material_change_needs_its_setup_gap() -> None:
    problem = _problem(material_change_minutes=4)
    assert any("setup" in v for v in validate(problem, _plan((0, 0, 0, 5), (1, 0, 6, 9))))
    assert validate(problem, _plan((0, 0, 0, 5), (1, 0, 9, 12))) == []


def test_initial_material_needs_a_setup_before_the_first_operation() -> None:
    problem = _problem(material_change_minutes=4, initial_material="PETG")
    assert any("initial setup" in v for v in validate(problem, _plan((0, 0, 0, 5), (1, 0, 9, 12))))
    assert validate(problem, _plan((0, 0, 4, 9), (1, 0, 13, 16))) == []


def test_operations_must_sit_inside_one_working_interval() -> None:
    problem = _problem(calendar=((0, 6), (10, 20)))
    assert validate(problem, _plan((0, 0, 0, 5), (1, 0, 10, 13))) == []
    violations = validate(problem, _plan((0, 0, 0, 5), (1, 0, 5, 8)))
    assert any("outside A's working time" in v for v in violations)


def test_release_and_fixed_operations_are_respected() -> None:
    base = _problem()
    late = SchedulingProblem(base.machines, (Job("J", release=2),), base.operations)
    assert any("before its release" in v for v in validate(late, _plan((0, 1, 0, 7), (1, 0, 7, 10))))
    pinned = SchedulingProblem(
        base.machines,
        base.jobs,
        (Operation("x", 0, base.operations[0].modes, fixed=(1, 0)), base.operations[1]),
    )
    assert any("was fixed" in v for v in validate(pinned, _plan((0, 0, 0, 5), (1, 0, 7, 10))))
