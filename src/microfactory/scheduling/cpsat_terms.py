"""The CP-SAT model's objective, redundant rows and warm-start hints.

Split from `cpsat.py` so that the model's constraints and what it optimises can be read apart.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from microfactory.scheduling.model import Objective, SchedulingProblem
from microfactory.scheduling.plan import Plan


@dataclass
class ModelVars:
    """The variables of one CP-SAT model that the objective, the hints and the extraction read."""

    starts: list[Any]
    ends: list[Any]
    presence: list[list[tuple[int, int, Any]]]  # per operation: (machine, duration, literal or None)
    setup_literals: list[Any] = field(default_factory=list)
    arcs: dict[int, list[tuple[int, int, Any]]] = field(default_factory=dict)  # per machine circuit arcs
    conservative: bool = False


def objective_terms(
    model: cp_model.CpModel,
    problem: SchedulingProblem,
    objective: Objective,
    variables: ModelVars,
    horizon: int,
) -> dict[str, Any]:
    """Minimise weighted tardiness, makespan, material changes and moves; returns the term variables."""
    successors = problem.successors()
    big = horizon + max((op.max_duration for op in problem.operations), default=0)
    makespan = model.NewIntVar(0, big, "makespan")
    for index in range(len(problem.operations)):
        if not successors[index]:
            model.Add(makespan >= variables.ends[index])
    terms: dict[str, Any] = {"makespan": makespan, "tardiness": {}, "deviation": {}}
    expression = objective.makespan * makespan
    if objective.tardiness:
        for j, job in enumerate(problem.jobs):
            if job.due is not None:
                terms["tardiness"][j] = model.NewIntVar(0, big, f"tardy{j}")
                expression += objective.tardiness * job.weight * terms["tardiness"][j]
        for index, op in enumerate(problem.operations):
            later = {j for s in successors[index] for j in problem.operations[s].all_jobs}
            for j in op.all_jobs:
                late = terms["tardiness"].get(j)
                if late is not None and j not in later:  # the job's last operations bound its lateness
                    model.Add(late >= variables.ends[index] - (problem.jobs[j].due or 0))
    if objective.setups and variables.setup_literals:
        expression += objective.setups * sum(variables.setup_literals)
    if objective.deviation:
        for index, op in enumerate(problem.operations):
            if op.previous_start is None or op.fixed is not None:
                continue
            moved = model.NewIntVar(0, big, f"moved{index}")
            model.AddAbsEquality(moved, variables.starts[index] - op.previous_start)
            terms["deviation"][index] = moved
            expression += objective.deviation * moved
    model.Minimize(expression)
    return terms


def energy(model: cp_model.CpModel, problem: SchedulingProblem, variables: ModelVars, makespan: Any) -> None:
    """Each machine's chosen work, and all work spread over all machines, fits before the makespan.

    Implied by no-overlap, but as linear rows they give the LP a real bound on assignment choices.
    """
    loads: list[list[Any]] = [[] for _ in problem.machines]
    earliest = [m.available_from for m in problem.machines]
    for modes in variables.presence:
        for machine, duration, literal in modes:
            loads[machine].append(duration if literal is None else duration * literal)
    for machine, load in enumerate(loads):
        if load:
            model.Add(sum(load) + earliest[machine] <= makespan)
    model.Add(sum(term for load in loads for term in load) <= len(problem.machines) * makespan)


def hint(
    model: cp_model.CpModel,
    problem: SchedulingProblem,
    variables: ModelVars,
    warm: Plan,
    terms: dict[str, Any],
    times: bool = True,
) -> None:
    """Give CP-SAT the dispatcher's plan, every variable of it, so it starts from a full solution."""
    for a in warm.assignments:
        for machine, _, literal in variables.presence[a.operation]:
            if literal is not None:
                model.AddHint(literal, machine == a.machine)
    if not times:
        return
    for a in warm.assignments:
        model.AddHint(variables.starts[a.operation], a.start)
        model.AddHint(variables.ends[a.operation], a.end)
    model.AddHint(terms["makespan"], warm.makespan)
    ends: dict[int, int] = {}
    for a in warm.assignments:
        for job in problem.operations[a.operation].all_jobs:
            ends[job] = max(ends.get(job, 0), a.end)
    for j, late in terms["tardiness"].items():
        due = problem.jobs[j].due or 0
        model.AddHint(late, max(0, ends.get(j, 0) - due))
    for index, moved in terms["deviation"].items():
        previous = problem.operations[index].previous_start or 0
        model.AddHint(moved, abs(warm.assignments[index].start - previous))
    sequences = warm.machine_sequences(len(problem.machines))
    for m, arcs in variables.arcs.items():
        # Nodes are numbered as `_circuit` numbered the candidates: operations using m, in index order.
        candidates = [i for i, modes in enumerate(variables.presence) if any(mm == m for mm, _, _ in modes)]
        node = {op: k for k, op in enumerate(candidates, start=1)}
        chain = [0, *[node[a.operation] for a in sequences[m]], 0]
        used = set(itertools.pairwise(chain))
        for tail, head, literal in arcs:
            if tail != head or tail == 0:  # self-loops are negated presences, already hinted
                model.AddHint(literal, (tail, head) in used)
