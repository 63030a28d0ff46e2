"""Tabu search on the critical path: the fast improver that hands CP-SAT a near-optimal hint.

Why (docs/decisions/0010-scheduling-search.md): on 2 cores CP-SAT spends its first seconds finding
what a critical-path local search finds in a fraction of a second. A plan is kept as a machine
assignment plus one sequence per machine (a disjunctive graph); the heads and tails of that graph
give the makespan and the critical path, and only moves on the critical path can shorten it:
- swap the first two or the last two operations of a critical block (Nowicki-Smutnicki's N5,
  taken on every block, as in N7's spirit), and
- move a critical operation to another eligible machine, at the position the head/tail estimate
  likes best (Mastrolilli-Gambardella's reassignment, for flexible shops).
Each move is scored with the usual O(1) head/tail estimate; the best one that is not tabu (or
beats the best plan so far) is applied and the graph is re-timed exactly (a cycle undoes it).

Pure Python on plain lists: no solver, no database. It handles makespan problems without setups,
calendars or pinned work (`applicable`); everything else goes to CP-SAT alone.
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass

from microfactory.scheduling.model import SchedulingProblem
from microfactory.scheduling.plan import Assignment, Plan, Status

Move = tuple[int, int, int, int]  # (kind, operation, machine or partner, position); kind 0 swap, 1 move


@dataclass(frozen=True, slots=True)
class SearchLimits:
    """How long to search: wall-clock seconds, or (deterministic) a number of moves."""

    seconds: float
    iterations: int | None = None
    seed: int = 0
    kicks: int = 4  # at most this many random moves when the search restarts from its best plan


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


class _Graph:
    """The disjunctive graph of one plan: assignment, sequences, heads `r`, tails `q`."""

    def __init__(self, problem: SchedulingProblem, plan: Plan) -> None:
        ops = problem.operations
        self.n = len(ops)
        self.modes = [{mode.machine: mode.duration for mode in op.modes} for op in ops]
        self.jpred = [list(op.after) for op in ops]
        self.jsucc = problem.successors()
        self.release = [problem.release_of(i) for i in range(self.n)]
        self.mach = [a.machine for a in plan.assignments]
        self.p = [self.modes[i][self.mach[i]] for i in range(self.n)]
        self.seq = [[a.operation for a in run] for run in plan.machine_sequences(len(problem.machines))]
        self.r: list[int] = []
        self.q: list[int] = []
        self.msucc: list[int] = []
        self.mpred: list[int] = []
        self.cmax = 0

    def evaluate(self) -> bool:
        """Heads, tails and makespan of the current graph; False when it has a cycle."""
        n, p, jsucc = self.n, self.p, self.jsucc
        mpred, msucc = [-1] * n, [-1] * n
        for run in self.seq:
            for a, b in itertools.pairwise(run):
                msucc[a], mpred[b] = b, a
        indeg = [len(self.jpred[i]) + (mpred[i] >= 0) for i in range(n)]
        r = self.release[:]
        stack = [i for i in range(n) if indeg[i] == 0]
        order: list[int] = []
        while stack:
            i = stack.pop()
            order.append(i)
            end = r[i] + p[i]
            nexts = jsucc[i] if msucc[i] < 0 else [*jsucc[i], msucc[i]]
            for s in nexts:
                if r[s] < end:  # noqa: PLR1730 (the hot loop: a call to max costs more)
                    r[s] = end
                indeg[s] -= 1
                if indeg[s] == 0:
                    stack.append(s)
        if len(order) < n:
            return False
        q = [0] * n
        for i in reversed(order):
            tail = 0
            for s in jsucc[i]:
                tail = max(tail, p[s] + q[s])
            s = msucc[i]
            if s >= 0:
                tail = max(tail, p[s] + q[s])
            q[i] = tail
        self.r, self.q, self.mpred, self.msucc = r, q, mpred, msucc
        self.cmax = max(r[i] + p[i] for i in range(n))
        return True

    def critical_path(self) -> list[int]:
        """One longest path, machine arcs preferred so that blocks come out long."""
        r, p, q = self.r, self.p, self.q
        current = max(range(self.n), key=lambda i: (r[i] + p[i] + q[i], -q[i]))
        path = [current]
        while True:
            before = self.mpred[current]
            if before < 0 or r[before] + p[before] != r[current]:
                before = next((b for b in self.jpred[current] if r[b] + p[b] == r[current]), -1)
            if before < 0:
                break
            path.append(before)
            current = before
        path.reverse()
        return path

    def head_of(self, i: int) -> int:
        return max([self.release[i], *(self.r[b] + self.p[b] for b in self.jpred[i])])

    def tail_of(self, i: int) -> int:
        return max([0, *(self.p[s] + self.q[s] for s in self.jsucc[i])])

    def swap_estimate(self, u: int, v: int) -> int:
        """Makespan estimate after swapping adjacent u, v (u first) on their machine."""
        p, before, after = self.p, self.mpred[u], self.msucc[v]
        rv = max(self.head_of(v), self.r[before] + p[before] if before >= 0 else 0)
        ru = max(self.head_of(u), rv + p[v])
        qu = max(self.tail_of(u), p[after] + self.q[after] if after >= 0 else 0)
        qv = max(self.tail_of(v), p[u] + qu)
        return max(rv + p[v] + qv, ru + p[u] + qu)

    def best_insertion(self, i: int, machine: int) -> tuple[int, int]:
        """(estimate, position) of the best place for i in `machine`'s sequence."""
        head, tail, duration = self.head_of(i), self.tail_of(i), self.modes[i][machine]
        r, p, q = self.r, self.p, self.q
        run = self.seq[machine]
        best = (1 << 62, 0)
        for k in range(len(run) + 1):
            start = max(head, r[run[k - 1]] + p[run[k - 1]]) if k else head
            rest = max(tail, p[run[k]] + q[run[k]]) if k < len(run) else tail
            best = min(best, (start + duration + rest, k))
        return best

    def plan(self, solver: str) -> Plan:
        assignments = tuple(
            Assignment(i, self.mach[i], self.r[i], self.r[i] + self.p[i]) for i in range(self.n)
        )
        return Plan(assignments, "feasible", solver)


def _moves(graph: _Graph) -> list[tuple[int, Move]]:
    """Scored candidate moves on one critical path."""
    path = graph.critical_path()
    moves: list[tuple[int, Move]] = []
    block: list[int] = [path[0]]
    blocks: list[list[int]] = []
    for a, b in itertools.pairwise(path):
        if graph.msucc[a] == b:
            block.append(b)
        else:
            blocks.append(block)
            block = [b]
    blocks.append(block)
    for block in blocks:
        if len(block) >= 2:
            pairs = {(block[0], block[1]), (block[-2], block[-1])}
            for u, v in pairs:
                moves.append((graph.swap_estimate(u, v), (0, u, v, 0)))
    for i in path:
        for machine in graph.modes[i]:
            if machine != graph.mach[i]:
                estimate, position = graph.best_insertion(i, machine)
                moves.append((estimate, (1, i, machine, position)))
    return moves


class _Search:
    """The tabu loop's state: tenure, tabu attributes, best plan, and undo of the last move."""

    def __init__(self, graph: _Graph, rng: random.Random) -> None:
        self.graph = graph
        self.rng = rng
        self.iteration = 0
        self.tabu: dict[tuple[int, int, int], int] = {}
        self.low = 2 + graph.n // 25
        self.best_cmax = graph.cmax
        self.best = graph.plan("tabu")

    def forbidden(self, move: Move) -> bool:
        kind, i, other, _ = move
        key = (0, other, i) if kind == 0 else (1, i, other)  # swapping u,v back / returning to a machine
        return self.tabu.get(key, -1) >= self.iteration

    def apply(self, move: Move) -> tuple[int, list[int], list[int]] | None:
        """Make the move; returns what undoes it, or None when the move made a cycle (undone)."""
        g = self.graph
        kind, i, other, position = move
        old = g.mach[i]
        saved_old, saved_new = g.seq[old][:], g.seq[other if kind else old][:]
        if kind == 0:
            k = g.seq[old].index(i)
            g.seq[old][k], g.seq[old][k + 1] = g.seq[old][k + 1], g.seq[old][k]
            self.tabu[(0, i, other)] = self.iteration + self.tenure()
        else:
            g.seq[old].remove(i)
            g.seq[other].insert(position, i)
            g.mach[i], g.p[i] = other, g.modes[i][other]
            self.tabu[(1, i, old)] = self.iteration + self.tenure()
        undo = (old, saved_old, saved_new)
        if g.evaluate():
            return undo
        self.undo(move, undo)
        return None

    def undo(self, move: Move, saved: tuple[int, list[int], list[int]]) -> None:
        g = self.graph
        kind, i, other, _ = move
        old, saved_old, saved_new = saved
        g.seq[old] = saved_old
        if kind == 1:
            g.seq[other] = saved_new
            g.mach[i], g.p[i] = old, g.modes[i][old]
        g.evaluate()

    def restart(self, problem: SchedulingProblem, kicks: int) -> None:
        """Continue from the best plan after `kicks` random critical-path moves (a perturbation)."""
        self.graph = _Graph(problem, self.best)
        self.graph.evaluate()
        self.tabu.clear()
        for _ in range(self.rng.randint(0, kicks)):
            moves = _moves(self.graph)
            if moves:
                self.apply(self.rng.choice(moves)[1])

    def tenure(self) -> int:
        return self.rng.randint(self.low, self.low + self.low // 2 + 2)

    def step(self) -> bool:
        """One move; False when the critical path offers none (the plan is then optimal)."""
        moves = _moves(self.graph)
        if not moves:
            return False
        moves.sort(key=lambda m: (m[0], self.rng.random()))
        allowed = [m for e, m in moves if e < self.best_cmax or not self.forbidden(m)]
        for move in allowed or [self.rng.choice(moves)[1]]:
            if self.apply(move) is not None:
                break
        self.iteration += 1
        if self.graph.cmax < self.best_cmax:
            self.best_cmax = self.graph.cmax
            self.best = self.graph.plan("tabu")
        return True


def _spent(limits: SearchLimits, iteration: int, began: float) -> bool:
    if limits.iterations is not None:
        return iteration >= limits.iterations
    return iteration % 8 == 0 and time.perf_counter() - began >= limits.seconds


def improve(problem: SchedulingProblem, start: Plan, limits: SearchLimits) -> Plan:
    """The best plan a tabu search reaches from `start` within the limits (never worse than `start`).

    Only for `applicable` problems; the plan's status is "feasible" unless it meets the quick
    lower bound, and it is re-timed as early as the machine orders allow.
    """
    began = time.perf_counter()
    graph = _Graph(problem, start)
    if not graph.evaluate():
        return start
    search = _Search(graph, random.Random(limits.seed))
    bound = lower_bound(problem)
    stale, patience = 0, 300 + 10 * graph.n
    while search.best_cmax > bound:
        if _spent(limits, search.iteration, began):
            break
        before = search.best_cmax
        if not search.step():
            break
        stale = 0 if search.best_cmax < before else stale + 1
        if stale >= patience:  # back to the best plan, shaken a little, with a fresh tabu list
            search.restart(problem, limits.kicks)
            stale = 0
    best = search.best if search.best_cmax < start.makespan else start
    status: Status = "optimal" if best.makespan <= bound else "feasible"
    return Plan(best.assignments, status, "tabu", bound, time.perf_counter() - began)
