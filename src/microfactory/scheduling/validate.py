"""An independent check of a plan against its problem: every rule, every violation, in words.

It shares no code with the solvers on purpose: a bug in the CP-SAT model or in the dispatcher
must show up here rather than be repeated here. Tests run every plan they make through it.
"""

from __future__ import annotations

from microfactory.scheduling.model import SchedulingProblem
from microfactory.scheduling.plan import Plan


def validate(problem: SchedulingProblem, plan: Plan) -> list[str]:
    """Violations of the plan (empty when it is valid): coverage, eligibility, durations, release,
    precedence, fixed operations, calendars, machine overlap and material-change setups."""
    violations: list[str] = []
    ops = problem.operations
    if len(plan.assignments) != len(ops):
        return [f"plan has {len(plan.assignments)} assignments for {len(ops)} operations"]
    for index, (assignment, op) in enumerate(zip(plan.assignments, ops, strict=True)):
        name = f"operation {op.id}"
        if assignment.operation != index:
            violations.append(f"{name}: assignment {index} is for operation {assignment.operation}")
            continue
        if not 0 <= assignment.machine < len(problem.machines):
            violations.append(f"{name}: unknown machine {assignment.machine}")
            continue
        machine = problem.machines[assignment.machine]
        durations = [mode.duration for mode in op.modes if mode.machine == assignment.machine]
        if not durations:
            violations.append(f"{name}: machine {machine.id} is not eligible")
        elif assignment.end - assignment.start != durations[0]:
            violations.append(
                f"{name}: runs {assignment.end - assignment.start} min on {machine.id}, needs {durations[0]}"
            )
        if assignment.start < max(problem.jobs[j].release for j in op.all_jobs):
            violations.append(f"{name}: starts at {assignment.start} before its release")
        if op.fixed is not None and (assignment.machine, assignment.start) != op.fixed:
            violations.append(
                f"{name}: was fixed at {op.fixed}, planned at {(assignment.machine, assignment.start)}"
            )
        elif assignment.start < machine.available_from and op.fixed is None:
            violations.append(
                f"{name}: starts at {assignment.start}, {machine.id} is busy until {machine.available_from}"
            )
        if (
            machine.calendar is not None
            and op.fixed is None
            and not any(lo <= assignment.start and assignment.end <= hi for lo, hi in machine.calendar)
        ):
            violations.append(
                f"{name}: [{assignment.start}, {assignment.end}) is outside {machine.id}'s working time"
            )
        for before in op.after:
            if plan.assignments[before].end > assignment.start:
                violations.append(f"{name}: starts at {assignment.start} before {ops[before].id} ends")
    violations.extend(_machine_violations(problem, plan))
    return violations


def _machine_violations(problem: SchedulingProblem, plan: Plan) -> list[str]:
    violations: list[str] = []
    per_machine: dict[int, list[tuple[int, int, int]]] = {}
    for a in plan.assignments:
        per_machine.setdefault(a.machine, []).append((a.start, a.end, a.operation))
    for machine_index, runs in per_machine.items():
        if not 0 <= machine_index < len(problem.machines):
            continue
        machine = problem.machines[machine_index]
        runs.sort()
        previous_end = None
        loaded = machine.initial_material
        for start, end, index in runs:
            op = problem.operations[index]
            setup = 0
            if loaded is not None and op.material is not None and loaded != op.material:
                setup = problem.setup_matrix.get((loaded, op.material), machine.material_change_minutes)
            if previous_end is not None and start < previous_end + setup:
                what = (
                    "overlaps the previous operation"
                    if start < previous_end
                    else f"leaves less than {setup} min setup"
                )
                violations.append(f"operation {op.id} on {machine.id} {what}")
            elif (
                previous_end is None and setup and start < machine.available_from + setup and op.fixed is None
            ):
                violations.append(
                    f"operation {op.id} on {machine.id} leaves less than {setup} min initial setup"
                )
            previous_end = end if previous_end is None else max(previous_end, end)
            loaded = op.material
    return violations
