"""Local search for any objective and any site rule: the improver of plans CP-SAT cannot finish.

Why (docs/decisions/0010-scheduling-search.md): a site with hundreds of operations has material
changes, working hours and due dates, so the makespan tabu search does not apply, and above the
circuit limit CP-SAT rarely beats the dispatcher's plan in the time. This search works on the
order in which operations are placed and on their machines, and re-times every candidate with the
dispatcher's own decoder (`dispatch.decode`: setups, calendars, pinned work, releases), so each
plan it keeps is valid by construction and scored by `plan.evaluate`, the figure people see.
Moves: an operation changes places with the one before it on its machine, or moves to another
eligible machine at its time; work of late jobs is picked first. A move is kept when the score
is no worse (plateaus are walked), so the answer is never worse than the plan it started from.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace

from microfactory.scheduling.dispatch import Infeasible, decode
from microfactory.scheduling.model import Objective, SchedulingProblem
from microfactory.scheduling.plan import Assignment, Plan, evaluate, job_ends


@dataclass(frozen=True, slots=True)
class PolishLimits:
    """Wall-clock seconds, or (deterministic) a number of tried moves."""

    seconds: float
    moves: int | None = None
    seed: int = 0


class _Order:
    """A plan as a placing order (`key`: lower is placed first) and a machine per operation."""

    def __init__(self, problem: SchedulingProblem, plan: Plan) -> None:
        rank = {index: position for position, index in enumerate(problem.topological_order())}
        order = sorted(range(len(plan.assignments)), key=lambda i: (plan.assignments[i].start, rank[i]))
        self.key = [0.0] * len(order)
        for position, index in enumerate(order):
            self.key[index] = float(position)
        self.machine = [a.machine for a in plan.assignments]

    def candidate(self, problem: SchedulingProblem) -> Plan:
        """The plan to decode: starts stand for the order, ends carry the chosen machine's duration."""
        order = sorted(range(len(self.key)), key=self.key.__getitem__)
        assignments: list[Assignment] = [Assignment(0, 0, 0, 0)] * len(order)
        for position, i in enumerate(order):
            self.key[i] = float(position)
            duration = problem.operations[i].duration_on(self.machine[i]) or 0
            assignments[i] = Assignment(i, self.machine[i], position, position + duration)
        return Plan(tuple(assignments), "feasible", "polish")


def _targets(problem: SchedulingProblem, plan: Plan) -> list[int]:
    """Operations worth moving: late jobs' work, the last job's work and what blocks it on its
    machines, and operations behind a material change."""
    ends = job_ends(problem, plan)
    last = max(ends, default=0)
    urgent = {
        j
        for j, job in enumerate(problem.jobs)
        if (job.due is not None and ends[j] > job.due) or ends[j] == last
    }
    wanted: set[int] = set()
    for run in plan.machine_sequences(len(problem.machines)):
        for before, after in zip([None, *run], run, strict=False):
            op = problem.operations[after.operation]
            if op.fixed is not None:
                continue
            if any(j in urgent for j in op.all_jobs):
                wanted.add(after.operation)
                if before is not None:
                    wanted.add(before.operation)
            elif before is not None and problem.operations[before.operation].material != op.material:
                wanted.add(after.operation)
    return sorted(i for i in wanted if problem.operations[i].fixed is None)


def _try(
    problem: SchedulingProblem, order: _Order, index: int, rng: random.Random
) -> tuple[list[float], list[int]] | None:
    """Apply one random move at `index`; returns the previous keys and machines, or None.

    Moves: to another eligible machine at the same place in the order, or earlier on its machine,
    to just before an operation up to four places back or before the latest one of its material.
    """
    saved = (order.key[:], order.machine[:])
    op = problem.operations[index]
    others = [mode.machine for mode in op.modes if mode.machine != order.machine[index]]
    if others and rng.random() < 0.3:
        order.machine[index] = rng.choice(others)
        return saved
    m, own = order.machine[index], order.key[index]
    earlier = sorted(
        (i for i in range(len(order.key)) if order.machine[i] == m and order.key[i] < own),
        key=order.key.__getitem__,
    )
    if not earlier:
        return None
    same = [i for i in earlier if problem.operations[i].material == op.material]
    if op.material is not None and same and rng.random() < 0.5:
        target = earlier[earlier.index(same[-1]) + 1] if same[-1] != earlier[-1] else earlier[-1]
    else:
        target = earlier[-rng.randint(1, min(4, len(earlier)))]
    if problem.operations[target].fixed is not None:
        return None
    if any(order.key[p] >= order.key[target] for p in op.after):
        return None  # a predecessor would be placed after it
    order.key[index] = order.key[target] - 0.5
    return saved


def polish(problem: SchedulingProblem, start: Plan, objective: Objective, limits: PolishLimits) -> Plan:
    """The best plan the search reaches from `start` (a valid plan) within the limits; never worse."""
    began = time.perf_counter()
    rng = random.Random(limits.seed)
    order = _Order(problem, start)
    best, best_score = start, evaluate(problem, start, objective).score
    current, tried = best, 0
    while True:
        if limits.moves is not None and tried >= limits.moves:
            break
        if limits.moves is None and time.perf_counter() - began >= limits.seconds:
            break
        tried += 1
        targets = _targets(problem, current)
        saved = _try(problem, order, rng.choice(targets), rng) if targets else None
        if saved is None:
            continue
        try:
            plan = decode(problem, order.candidate(problem))
        except Infeasible:
            order.key, order.machine = saved
            continue
        score = evaluate(problem, plan, objective).score
        if score <= best_score:
            current = plan
            if score < best_score:
                best, best_score = plan, score
        else:
            order.key, order.machine = saved
    if best is start:
        return start
    return replace(best, status="feasible", solver=f"{start.solver}+polish", lower_bound=start.lower_bound)
