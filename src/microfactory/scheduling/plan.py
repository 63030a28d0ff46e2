"""A plan: which machine runs each operation when, and the figures people judge it by.

Every solver returns the same `Plan`, so the validator, the exports and the reports work on one
shape and the dispatcher, CP-SAT and a replan can be compared figure by figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from microfactory.scheduling.model import Objective, SchedulingProblem

Status = Literal["optimal", "feasible"]


@dataclass(frozen=True, slots=True)
class Assignment:
    """Operation `operation` (index) runs on `machine` (index) over [start, end)."""

    operation: int
    machine: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Plan:
    """The result of a solve, with the solver that produced it and what it proved."""

    assignments: tuple[Assignment, ...]  # indexed by operation
    status: Status
    solver: str
    lower_bound: int | None = None  # a proven bound on the makespan, when the objective is makespan only
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def makespan(self) -> int:
        return max((a.end for a in self.assignments), default=0)

    def machine_sequences(self, machines: int) -> list[list[Assignment]]:
        """Per machine, its assignments in start order."""
        sequences: list[list[Assignment]] = [[] for _ in range(machines)]
        for assignment in self.assignments:
            sequences[assignment.machine].append(assignment)
        for sequence in sequences:
            sequence.sort(key=lambda a: (a.start, a.end))
        return sequences


@dataclass(frozen=True, slots=True)
class Figures:
    """What a plan costs under an objective: its parts and their weighted sum."""

    makespan: int
    weighted_tardiness: int
    late_jobs: int
    setups: int
    setup_minutes: int
    deviation: int
    score: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "makespan": self.makespan,
            "weighted_tardiness": self.weighted_tardiness,
            "late_jobs": self.late_jobs,
            "setups": self.setups,
            "setup_minutes": self.setup_minutes,
            "deviation": self.deviation,
            "score": self.score,
        }


def job_ends(problem: SchedulingProblem, plan: Plan) -> list[int]:
    ends = [problem.jobs[j].release for j in range(len(problem.jobs))]
    for assignment in plan.assignments:
        for job in problem.operations[assignment.operation].all_jobs:
            ends[job] = max(ends[job], assignment.end)
    return ends


def count_setups(problem: SchedulingProblem, plan: Plan) -> tuple[int, int]:
    """Material changes and their minutes between direct neighbours on each machine, in start order.

    An operation without a material (a manual step) neither needs nor causes a change.
    """
    changes = 0
    minutes = 0
    for machine, sequence in enumerate(plan.machine_sequences(len(problem.machines))):
        loaded = problem.machines[machine].initial_material
        for assignment in sequence:
            material = problem.operations[assignment.operation].material
            if loaded is not None and material is not None and material != loaded:
                changes += 1
                minutes += problem.setup(machine, loaded, material)
            loaded = material
    return changes, minutes


def evaluate(problem: SchedulingProblem, plan: Plan, objective: Objective) -> Figures:
    """The plan's figures under `objective`, computed the same way the CP-SAT model counts them."""
    tardiness = 0
    late = 0
    for job, end in zip(problem.jobs, job_ends(problem, plan), strict=True):
        if job.due is not None and end > job.due:
            tardiness += job.weight * (end - job.due)
            late += 1
    setups, setup_minutes = count_setups(problem, plan)
    deviation = sum(
        abs(a.start - op.previous_start)
        for a, op in zip(plan.assignments, problem.operations, strict=True)
        if op.previous_start is not None
    )
    score = (
        objective.tardiness * tardiness
        + objective.makespan * plan.makespan
        + objective.setups * setups
        + objective.deviation * deviation
    )
    return Figures(plan.makespan, tardiness, late, setups, setup_minutes, deviation, score)
