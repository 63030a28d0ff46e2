"""The CP-SAT model's variables and constraints: intervals per eligible machine, setups, calendars.

Split from `cpsat.py` (which runs the solver) so that the formulation reads on its own; the
objective, redundant rows and hints are in `cpsat_terms.py`.
"""

from __future__ import annotations

from typing import Any

from ortools.sat.python import cp_model
from ortools.util.python import sorted_interval_list

from microfactory.scheduling.cpsat_terms import ModelVars
from microfactory.scheduling.dispatch import Infeasible
from microfactory.scheduling.model import Objective, SchedulingProblem
from microfactory.scheduling.plan import Assignment, Plan
from microfactory.scheduling.solver_settings import SolverSettings

Domain = sorted_interval_list.Domain


def horizon(problem: SchedulingProblem, warm: Plan, objective: Objective, settings: SolverSettings) -> int:
    if settings.tight_horizon and objective.is_makespan_only:
        return warm.makespan  # an optimal plan is never longer than one we already have
    releases = max((job.release for job in problem.jobs), default=0)
    available = max((m.available_from for m in problem.machines), default=0)
    biggest_setup = max(
        [m.material_change_minutes for m in problem.machines] + list(problem.setup_matrix.values())
    )
    work = sum(op.max_duration + biggest_setup for op in problem.operations)
    fixed_end = max((op.fixed[1] + op.max_duration for op in problem.operations if op.fixed), default=0)
    naive = max(releases, available, fixed_end) + work
    if settings.tight_horizon:
        naive = min(naive, warm.makespan + work // 2)
    return max(naive, warm.makespan)  # a plan we hold always fits


def size(problem: SchedulingProblem, circuit_limit: int) -> int:
    """About how many terms the model has: circuit arcs (candidates squared) dominate on machines
    with material changes, one interval per candidate elsewhere. Building costs time in Python
    (about 15,000 arcs a second on a loaded core), so the phases compare it with the budget."""
    total = 0
    for m in range(len(problem.machines)):
        candidates = [op for op in problem.operations if op.duration_on(m) is not None]
        materials = {op.material for op in candidates if op.material is not None}
        setups = len(materials) > 1 and any(problem.setup(m, a, b) for a in materials for b in materials)
        circuit = setups and len(candidates) <= circuit_limit
        total += len(candidates) ** 2 if circuit else len(candidates)
    return total


def reservations(problem: SchedulingProblem, circuit_limit: int) -> dict[tuple[int, int], int]:
    """Setups reserved in front of each (operation, machine) on machines too busy for a circuit.

    The reservation is the largest setup into the operation's material from any material the machine
    may hold, so any sequence the model allows is valid; `decode` takes the slack back afterwards.
    """
    reserved: dict[tuple[int, int], int] = {}
    for m, machine in enumerate(problem.machines):
        candidates = [i for i, op in enumerate(problem.operations) if op.duration_on(m) is not None]
        if len(candidates) <= circuit_limit:
            continue
        materials = {problem.operations[i].material for i in candidates} | {machine.initial_material}
        materials.discard(None)
        if not any(problem.setup(m, a, b) for a in materials for b in materials):
            continue
        for i in candidates:
            if problem.operations[i].fixed is None:
                reserved[(i, m)] = max(problem.setup(m, a, problem.operations[i].material) for a in materials)
    return reserved


def _calendar_domain(calendar: tuple[tuple[int, int], ...], duration: int) -> Any:
    starts = [[lo, hi - duration] for lo, hi in calendar if hi - lo >= duration]
    return Domain.FromIntervals(starts) if starts else Domain()


def build(
    model: cp_model.CpModel, problem: SchedulingProblem, horizon: int, reserved: dict[tuple[int, int], int]
) -> ModelVars:
    starts: list[Any] = []
    ends: list[Any] = []
    presence: list[list[tuple[int, int, Any]]] = []
    per_machine: list[list[tuple[int, int, Any, Any]]] = [[] for _ in problem.machines]
    for index, op in enumerate(problem.operations):
        modes = [m for m in op.modes if op.fixed is None or m.machine == op.fixed[0]]
        if not modes:
            raise Infeasible(f"operation {op.id} is fixed on a machine it cannot use")
        low = problem.release_of(index) if op.fixed is None else op.fixed[1]
        high = max(horizon, low) if op.fixed is None else op.fixed[1]
        start = model.NewIntVar(low, high, f"s{index}")
        end = model.NewIntVar(low, high + op.max_duration, f"e{index}")
        starts.append(start)
        ends.append(end)
        chosen: list[tuple[int, int, Any]] = []
        for mode in modes:
            literal = model.NewBoolVar(f"p{index}_{mode.machine}") if len(modes) > 1 else None
            enforce = [literal] if literal is not None else []
            model.Add(end == start + mode.duration).OnlyEnforceIf(enforce)
            machine = problem.machines[mode.machine]
            if machine.calendar is not None and op.fixed is None:
                model.AddLinearExpressionInDomain(
                    start, _calendar_domain(machine.calendar, mode.duration)
                ).OnlyEnforceIf(enforce)
            if machine.available_from > low and op.fixed is None:
                model.Add(start >= machine.available_from).OnlyEnforceIf(enforce)
            chosen.append((mode.machine, mode.duration, literal))
            per_machine[mode.machine].append((index, mode.duration, literal, start))
        if len(chosen) > 1:
            model.AddExactlyOne([literal for _, _, literal in chosen])
        presence.append(chosen)
    for index, op in enumerate(problem.operations):
        for before in op.after:
            model.Add(starts[index] >= ends[before])
    variables = ModelVars(starts, ends, presence)
    for machine_index, candidates in enumerate(per_machine):
        _machine_constraints(model, problem, machine_index, candidates, variables, reserved)
    return variables


def _machine_constraints(
    model: cp_model.CpModel,
    problem: SchedulingProblem,
    m: int,
    candidates: list[tuple[int, int, Any, Any]],
    variables: ModelVars,
    reserved: dict[tuple[int, int], int],
) -> None:
    machine = problem.machines[m]
    ops = problem.operations
    materials = {ops[i].material for i, *_ in candidates if ops[i].material is not None}
    if machine.initial_material is not None:
        materials.add(machine.initial_material)
    needs_setups = len(materials) > 1 and any(
        problem.setup(m, a, b) > 0 for a in materials for b in materials if a != b
    )
    intervals = []
    conservative = any((index, m) in reserved for index, *_ in candidates)
    for index, duration, literal, start in candidates:
        ahead = reserved.get((index, m), 0)
        if literal is None:
            intervals.append(
                model.NewIntervalVar(start - ahead, duration + ahead, start + duration, f"i{index}_{m}")
            )
        else:
            intervals.append(
                model.NewOptionalIntervalVar(
                    start - ahead, duration + ahead, start + duration, literal, f"i{index}_{m}"
                )
            )
        if ahead:
            model.Add(start >= machine.available_from + ahead).OnlyEnforceIf(
                [literal] if literal is not None else []
            )
    model.AddNoOverlap(intervals)
    if conservative:
        variables.conservative = True
    elif needs_setups:
        _circuit(model, problem, m, candidates, variables)


def _circuit(
    model: cp_model.CpModel,
    problem: SchedulingProblem,
    m: int,
    candidates: list[tuple[int, int, Any, Any]],
    variables: ModelVars,
) -> None:
    """Sequence the machine's operations as a circuit through a depot; arcs carry the setup."""
    machine = problem.machines[m]
    ops = problem.operations
    arcs: list[tuple[int, int, Any]] = []
    empty = model.NewBoolVar(f"empty{m}")
    arcs.append((0, 0, empty))
    for k, (index, _, literal, start) in enumerate(candidates, start=1):
        if literal is not None:
            arcs.append((k, k, literal.Not()))
        first = model.NewBoolVar(f"first{m}_{index}")
        arcs.append((0, k, first))
        initial = problem.setup(m, machine.initial_material, ops[index].material)
        if initial and ops[index].fixed is None:
            model.Add(start >= machine.available_from + initial).OnlyEnforceIf(first)
            variables.setup_literals.append(first)
        arcs.append((k, 0, model.NewBoolVar(f"last{m}_{index}")))
    for k, (i, _, _, _) in enumerate(candidates, start=1):
        for h, (j, _, _, start_j) in enumerate(candidates, start=1):
            if i == j:
                continue
            literal = model.NewBoolVar(f"a{m}_{i}_{j}")
            arcs.append((k, h, literal))
            setup = problem.setup(m, ops[i].material, ops[j].material)
            model.Add(start_j >= variables.ends[i] + setup).OnlyEnforceIf(literal)
            if setup:
                variables.setup_literals.append(literal)
    model.AddCircuit(arcs)
    variables.arcs[m] = arcs


def extract(problem: SchedulingProblem, variables: ModelVars, solver: cp_model.CpSolver) -> Plan:
    assignments = []
    for index in range(len(problem.operations)):
        start = solver.Value(variables.starts[index])
        for machine, duration, literal in variables.presence[index]:
            if literal is None or solver.BooleanValue(literal):
                assignments.append(Assignment(index, machine, start, start + duration))
                break
    return Plan(tuple(assignments), "feasible", "cp-sat")
