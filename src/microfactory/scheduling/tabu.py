"""Tabu search on the critical path: the fast improver that hands CP-SAT a near-optimal hint.

Why (docs/decisions/0010-scheduling-search.md): on 2 cores CP-SAT spends its first seconds finding
what a critical-path local search finds in a fraction of a second. A plan is kept as a machine
assignment plus one sequence per machine (a disjunctive graph); the heads and tails of that graph
give the makespan and the critical path, and only moves on the critical path can shorten it. The
moves (N7 in every critical block, and reassignment to another eligible machine for flexible
shops), their approximate head/tail scores and the tabu loop are compiled in `tabu_kernel.py`;
this module turns a problem and a plan into its arrays, runs it in slices of moves between which
it reads the clock, and turns the best arrays back into a plan.

No solver, no database. It handles makespan problems without setups, calendars or pinned work
(`applicable`); everything else goes to CP-SAT alone.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from microfactory.scheduling import tabu_kernel as kernel
from microfactory.scheduling.model import SchedulingProblem
from microfactory.scheduling.plan import Assignment, Plan, Status

SLICE_SECONDS = 0.02  # how often the clock is read while searching


@dataclass(frozen=True, slots=True)
class SearchLimits:
    """How long to search: wall-clock seconds, or (deterministic) a number of moves."""

    seconds: float
    iterations: int | None = None
    seed: int = 0
    kicks: int = 4  # at most this many random moves when the search restarts from its best plan
    stop: threading.Event | None = None  # set by another thread: stop at the next slice


def applicable(problem: SchedulingProblem) -> bool:
    """True when the plan is fully described by machines and orders: no setups, calendars, pins."""
    if not problem.operations:
        return False
    for machine in problem.machines:
        if machine.calendar is not None or machine.available_from > 0:
            return False
    if any(op.fixed is not None for op in problem.operations):
        return False
    materials = problem.materials()
    return len(materials) < 2 or all(
        problem.setup(m, a, b) == 0
        for m in range(len(problem.machines))
        for a in materials
        for b in materials
    )


def lower_bound(problem: SchedulingProblem) -> int:
    """A quick bound: the longest chain of shortest durations, and average machine load."""
    head = [0] * len(problem.operations)
    for i in problem.topological_order():
        op = problem.operations[i]
        ready = max([problem.release_of(i), *(head[b] for b in op.after)])
        head[i] = ready + op.min_duration
    load = sum(op.min_duration for op in problem.operations)
    return max(max(head, default=0), -(-load // max(1, len(problem.machines))))


def _csr(lists: list[list[int]]) -> tuple[Any, Any]:
    """A list of lists as (pointers, flat indices): the layout the compiled loop reads."""
    pointers = np.zeros(len(lists) + 1, np.int64)
    pointers[1:] = np.cumsum([len(x) for x in lists])
    flat = np.array([v for x in lists for v in x], np.int64)
    return pointers, flat


class _State:
    """The arrays of one search: the problem (`g`, `dur`), the current and best plans, scratch space."""

    def __init__(self, problem: SchedulingProblem, plan: Plan, limits: SearchLimits) -> None:
        ops, machines = problem.operations, len(problem.machines)
        n = len(ops)
        jp = _csr([list(op.after) for op in ops])
        js = _csr(problem.successors())
        elig = _csr([[mode.machine for mode in op.modes] for op in ops])
        release = np.array([problem.release_of(i) for i in range(n)], np.int64)
        self.g = (jp[0], jp[1], js[0], js[1], release, elig[0], elig[1])
        self.dur = np.full((n, machines), -1, np.int64)
        for i, op in enumerate(ops):
            for mode in op.modes:
                self.dur[i, mode.machine] = mode.duration
        mach = np.array([a.machine for a in plan.assignments], np.int64)
        p = self.dur[np.arange(n), mach]
        mpred, msucc, mfirst = (
            np.full(n, -1, np.int64),
            np.full(n, -1, np.int64),
            np.full(machines, -1, np.int64),
        )
        for m, run in enumerate(plan.machine_sequences(machines)):
            order = [a.operation for a in run]
            if order:
                mfirst[m] = order[0]
            for a, b in itertools.pairwise(order):
                msucc[a], mpred[b] = b, a
        self.cur = (
            mach,
            p,
            mpred,
            msucc,
            mfirst,
            np.zeros(n, np.int64),
            np.zeros(n, np.int64),
            np.zeros(n, np.int64),
        )
        self.best = tuple(a.copy() for a in self.cur[:5])
        capacity = 8 * n + n * machines + 16
        self.work = tuple(np.zeros(capacity, np.int64) for _ in range(4))
        self.cand = np.zeros((7, capacity), np.int64)
        # expiry of each reversed pair and left machine; int32: n x n grows fast (500 operations: 1 MB)
        self.tabu = (np.full((n, n), -1, np.int32), np.full((n, machines), -1, np.int32))
        self.st = np.zeros(kernel.STATE_SIZE, np.int64)
        self.st[kernel.PATIENCE] = 300 + 10 * n
        self.st[kernel.LOW] = 2 + n // 25
        self.st[kernel.KICKS] = limits.kicks
        mixed = (0x9E3779B97F4A7C15 ^ (limits.seed * 0xBF58476D1CE4E5B9 + 1)) & (1 << 64) - 1
        self.rng = np.array([mixed or 1], np.uint64)  # xorshift state: any 64 bits but zero

    def evaluate(self) -> int:
        c = self.cur
        return int(kernel.evaluate(self.g, c[1], c[2], c[3], c[5], c[6], c[7], self.work))

    def search(self, moves: int) -> bool:
        """Up to `moves` more moves; True when the search is over (bound met or nothing to move)."""
        args = (self.g, self.dur, self.cur, self.best, self.work, self.cand, self.tabu, self.st, self.rng)
        return bool(kernel.search(*args, moves))

    def best_plan(self) -> Plan:
        kernel.restore_best(self.g, self.cur, self.best, self.st, self.work)
        mach, p, r = self.cur[0], self.cur[1], self.cur[5]
        assignments = tuple(
            Assignment(i, int(mach[i]), int(r[i]), int(r[i] + p[i])) for i in range(len(mach))
        )
        return Plan(assignments, "feasible", "tabu")


def _run(state: _State, limits: SearchLimits, began: float) -> None:
    """Slices of moves until the limits: the clock is read between slices (about every 20 ms)."""
    if limits.iterations is not None:
        state.search(limits.iterations)
        return
    size = 64
    while time.perf_counter() - began < limits.seconds and not (limits.stop and limits.stop.is_set()):
        sliced = time.perf_counter()
        if state.search(size):
            return
        took = time.perf_counter() - sliced
        size = max(16, min(100_000, int(size * SLICE_SECONDS / max(took, 1e-6))))


def improve(problem: SchedulingProblem, start: Plan, limits: SearchLimits) -> Plan:
    """The best plan a tabu search reaches from `start` within the limits (never worse than `start`).

    Only for `applicable` problems; the plan's status is "feasible" unless it meets the quick
    lower bound, and it is re-timed as early as the machine orders allow.
    """
    return improve_counted(problem, start, limits)[0]


def improve_counted(problem: SchedulingProblem, start: Plan, limits: SearchLimits) -> tuple[Plan, int]:
    """`improve`, and how many moves it made (the benchmark's moves per second)."""
    began = time.perf_counter()
    state = _State(problem, start, limits)
    cmax = state.evaluate()
    if cmax < 0:
        return start, 0
    bound = lower_bound(problem)
    state.st[kernel.CMAX] = cmax
    state.st[kernel.BOUND] = bound
    kernel.keep_best(state.cur, state.best, state.st)
    _run(state, limits, began)
    found = state.best_plan()
    best = found if found.makespan < start.makespan else start
    status: Status = "optimal" if best.makespan <= bound else "feasible"
    plan = Plan(best.assignments, status, "tabu", bound, time.perf_counter() - began)
    return plan, int(state.st[kernel.IT])
