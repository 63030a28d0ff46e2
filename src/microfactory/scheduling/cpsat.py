"""The CP-SAT model: optional intervals per eligible machine, no-overlap, setups, calendars.

Why this shape (docs/decisions/0005-scheduling-cpsat.md): one start/end pair per operation and one
optional interval per eligible machine is the formulation CP-SAT's scheduling propagators and LNS
are built for. Material-change setups use a circuit per machine (exact, and it counts changes) while
a machine has few candidates; beyond that a conservative reservation keeps the model small and a
left-shift recovers the slack. The dispatcher's plan is the hint, so the first solution is there at
once, and bounds the horizon, which tightens every domain.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from ortools.sat.python import cp_model
from ortools.util.python import sorted_interval_list

from microfactory.scheduling import polish, tabu
from microfactory.scheduling.cpsat_terms import ModelVars, energy, hint, objective_terms
from microfactory.scheduling.dispatch import Infeasible, compact, decode, dispatch
from microfactory.scheduling.model import Objective, SchedulingProblem
from microfactory.scheduling.plan import Assignment, Plan, evaluate
from microfactory.scheduling.validate import validate

Domain = sorted_interval_list.Domain
POLISH_MIN_OPERATIONS = 40
POLISH_MOVES_PER_SECOND = 200  # polish moves per second of budget when runs must repeat exactly
DETERMINISTIC_MOVES_PER_SECOND = 2000  # tabu moves per second of budget when runs must repeat exactly


@dataclass(frozen=True, slots=True)
class SolverSettings:
    """How hard and how cleverly to search. `plain()` is the untuned baseline the benchmark compares with."""

    time_limit: float = 10.0
    workers: int = 8
    warm_start: bool = True
    hint_times: bool = True  # hint starts and ends too, not only the machine of each operation
    probe_share: float = 0.5  # flexible makespan problems: share of time searched without the hint first
    # makespan problems without setups or calendars: share of time for the tabu search (tabu.py)
    # before CP-SAT continues from its plan; 0 turns it off
    search_share: float = 0.6
    # site-like problems (due dates or setups, at least POLISH_MIN_OPERATIONS): share of time for
    # the local search of polish.py after CP-SAT; 0 turns it off
    polish_share: float = 0.25
    tight_horizon: bool = True
    circuit_limit: int = 150  # candidates on one machine above which setups are reserved conservatively
    energy: bool = True  # redundant machine-load rows: each machine's load fits in the makespan
    tiny_time: float = 0.05  # below this time limit the dispatcher's plan is the answer
    seed: int = 0
    # Same input, same plan: one worker and a budget in CP-SAT's deterministic time (about seconds,
    # but counted in work done), so a loaded machine or a fast one finds the same plan (the demo).
    deterministic: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # raw CP-SAT parameters, for experiments

    @classmethod
    def plain(cls, time_limit: float = 10.0, workers: int = 8) -> SolverSettings:
        return cls(
            time_limit=time_limit,
            workers=workers,
            warm_start=False,
            tight_horizon=False,
            energy=False,
            search_share=0,
            polish_share=0,
        )


def solve(
    problem: SchedulingProblem,
    objective: Objective | None = None,
    settings: SolverSettings | None = None,
    initial: Plan | None = None,
) -> Plan:
    """The best plan found within the time limit: optimal when CP-SAT proves it, else feasible.

    `initial` (e.g. the previous plan when replanning) is used as the warm start when it is valid
    and better than the dispatcher's.
    """
    started = time.perf_counter()
    objective = objective or Objective()
    settings = settings or SolverSettings()
    if (
        settings.warm_start
        and settings.search_share > 0
        and objective.is_makespan_only
        and settings.time_limit >= settings.tiny_time
        and tabu.applicable(problem)
    ):
        return _search_then_solve(problem, objective, settings, initial, started)
    if _polishes(problem, settings):
        return _solve_then_polish(problem, objective, settings, initial, started)
    flexible = any(len(op.modes) > 1 for op in problem.operations)
    if settings.warm_start and settings.probe_share > 0 and flexible and objective.is_makespan_only:
        return _probe_then_hint(problem, objective, settings, initial, started)
    warm = dispatch(problem, objective)
    if (
        initial is not None
        and not validate(problem, initial)
        and evaluate(problem, initial, objective).score < evaluate(problem, warm, objective).score
    ):
        warm = initial
    if settings.time_limit < settings.tiny_time or not problem.operations:
        return replace(warm, seconds=time.perf_counter() - started)
    best_known = warm  # the answer if CP-SAT cannot beat it
    model = cp_model.CpModel()
    reserved = _reservations(problem, settings.circuit_limit)
    if reserved:  # make the hint satisfy the conservative setups, else CP-SAT cannot use it
        warm = decode(
            problem,
            warm,
            lambda m, loaded, i: reserved.get(
                (i, m), problem.setup(m, loaded, problem.operations[i].material)
            ),
        )
    horizon = _horizon(problem, warm, objective, settings)
    variables = _build(model, problem, horizon, reserved)
    cost_terms = objective_terms(model, problem, objective, variables, horizon)
    if settings.energy:
        energy(model, problem, variables, cost_terms["makespan"])
    if settings.warm_start:
        hint(model, problem, variables, warm, cost_terms, settings.hint_times)
    solver = cp_model.CpSolver()
    _budget(solver, settings, started)
    solver.parameters.random_seed = settings.seed
    for key, value in settings.extra.items():
        if isinstance(value, list):
            getattr(solver.parameters, key).extend(value)
        else:
            setattr(solver.parameters, key, value)
    status = solver.StatusName(solver.Solve(model))
    lower_bound = None
    if objective.is_makespan_only and not variables.conservative and status in ("OPTIMAL", "FEASIBLE"):
        lower_bound = math.ceil(solver.BestObjectiveBound() / objective.makespan - 1e-6)
    if status not in ("OPTIMAL", "FEASIBLE"):
        note = f"CP-SAT {status}: dispatch plan kept"
        return replace(best_known, seconds=time.perf_counter() - started, notes=(note,))
    plan = _extract(problem, variables, solver)
    proven = status == "OPTIMAL" and not variables.conservative
    plan = Plan(plan.assignments, "optimal" if proven else "feasible", "cp-sat", lower_bound)
    if variables.conservative:
        plan = compact(problem, plan)
    if evaluate(problem, best_known, objective).score < evaluate(problem, plan, objective).score:
        plan = replace(best_known, lower_bound=lower_bound)
    return replace(plan, seconds=time.perf_counter() - started)


def _probe_then_hint(
    problem: SchedulingProblem,
    objective: Objective,
    settings: SolverSettings,
    initial: Plan | None,
    started: float,
) -> Plan:
    """Search a while without the hint, then again from the better of that plan and the dispatcher's.

    On flexible job shops a greedy plan's machine choices can anchor the search in a poor region
    (mk10: 252 as a hint, 226 after 10 s; 215 without it); a short unhinted probe avoids that and
    the second phase still starts from a complete solution.
    """
    probe = solve(
        problem,
        objective,
        replace(
            settings, time_limit=settings.time_limit * settings.probe_share, warm_start=False, probe_share=0
        ),
    )
    if probe.status == "optimal":
        return replace(probe, seconds=time.perf_counter() - started)
    remaining = settings.time_limit * (1 - settings.probe_share)
    if not settings.deterministic:
        remaining = settings.time_limit - (time.perf_counter() - started)
    better = initial if initial is not None and initial.makespan < probe.makespan else probe
    final = solve(
        problem,
        objective,
        replace(settings, time_limit=remaining, probe_share=0, seed=settings.seed + 1),
        better,
    )
    bounds = [b for b in (probe.lower_bound, final.lower_bound) if b is not None]
    if probe.makespan < final.makespan:
        final = probe
    return replace(final, lower_bound=max(bounds) if bounds else None, seconds=time.perf_counter() - started)


def _polishes(problem: SchedulingProblem, settings: SolverSettings) -> bool:
    """Site-like problems: enough operations, and due dates or material changes to get right."""
    if settings.polish_share <= 0 or settings.time_limit < settings.tiny_time:
        return False
    if len(problem.operations) < POLISH_MIN_OPERATIONS:
        return False
    return any(job.due is not None for job in problem.jobs) or not tabu.applicable(problem)


def _solve_then_polish(
    problem: SchedulingProblem,
    objective: Objective,
    settings: SolverSettings,
    initial: Plan | None,
    started: float,
) -> Plan:
    """CP-SAT (or the dispatcher, when CP-SAT finds nothing) for most of the time, then polish.py."""
    share = settings.time_limit * settings.polish_share
    first = solve(
        problem, objective, replace(settings, time_limit=settings.time_limit - share, polish_share=0), initial
    )
    if first.status == "optimal":
        return first
    remaining = share
    if not settings.deterministic:
        remaining = settings.time_limit - (time.perf_counter() - started)
    limits = polish.PolishLimits(
        seconds=remaining,
        moves=int(share * POLISH_MOVES_PER_SECOND) if settings.deterministic else None,
        seed=settings.seed,
    )
    better = polish.polish(problem, first, objective, limits)
    return replace(better, seconds=time.perf_counter() - started)


def _search_then_solve(
    problem: SchedulingProblem,
    objective: Objective,
    settings: SolverSettings,
    initial: Plan | None,
    started: float,
) -> Plan:
    """Tabu search from the dispatcher's plan for `search_share` of the time, then CP-SAT from its plan.

    The better plan of the first phase is CP-SAT's hint and horizon (so CP-SAT's LNS starts near
    the optimum and its domains are tight) and the answer if CP-SAT finds nothing better; the
    bound is the best of all.
    """
    warm = dispatch(problem, objective)
    if initial is not None and not validate(problem, initial) and initial.makespan < warm.makespan:
        warm = initial
    share = settings.time_limit * settings.search_share
    limits = tabu.SearchLimits(
        seconds=share,
        iterations=int(share * DETERMINISTIC_MOVES_PER_SECOND) if settings.deterministic else None,
        seed=settings.seed,
    )
    found, other = _tabu_beside_cpsat(problem, objective, settings, warm, limits)
    if other is not None and other.status == "optimal":
        return replace(other, seconds=time.perf_counter() - started)
    if other is None:
        other = found
    bound = max(b for b in (found.lower_bound, other.lower_bound, 0) if b is not None)
    if other.makespan < found.makespan:
        found = other
    if found.makespan <= bound:
        return replace(found, status="optimal", lower_bound=bound, seconds=time.perf_counter() - started)
    found = replace(found, lower_bound=bound)
    remaining = settings.time_limit - share
    if not settings.deterministic:
        remaining = settings.time_limit - (time.perf_counter() - started)
    final = solve(
        problem, objective, replace(settings, time_limit=remaining, search_share=0, probe_share=0), found
    )
    bound = max(bound, final.lower_bound or 0)
    status = "optimal" if final.makespan <= bound else final.status
    return replace(final, status=status, lower_bound=bound, seconds=time.perf_counter() - started)


def _tabu_beside_cpsat(
    problem: SchedulingProblem,
    objective: Objective,
    settings: SolverSettings,
    warm: Plan,
    limits: tabu.SearchLimits,
) -> tuple[Plan, Plan | None]:
    """The tabu plan and, with two workers or more, an unhinted CP-SAT plan found meanwhile.

    The tabu search uses one core; CP-SAT (which releases the GIL while it solves) uses the other
    workers at the same time, so every core works from the first second, as the plain model's do.
    """
    if settings.workers < 2 or settings.deterministic:
        return tabu.improve(problem, warm, limits), None
    partner_settings = replace(
        settings,
        time_limit=limits.seconds,
        workers=settings.workers - 1,
        warm_start=False,
        search_share=0,
        polish_share=0,
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        partner = pool.submit(solve, problem, objective, partner_settings)
        found = tabu.improve(problem, warm, limits)
        return found, partner.result()


def _budget(solver: cp_model.CpSolver, settings: SolverSettings, started: float) -> None:
    """Time and workers: wall-clock seconds left, or (deterministic) work units and one worker."""
    if settings.deterministic:
        solver.parameters.max_deterministic_time = max(0.01, settings.time_limit)
        solver.parameters.max_time_in_seconds = max(60.0, 20 * settings.time_limit)  # a safety net only
        solver.parameters.num_workers = 1
        return
    solver.parameters.max_time_in_seconds = max(0.01, settings.time_limit - (time.perf_counter() - started))
    solver.parameters.num_workers = settings.workers


def _horizon(problem: SchedulingProblem, warm: Plan, objective: Objective, settings: SolverSettings) -> int:
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


def _reservations(problem: SchedulingProblem, circuit_limit: int) -> dict[tuple[int, int], int]:
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


def _build(
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


def _extract(problem: SchedulingProblem, variables: ModelVars, solver: cp_model.CpSolver) -> Plan:
    assignments = []
    for index in range(len(problem.operations)):
        start = solver.Value(variables.starts[index])
        for machine, duration, literal in variables.presence[index]:
            if literal is None or solver.BooleanValue(literal):
                assignments.append(Assignment(index, machine, start, start + duration))
                break
    return Plan(tuple(assignments), "feasible", "cp-sat")
