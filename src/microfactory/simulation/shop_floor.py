"""The demo's shop floor: simulated machines, the programs they run, and an operator at the benches.

Everything runs on the demo's simulated clock (`db.base.replaying`): the agent, the machines and
the server all read the same `utcnow`, which the production stage moves from event to event, so a
week of work takes seconds and the same seed makes the same things at the same times.

- **Machines** (`DemoMachines`): every machine that runs a program (printers, lasers, flashing
  rigs, cameras) is a `SimulatedConnector` driven by the site's edge agent; a seeded few of its
  jobs fail part way, as prints do. The example network leaves most machines without a connector
  because nothing is networked in it; in the demo they all stand in as simulated ones.
- **Benches** (assembly, packing) are people's work: the agent leaves them alone, and a simulated
  operator (`BenchOperator`) starts and finishes their steps through the same use case as
  `microfactory operations start|finish`. The operator also gives failed steps back to the agent
  after a look at the machine (a hold with the reason, then its release: the trace keeps why).
- **Programs** (`DemoPrograms`): the run time of each step is the work order's own figure from its
  translation, not the plan's batch window (a batch of five prints lasts five prints).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from microfactory.db.base import Replay
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict
from microfactory.production import stations
from microfactory.production.agent.model import AgentOperation, SiteMachine, choose_machine
from microfactory.production.connectors import MachineConnector, MachineState, MachineStatus, Program
from microfactory.production.connectors.simulated import SimulatedConnector
from microfactory.production.model import Event
from microfactory.production.views import site_operations

BENCH_WORK = frozenset({"assembly", "packing"})  # capabilities a person does with their hands
LOOK_AT_FAILURE = timedelta(minutes=20)  # how long before a person gives a failed step back
OPERATOR = "demo operator"


class SimClock:
    """The demo's one clock: the replay's, read by everyone and moved forward only by the stage."""

    def __init__(self, replay: Replay) -> None:
        self._replay = replay

    def __call__(self) -> datetime:
        return self._replay.now()

    def peek(self) -> datetime:
        return self._replay.clock

    def advance_to(self, moment: datetime) -> None:
        self._replay.clock = max(self._replay.clock, moment)


@dataclass
class _Job:
    due: datetime
    fails: bool


class DemoMachine:
    """A `SimulatedConnector` that knows when its job ends and fails a seeded share of jobs part way."""

    def __init__(self, name: str, clock: SimClock, fail: random.Random, failure_rate: float) -> None:
        self._machine = SimulatedConnector(clock, name=name)
        self._clock = clock
        self._fail = fail
        self._failure_rate = failure_rate
        self._jobs: dict[str, _Job] = {}
        self._minutes: dict[str, float] = {}

    def submit(self, program: Program) -> str:
        job = self._machine.submit(program)
        self._minutes[job] = program.minutes
        return job

    def start(self, job: str) -> None:
        self._machine.start(job)
        minutes = self._minutes[job]
        fails = self._fail.random() < self._failure_rate
        share = 0.4 if fails else 1.0  # a failed print is found part way through
        self._jobs[job] = _Job(self._clock.peek() + timedelta(minutes=minutes * share), fails)

    def status(self, job: str) -> MachineStatus:
        entry = self._jobs.get(job)
        if entry is not None and entry.fails and self._clock.peek() >= entry.due:
            self._jobs.pop(job)
            try:
                self._machine.cancel(job)
            except Conflict:  # polled late: the simulated run has ended already; it failed all the same
                pass
            return MachineStatus(job, MachineState.FAILED, 0.4, "simulated: the part came loose")
        status = self._machine.status(job)
        if status.finished:
            self._jobs.pop(job, None)
        return status

    def cancel(self, job: str) -> None:
        self._jobs.pop(job, None)
        self._machine.cancel(job)

    def next_due(self) -> datetime | None:
        return min((job.due for job in self._jobs.values()), default=None)


class DemoMachines:
    """The agent's connector factory for one site: a `DemoMachine` per machine, none for benches."""

    def __init__(self, site: str, clock: SimClock, seed: int, failure_rate: float) -> None:
        self._clock = clock
        self._fail = random.Random(f"{seed}:{site}:failures")
        self._failure_rate = failure_rate
        self.machines: dict[str, DemoMachine] = {}

    def __call__(self, machine: SiteMachine) -> MachineConnector | None:
        if machine.capability in BENCH_WORK:
            return None
        return self.machines.setdefault(
            machine.id, DemoMachine(machine.id, self._clock, self._fail, self._failure_rate)
        )

    def next_due(self) -> datetime | None:
        return min((due for m in self.machines.values() if (due := m.next_due())), default=None)


class DemoPrograms:
    """Each step runs for its own minutes (from the work orders' translations), by operation id."""

    def __init__(self, minutes: Mapping[tuple[str, str], float]) -> None:
        self._minutes = minutes  # (work order id, step id) -> minutes

    def program_for(self, operation: AgentOperation) -> Program:
        minutes = self._minutes.get((operation.work_order_id, operation.op), operation.minutes)
        return Program(operation.op or operation.id, minutes=minutes, material=operation.material)


def step_minutes(translations: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[tuple[str, str], float]:
    """(work order, step) -> minutes, from `(work order id, stored translation)` pairs."""
    minutes: dict[tuple[str, str], float] = {}
    for work_order_id, translation in translations:
        for step in translation.get("operations") or ():
            minutes[(work_order_id, str(step["id"]))] = float(step["minutes"])
    return minutes


@dataclass
class BenchOperator:
    """The people of one site: they run the bench steps and give failed machine steps back."""

    site: str
    benches: list[SiteMachine]
    minutes: Mapping[tuple[str, str], float]
    working: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # bench -> (operation, due)
    to_look_at: dict[str, datetime] = field(default_factory=dict)  # failed operation -> when to retry

    def next_due(self) -> datetime | None:
        dues = [due for _op, due in self.working.values()] + list(self.to_look_at.values())
        return min(dues, default=None)

    def busy(self) -> bool:
        return bool(self.working or self.to_look_at)

    def failed(self, operation_ids: Iterable[str], now: datetime) -> None:
        for operation_id in operation_ids:
            self.to_look_at[operation_id] = now + LOOK_AT_FAILURE

    def finish_due(self, uow: UnitOfWork, now: datetime) -> int:
        """Confirm every bench step whose time is up, at the time it ended; how many."""
        done = sorted((due, bench, op) for bench, (op, due) in self.working.items() if due <= now)
        for due, bench, operation_id in done:
            stations.report_by_hand(uow, operation_id, Event.FINISHED, due, OPERATOR, actor=OPERATOR)
            del self.working[bench]
        return len(done)

    def give_back_failed(self, uow: UnitOfWork, now: datetime) -> int:
        """Failed steps looked at: held with the reason and released again for the agent."""
        ready = sorted(op for op, due in self.to_look_at.items() if due <= now)
        for operation_id in ready:
            stations.hold(uow, operation_id, "the machine failed the step: a person checks it")
            stations.release_hold(uow, operation_id)
            del self.to_look_at[operation_id]
        return len(ready)

    def start_ready(self, uow: UnitOfWork, now: datetime) -> int:
        """Start every ready bench step on its planned bench, or an idle one that can do it."""
        started = 0
        for view in site_operations(uow, self.site, ["released"], BENCH_WORK):
            if not view["ready"]:
                continue
            operation = AgentOperation.from_json(view)
            bench = choose_machine(operation, self.benches, self.working)
            if bench is None:
                continue
            try:
                stations.report_by_hand(
                    uow, operation.id, Event.STARTED, now, OPERATOR, bench.id, actor=OPERATOR
                )
            except Conflict:  # taken meanwhile: the agent's or held
                continue
            minutes = self.minutes.get((operation.work_order_id, operation.op), operation.minutes)
            self.working[bench.id] = (operation.id, now + timedelta(minutes=minutes))
            started += 1
        return started
