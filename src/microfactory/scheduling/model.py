"""The scheduling problem as plain data: machines, operations, jobs, setups and calendars.

Everything is in whole minutes from a time origin chosen by the caller (0 for a benchmark, the
planning start for a site), so that the solvers, the dispatcher and the validator share one
integer clock and never disagree about rounding. Indices, not ids, link the parts together: the
solvers address operations and machines by position, and ids are kept for people and exports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

Interval = tuple[int, int]  # [start, end) in minutes


@dataclass(frozen=True, slots=True)
class Machine:
    """A resource that runs one operation at a time.

    `calendar` lists the working intervals (sorted, disjoint); None means always available.
    `material_change_minutes` is the setup paid when consecutive operations use different materials;
    `initial_material` is what the machine is loaded with at time 0 (None: nothing to change from).
    """

    id: str
    capability: str = ""
    calendar: tuple[Interval, ...] | None = None
    material_change_minutes: int = 0
    initial_material: str | None = None
    available_from: int = 0  # e.g. the end of an operation already running when we replan


@dataclass(frozen=True, slots=True)
class Mode:
    """One way to run an operation: on this machine (index), for this many minutes."""

    machine: int
    duration: int


@dataclass(frozen=True, slots=True)
class Operation:
    """A step of a job. `after` holds indices of operations that must end before this one starts.

    `fixed` pins the operation to (machine index, start): used for work already started when we replan.
    `previous_start` is where an earlier plan put it, so that replanning can keep it close.
    """

    id: str
    job: int
    modes: tuple[Mode, ...]
    after: tuple[int, ...] = ()
    material: str | None = None
    fixed: tuple[int, int] | None = None
    previous_start: int | None = None
    label: str = ""
    shared_with: tuple[int, ...] = ()  # other jobs a batched operation also serves

    @property
    def all_jobs(self) -> tuple[int, ...]:
        return (self.job, *self.shared_with)

    def duration_on(self, machine: int) -> int | None:
        for mode in self.modes:
            if mode.machine == machine:
                return mode.duration
        return None

    @property
    def min_duration(self) -> int:
        return min(mode.duration for mode in self.modes)

    @property
    def max_duration(self) -> int:
        return max(mode.duration for mode in self.modes)


@dataclass(frozen=True, slots=True)
class Job:
    """A work order (or an FJS job): released at `release`, promised for `due`, weighted by `weight`."""

    id: str
    release: int = 0
    due: int | None = None
    weight: int = 1


@dataclass(frozen=True, slots=True)
class Objective:
    """Weights of a lexicographic-by-weight objective: weighted tardiness first, then makespan, setups.

    Weights are integers so that CP-SAT optimises exactly what the dispatcher and the reports compute.
    """

    tardiness: int = 1000
    makespan: int = 10
    setups: int = 1
    deviation: int = 0  # minutes moved away from `previous_start`, used when replanning

    @classmethod
    def makespan_only(cls) -> Objective:
        return cls(tardiness=0, makespan=1, setups=0, deviation=0)

    @property
    def is_makespan_only(self) -> bool:
        return self.tardiness == 0 and self.setups == 0 and self.deviation == 0 and self.makespan > 0


@dataclass(frozen=True, slots=True)
class SchedulingProblem:
    """Machines, jobs and operations; `setup_matrix` overrides the per-machine material change time."""

    machines: tuple[Machine, ...]
    jobs: tuple[Job, ...]
    operations: tuple[Operation, ...]
    setup_matrix: Mapping[tuple[str, str], int] = field(default_factory=dict)
    name: str = ""

    def setup(self, machine: int, previous: str | None, following: str | None) -> int:
        """Minutes needed on `machine` between an operation on `previous` and one on `following`."""
        if previous is None or following is None or previous == following:
            return 0
        return self.setup_matrix.get((previous, following), self.machines[machine].material_change_minutes)

    def successors(self) -> list[list[int]]:
        result: list[list[int]] = [[] for _ in self.operations]
        for index, operation in enumerate(self.operations):
            for before in operation.after:
                result[before].append(index)
        return result

    def topological_order(self) -> list[int]:
        """Operations so that each comes after all of its predecessors; raises on a cycle."""
        pending = [len(op.after) for op in self.operations]
        successors = self.successors()
        ready = [i for i, count in enumerate(pending) if count == 0]
        order: list[int] = []
        while ready:
            current = ready.pop()
            order.append(current)
            for nxt in successors[current]:
                pending[nxt] -= 1
                if pending[nxt] == 0:
                    ready.append(nxt)
        if len(order) != len(self.operations):
            raise ValueError("the operations' precedence has a cycle")
        return order

    def release_of(self, index: int) -> int:
        """An operation starts no earlier than the latest release among the jobs it serves."""
        return max(self.jobs[j].release for j in self.operations[index].all_jobs)

    def materials(self) -> set[str]:
        return {op.material for op in self.operations if op.material is not None}


def fits_calendar(calendar: Sequence[Interval] | None, start: int, end: int) -> bool:
    """True when [start, end) lies inside one working interval (or there is no calendar)."""
    if calendar is None:
        return True
    return any(open_ <= start and end <= close for open_, close in calendar)


def earliest_fit(calendar: Sequence[Interval] | None, earliest: int, duration: int) -> int | None:
    """The first start >= `earliest` at which `duration` minutes fit in one working interval."""
    if calendar is None:
        return earliest
    for open_, close in calendar:
        start = max(open_, earliest)
        if start + duration <= close:
            return start
    return None
