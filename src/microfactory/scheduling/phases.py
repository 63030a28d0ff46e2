"""The solver's phases: how CP-SAT, the tabu search and polish share one time budget.

Split from `cpsat.py` (docs/decisions/0010-scheduling-search.md). `cpsat.solve` picks a phase by
the kind of problem; each phase calls back into `solve` (passed in, so the modules do not import
each other) for its CP-SAT part with the phase switched off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from microfactory.scheduling import cpsat_model, polish, tabu
from microfactory.scheduling.dispatch import dispatch
from microfactory.scheduling.model import Objective, SchedulingProblem
from microfactory.scheduling.plan import Plan, evaluate
from microfactory.scheduling.solver_settings import (
    CPSAT_TERMS_PER_SECOND,
    DETERMINISTIC_MOVES_PER_SECOND,
    POLISH_MIN_OPERATIONS,
    POLISH_MOVES_PER_SECOND,
    SolverSettings,
)
from microfactory.scheduling.validate import validate

Solve = Callable[[SchedulingProblem, Objective, SolverSettings, Plan | None], Plan]


def probe_then_hint(
    solve: Solve,
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
        None,
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


def polishes(problem: SchedulingProblem, settings: SolverSettings) -> bool:
    """Site-like problems: enough operations, and due dates or material changes to get right."""
    if settings.polish_share <= 0 or settings.time_limit < settings.tiny_time:
        return False
    if len(problem.operations) < POLISH_MIN_OPERATIONS:
        return False
    return any(job.due is not None for job in problem.jobs) or not tabu.applicable(problem)


def solve_then_polish(
    solve: Solve,
    problem: SchedulingProblem,
    objective: Objective,
    settings: SolverSettings,
    initial: Plan | None,
    started: float,
) -> Plan:
    """CP-SAT (or the dispatcher, when CP-SAT finds nothing) for most of the time, then polish.py.

    When CP-SAT's model is too big for the budget (`CPSAT_TERMS_PER_SECOND`), polish improves
    the dispatcher's plan for the whole time: a better plan than CP-SAT could return in time.
    """
    if cpsat_model.size(problem, settings.circuit_limit) > CPSAT_TERMS_PER_SECOND * settings.time_limit:
        share = settings.time_limit
        first = _dispatch_or_initial(problem, objective, initial)
    else:
        share = settings.time_limit * settings.polish_share
        first = solve(
            problem,
            objective,
            replace(settings, time_limit=settings.time_limit - share, polish_share=0),
            initial,
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


def _dispatch_or_initial(problem: SchedulingProblem, objective: Objective, initial: Plan | None) -> Plan:
    """The dispatcher's best plan, or `initial` when that is valid and scores better."""
    warm = dispatch(problem, objective)
    if (
        initial is not None
        and not validate(problem, initial)
        and evaluate(problem, initial, objective).score < evaluate(problem, warm, objective).score
    ):
        return initial
    return warm


def search_then_solve(
    solve: Solve,
    problem: SchedulingProblem,
    objective: Objective,
    settings: SolverSettings,
    initial: Plan | None,
    started: float,
) -> Plan:
    """Tabu search (beside an unhinted CP-SAT) for `search_share` of the time, then CP-SAT from its plan.

    The better plan of the first phase is CP-SAT's hint and horizon (so CP-SAT's LNS starts near
    the optimum and its domains are tight) and the answer if CP-SAT finds nothing better; the tabu
    search goes on beside that CP-SAT (`_finish`); the bound is the best of all.
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
    found, other = tabu_beside_cpsat(solve, problem, objective, settings, warm, limits)
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
    final = _finish(solve, problem, objective, replace(settings, time_limit=remaining), found, limits)
    bound = max(bound, final.lower_bound or 0)
    status = "optimal" if final.makespan <= bound else final.status
    return replace(final, status=status, lower_bound=bound, seconds=time.perf_counter() - started)


def _finish(
    solve: Solve,
    problem: SchedulingProblem,
    objective: Objective,
    settings: SolverSettings,
    found: Plan,
    limits: tabu.SearchLimits,
) -> Plan:
    """The second phase: CP-SAT hinted with `found` and, when `search_beside_hint` (and two workers
    or more), the tabu search going on from `found` on one core beside it; the better plan."""
    if not settings.search_beside_hint or settings.workers < 2 or settings.deterministic:
        return solve(problem, objective, replace(settings, search_share=0, probe_share=0), found)
    more = replace(limits, seconds=settings.time_limit, seed=settings.seed + 1)
    searched, solved = tabu_beside_cpsat(solve, problem, objective, settings, found, more, hint=found)
    if solved is None or searched.makespan < solved.makespan:
        return replace(searched, lower_bound=solved.lower_bound if solved else None)
    return solved


def tabu_beside_cpsat(
    solve: Solve,
    problem: SchedulingProblem,
    objective: Objective,
    settings: SolverSettings,
    warm: Plan,
    limits: tabu.SearchLimits,
    hint: Plan | None = None,
) -> tuple[Plan, Plan | None]:
    """The tabu plan and, with two workers or more, a CP-SAT plan (hinted by `hint`) found meanwhile.

    The tabu search uses one core; CP-SAT (which releases the GIL while it solves) uses the other
    workers at the same time, so every core works from the first second, as the plain model's do.
    When CP-SAT proves its plan optimal the search stops.
    """
    if settings.workers < 2 or settings.deterministic:
        return tabu.improve(problem, warm, limits), None
    partner_settings = replace(
        settings,
        time_limit=limits.seconds,
        workers=settings.workers - 1,
        warm_start=hint is not None,
        search_share=0,
        probe_share=0,
        polish_share=0,
    )
    stop = threading.Event()
    limits = replace(limits, stop=stop)
    with ThreadPoolExecutor(max_workers=1) as pool:
        partner = pool.submit(solve, problem, objective, partner_settings, hint)
        partner.add_done_callback(lambda done: _stop_if_optimal(done, stop))
        found = tabu.improve(problem, warm, limits)
        return found, partner.result()


def _stop_if_optimal(done: Future[Plan], stop: threading.Event) -> None:
    if done.exception() is None and done.result().status == "optimal":
        stop.set()
