"""Fast dispatching-rule plans: the warm start for CP-SAT and the answer when time is tiny.

A dispatcher builds the plan left to right, one operation at a time, each on the eligible machine
where it ends first (setups and calendars included). It is never optimal but always valid, runs
in milliseconds, and gives CP-SAT a complete solution to improve from the first second.

Most rules only append to a machine. The `fill` rule also puts an operation into a gap a machine
has left where it fits with the material changes on either side: an assembly bench idles while
the printers work, and a work order whose parts print early must not wait on the bench behind
one due earlier whose parts print late. Routing promises from the same kind of schedule
(network/site_queue.py), so this is the rule that keeps routing's promises when CP-SAT has too
little time to find better; it runs for problems with due dates.
"""

from __future__ import annotations

import heapq
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence

from microfactory.errors import Conflict
from microfactory.scheduling.model import Objective, SchedulingProblem, earliest_fit
from microfactory.scheduling.plan import Assignment, Plan, evaluate

FULL_SCAN_LIMIT = 600  # above this many operations the greedy full scan gets slow in Python


class Infeasible(Conflict):
    """An operation fits on none of its machines (e.g. longer than every working interval)."""


class _State:
    """Machines' free time and loaded material while a plan is being built."""

    def __init__(self, problem: SchedulingProblem, fill: bool = False) -> None:
        self.problem = problem
        self.fill = fill  # put operations into gaps between those already placed, not only after them
        # per machine, what is placed on it in start order: starts, ends, materials (kept when filling)
        self.runs: list[tuple[list[int], list[int], list[str | None]]] = [
            ([], [], []) for _ in problem.machines
        ]
        self.free = [m.available_from for m in problem.machines]
        self.loaded: list[str | None] = [m.initial_material for m in problem.machines]
        self.used = [False] * len(problem.machines)
        self.ends: list[int | None] = [None] * len(problem.operations)
        self.assignments: list[Assignment | None] = [None] * len(problem.operations)
        self.material_rank = {name: rank for rank, name in enumerate(sorted(problem.materials()))}

    def ready_time(self, index: int) -> int:
        op = self.problem.operations[index]
        ready = self.problem.release_of(index)
        for before in op.after:
            end = self.ends[before]
            assert end is not None
            ready = max(ready, end)
        return ready

    def best_mode(self, index: int, ready: int, slack: int = 0) -> tuple[int, int, int, int] | None:
        """(end, setup, machine, start) of the mode that ends first, or None if none fits.

        With `slack`, a mode needing no material change wins if it ends at most `slack` minutes later:
        waiting a little for a machine already loaded saves a change for everyone after.
        """
        op = self.problem.operations[index]
        best: tuple[int, int, int, int] | None = None
        loaded: tuple[int, int, int, int] | None = None
        for mode in op.modes:
            m = mode.machine
            machine = self.problem.machines[m]
            if self.fill:
                start = self.gap_start(m, ready, mode.duration, op.material)
                setup = 0
            else:
                setup = self.problem.setup(m, self.loaded[m], op.material)
                start = earliest_fit(machine.calendar, max(ready, self.free[m] + setup), mode.duration)
            if start is None:
                continue
            candidate = (start + mode.duration, 1 if setup else 0, m, start)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
            if not setup and op.material is not None and (loaded is None or candidate < loaded):
                loaded = candidate
        if slack and best is not None and best[1] and loaded is not None and loaded[0] <= best[0] + slack:
            return loaded
        return best

    def gap_start(self, m: int, ready: int, duration: int, material: str | None) -> int | None:
        """The first start from `ready` at which an operation fits on machine `m` between what is
        placed there, with the material changes on either side and inside the calendar."""
        problem = self.problem
        machine = problem.machines[m]
        starts, ends, materials = self.runs[m]
        k = bisect_right(ends, ready)  # runs before k end by `ready`: the gap after run k-1 is next
        while True:
            before_end, before = (
                (ends[k - 1], materials[k - 1]) if k else (machine.available_from, machine.initial_material)
            )
            earliest = max(ready, before_end + problem.setup(m, before, material))
            start = earliest_fit(machine.calendar, earliest, duration)
            if start is None:
                return None
            if k == len(starts) or start + duration + problem.setup(m, material, materials[k]) <= starts[k]:
                return start
            k += 1

    def place(self, index: int, machine: int, start: int, end: int) -> None:
        if self.fill:
            starts, ends, materials = self.runs[machine]
            at = bisect_right(starts, start)
            starts.insert(at, start)
            ends.insert(at, end)
            materials.insert(at, self.problem.operations[index].material)
        self.free[machine] = max(self.free[machine], end)
        self.loaded[machine] = self.problem.operations[index].material
        self.used[machine] = True
        self.ends[index] = end
        self.assignments[index] = Assignment(index, machine, start, end)

    def plan(self, solver: str, started: float) -> Plan:
        assignments = tuple(a for a in self.assignments if a is not None)
        return Plan(assignments, "feasible", solver, seconds=time.perf_counter() - started)


def _remaining_work(problem: SchedulingProblem) -> list[int]:
    """Longest chain of minimum durations from each operation to the end of its job (a priority)."""
    successors = problem.successors()
    tail = [0] * len(problem.operations)
    for index in reversed(problem.topological_order()):
        op = problem.operations[index]
        tail[index] = op.min_duration + max((tail[s] for s in successors[index]), default=0)
    return tail


def _place_fixed(state: _State) -> set[int]:
    fixed = {i for i, op in enumerate(state.problem.operations) if op.fixed is not None}
    for index in sorted(fixed, key=lambda i: state.problem.operations[i].fixed or (0, 0)):
        op = state.problem.operations[index]
        assert op.fixed is not None
        machine, start = op.fixed
        duration = op.duration_on(machine)
        if duration is None:
            raise Infeasible(f"operation {op.id} is fixed on a machine it cannot use")
        state.place(index, machine, start, start + duration)
    return fixed


def dispatch_rule(problem: SchedulingProblem, rule: str = "ect") -> Plan:
    """One dispatching pass. Rules: `ect` (earliest completion among all ready operations),
    `mwkr` (most work remaining first), `edd` (earliest due date first, grouping materials),
    `fifo` (orders in arrival order), `group` (like `edd`, but waits a little for a machine already
    loaded with the material rather than change it), `fill` (like `edd`, each operation in the
    first gap where it fits)."""
    started = time.perf_counter()
    state = _State(problem, fill=rule == "fill")
    done = _place_fixed(state)
    tail = _remaining_work(problem)
    successors = problem.successors()
    waiting = [len(op.after) for op in problem.operations]
    for index in done:
        for nxt in successors[index]:
            waiting[nxt] -= 1
    ready = [i for i, n in enumerate(waiting) if n == 0 and i not in done]
    heap: list[tuple[tuple[int, ...], int]] = []
    for index in ready:
        heapq.heappush(heap, (_key(problem, state, tail, index, rule), index))
    slack = (
        3 * max((m.material_change_minutes for m in problem.machines), default=0) if rule == "group" else 0
    )
    full_scan = rule == "ect" and len(problem.operations) <= FULL_SCAN_LIMIT
    while heap:
        if full_scan:
            index = _earliest_completion(state, [i for _, i in heap])
            heap = [(k, i) for k, i in heap if i != index]
            heapq.heapify(heap)
        else:
            _, index = heapq.heappop(heap)
        best = state.best_mode(index, state.ready_time(index), slack)
        if best is None:
            raise Infeasible(f"operation {problem.operations[index].id} fits on none of its machines")
        end, _, machine, start = best
        state.place(index, machine, start, end)
        for nxt in successors[index]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0 and nxt not in done:
                heapq.heappush(heap, (_key(problem, state, tail, nxt, rule), nxt))
    if any(a is None for a in state.assignments):
        raise Infeasible("the operations' precedence has a cycle")
    return state.plan(f"dispatch:{rule}", started)


def _key(
    problem: SchedulingProblem, state: _State, tail: Sequence[int], index: int, rule: str
) -> tuple[int, ...]:
    op = problem.operations[index]
    job = problem.jobs[op.job]
    ready = state.ready_time(index)
    due = job.due if job.due is not None else 1 << 40
    if rule in ("edd", "group", "fill"):
        return (due, -job.weight, ready, state.material_rank.get(op.material or "", -1), -tail[index])
    if rule == "fifo":  # first come, first served: the baseline batching is compared with
        return (problem.jobs[op.job].release, op.job, index)
    if rule == "mwkr":
        return (ready, -tail[index], due)
    return (ready, due, -job.weight, -tail[index])


def _earliest_completion(state: _State, candidates: Sequence[int]) -> int:
    best_index = candidates[0]
    best_key: tuple[int, ...] | None = None
    for index in candidates:
        found = state.best_mode(index, state.ready_time(index))
        if found is None:
            raise Infeasible(f"operation {state.problem.operations[index].id} fits on none of its machines")
        op = state.problem.operations[index]
        job = state.problem.jobs[op.job]
        due = job.due if job.due is not None else 1 << 40
        key = (found[0], found[1], due, -job.weight)
        if best_key is None or key < best_key:
            best_key, best_index = key, index
    return best_index


RULES = ("ect", "mwkr", "edd", "group")
DUE_RULES = ("fill",)  # only where due dates make the order of the work matter


def dispatch(
    problem: SchedulingProblem,
    objective: Objective | None = None,
    rules: Sequence[str] | None = None,
) -> Plan:
    """The best of several dispatching passes under `objective`: valid, quick, a warm start."""
    objective = objective or Objective()
    if rules is None:
        rules = RULES + DUE_RULES if any(job.due is not None for job in problem.jobs) else RULES
    plans = [dispatch_rule(problem, rule) for rule in rules]
    return min(plans, key=lambda plan: evaluate(problem, plan, objective).score)


Gap = Callable[[int, str | None, int], int]  # (machine, loaded material, operation) -> minutes


def decode(problem: SchedulingProblem, plan: Plan, gap: Gap | None = None) -> Plan:
    """Re-time a plan keeping each operation's machine and each machine's order, as early as allowed.

    With the real setups (`gap` None) this left-shifts: never later, often earlier; it is used after
    CP-SAT solved a model whose setups were reserved conservatively. With a larger `gap` it spreads
    a plan out so that it satisfies such a conservative model, making it a usable hint.
    """
    rank = {index: position for position, index in enumerate(problem.topological_order())}
    order = sorted(range(len(problem.operations)), key=lambda i: (plan.assignments[i].start, rank[i]))
    state = _State(problem)
    for index in order:
        op = problem.operations[index]
        old = plan.assignments[index]
        duration = old.end - old.start
        if op.fixed is not None:
            state.place(index, old.machine, old.start, old.end)
            continue
        m = old.machine
        if gap is None:
            setup = problem.setup(m, state.loaded[m], op.material)
        else:
            setup = gap(m, state.loaded[m], index)
        earliest = max(state.ready_time(index), state.free[m] + setup)
        start = earliest_fit(problem.machines[m].calendar, earliest, duration)
        if start is None:
            raise Infeasible(f"operation {op.id} no longer fits on machine {problem.machines[m].id}")
        state.place(index, m, start, start + duration)
    result = state.plan(plan.solver, time.perf_counter())
    return Plan(result.assignments, plan.status, plan.solver, plan.lower_bound, plan.seconds, plan.notes)


def compact(problem: SchedulingProblem, plan: Plan) -> Plan:
    """Left-shift a plan keeping each machine's order (see `decode`)."""
    return decode(problem, plan)
