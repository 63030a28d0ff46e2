"""Solve a scheduling problem: pick the phases (`phases.py`), run CP-SAT on the model (`cpsat_model.py`).

Why this shape (docs/decisions/0005-scheduling-cpsat.md): one start/end pair per operation and one
optional interval per eligible machine is the formulation CP-SAT's scheduling propagators and LNS
are built for. Material-change setups use a circuit per machine (exact, and it counts changes) while
a machine has few candidates; beyond that a conservative reservation keeps the model small and a
left-shift recovers the slack. The dispatcher's plan (or the tabu search's, decision 0010) is the
hint, so the first solution is there at once, and bounds the horizon, which tightens every domain.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

from ortools.sat.python import cp_model

from microfactory.scheduling import cpsat_model, phases, tabu
from microfactory.scheduling.cpsat_terms import energy, hint, objective_terms
from microfactory.scheduling.dispatch import compact, decode, dispatch
from microfactory.scheduling.model import Objective, SchedulingProblem
from microfactory.scheduling.plan import Plan, evaluate
from microfactory.scheduling.solver_settings import SolverSettings
from microfactory.scheduling.validate import validate

__all__ = ["SolverSettings", "solve"]


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
        return phases.search_then_solve(_solve, problem, objective, settings, initial, started)
    if phases.polishes(problem, settings):
        return phases.solve_then_polish(_solve, problem, objective, settings, initial, started)
    flexible = any(len(op.modes) > 1 for op in problem.operations)
    if settings.warm_start and settings.probe_share > 0 and flexible and objective.is_makespan_only:
        return phases.probe_then_hint(_solve, problem, objective, settings, initial, started)
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
    reserved = cpsat_model.reservations(problem, settings.circuit_limit)
    if reserved:  # make the hint satisfy the conservative setups, else CP-SAT cannot use it
        warm = decode(
            problem,
            warm,
            lambda m, loaded, i: reserved.get(
                (i, m), problem.setup(m, loaded, problem.operations[i].material)
            ),
        )
    horizon = cpsat_model.horizon(problem, warm, objective, settings)
    variables = cpsat_model.build(model, problem, horizon, reserved)
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
    plan = cpsat_model.extract(problem, variables, solver)
    proven = status == "OPTIMAL" and not variables.conservative
    plan = Plan(plan.assignments, "optimal" if proven else "feasible", "cp-sat", lower_bound)
    if variables.conservative:
        plan = compact(problem, plan)
    if evaluate(problem, best_known, objective).score < evaluate(problem, plan, objective).score:
        plan = replace(best_known, lower_bound=lower_bound)
    return replace(plan, seconds=time.perf_counter() - started)


def _budget(solver: cp_model.CpSolver, settings: SolverSettings, started: float) -> None:
    """Time and workers: wall-clock seconds left, or (deterministic) work units and one worker."""
    if settings.deterministic:
        solver.parameters.max_deterministic_time = max(0.01, settings.time_limit)
        solver.parameters.max_time_in_seconds = max(60.0, 20 * settings.time_limit)  # a safety net only
        solver.parameters.num_workers = 1
        return
    solver.parameters.max_time_in_seconds = max(0.01, settings.time_limit - (time.perf_counter() - started))
    solver.parameters.num_workers = settings.workers


def _solve(
    problem: SchedulingProblem, objective: Objective, settings: SolverSettings, initial: Plan | None
) -> Plan:
    """`solve` with every argument given: the callback the phases use."""
    return solve(problem, objective, settings, initial)
