"""One pass of the edge agent, and the long run of passes until it is told to stop.

A pass: send what is queued → pull the released operations → poll the running jobs (finished ones
free their machine and may make their successors ready) → dispatch every ready operation to an idle
machine → send the new reports. When the server does not answer, the pass goes on with what the
store already holds and the reports wait in the queue; nothing here waits for the link.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from microfactory.errors import Conflict, MicrofactoryError, NotFound, UpstreamFailure
from microfactory.production.agent.model import (
    AgentOperation,
    Outcome,
    Report,
    ReportEvent,
    ReportResult,
    SiteMachine,
    choose_machine,
    is_ready,
)
from microfactory.production.agent.programs import ProgramSource
from microfactory.production.agent.store import AgentStore, LocalState, RunningJob
from microfactory.production.connectors import MachineConnector, MachineState
from microfactory.production.connectors.kinds import CONNECTORS
from microfactory.production.connectors.simulated import Clock, utc_now

log = logging.getLogger("microfactory.agent")
# None: the agent does not drive the machine (a manual station: people report its work themselves)
ConnectorFactory = Callable[[SiteMachine], MachineConnector | None]
PEOPLE_REPORT = frozenset({"manual"})
BATCH = 50
MAX_MESSAGE = 2000  # what the server keeps of a report's message
GIVE_UP = (MachineState.FAILED, MachineState.CANCELLED)


class ServerLink(Protocol):
    """The calls the agent makes to the server (`client.AgentClient`)."""

    def operations(self) -> list[AgentOperation]: ...

    def machines(self) -> list[SiteMachine]: ...

    def send_reports(self, reports: Sequence[Report]) -> list[ReportResult]: ...

    def hold(self, operation_id: str, reason: str) -> bool:
        """Hold a step on the server with its reason (a missing program); False if not holdable."""
        ...


def connector_from_registry(machine: SiteMachine) -> MachineConnector | None:
    """The machine's connector, built by its kind from the registry (`kinds.CONNECTORS`).

    A manual station is not the agent's: an operator confirms its work on the server (the
    `operations start|finish` commands), and a connector in this process would wait for a
    confirmation nobody can give here, keeping the station busy forever.
    """
    if machine.connector.get("kind") in PEOPLE_REPORT:
        return None
    return CONNECTORS.build(machine.connector, f"machines.{machine.id}.connector")


@dataclass
class PassReport:
    """What one pass did; `online` says whether the server answered this pass."""

    online: bool = True
    pulled: int = 0
    dispatched: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    sent: int = 0
    queued: int = 0

    def summary(self) -> str:
        link = "online" if self.online else "offline"
        return (
            f"{link}: pulled {self.pulled}, dispatched {len(self.dispatched)}, finished "
            f"{len(self.finished)}, failed {len(self.failed)}, reports sent {self.sent}, queued {self.queued}"
        )


class EdgeAgent:
    """The agent of one site: its store, its link to the server, its machines and its programs."""

    def __init__(
        self,
        link: ServerLink,
        store: AgentStore,
        programs: ProgramSource,
        *,
        connectors: ConnectorFactory = connector_from_registry,
        operator: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._link = link
        self._store = store
        self._programs = programs
        self._build = connectors
        self._operator = operator
        self._clock = clock
        # built once per machine and connector spec; a changed spec (a new URL) builds it again
        self._connectors: dict[str, tuple[dict[str, Any], MachineConnector]] = {}
        self._unusable: dict[str, dict[str, Any]] = {}

    def run_once(self) -> PassReport:
        """One pass; only a refused token or an unknown site (the operator must act) raises."""
        report = PassReport()
        report.online = self._flush(report)
        report.online = report.online and self._pull(report)
        self._poll(report)
        self._dispatch(report)
        if report.online:
            report.online = self._flush(report)
        report.queued = self._store.queued_count()
        busy = report.dispatched or report.finished or report.failed or report.sent
        log.log(logging.INFO if busy else logging.DEBUG, "pass %s", report.summary())
        return report

    def run(self, stop: threading.Event, interval: float = 5.0) -> None:
        """Passes every `interval` seconds until `stop` is set (SIGTERM); the current pass completes."""
        while not stop.is_set():
            self.run_once()
            stop.wait(interval)

    # -- the link -------------------------------------------------------------------------------

    def _pull(self, report: PassReport) -> bool:
        try:
            machines = self._link.machines()
            operations = self._link.operations()
        except UpstreamFailure as error:
            log.warning("server unreachable, working from the store: %s", error)
            return False
        self._store.save_machines(machines)
        self._store.replace_pulled(operations)
        report.pulled = len(operations)
        return True

    def _flush(self, report: PassReport) -> bool:
        """Send queued reports in order, a batch at a time; False when the server stops answering."""
        while batch := self._store.outgoing(BATCH):
            try:
                results = self._link.send_reports(batch)
            except UpstreamFailure as error:
                log.warning("reports wait for the server (%d queued): %s", self._store.queued_count(), error)
                return False
            self._store.answered(results, self._clock())
            report.sent += len(results)
            for result in results:
                if result.outcome is Outcome.REFUSED:
                    log.error("the server refused report %s: %s", result.id, result.reason)
            if len(results) < len(batch):  # answers missing: send the rest next pass, in order
                return True
        return True

    # -- the machines ---------------------------------------------------------------------------

    def _connector(self, machine: SiteMachine) -> MachineConnector | None:
        """The machine's connector, built once; None (said once) when it is not the agent's to drive."""
        spec = dict(machine.connector)
        built = self._connectors.get(machine.id)
        if built is not None and built[0] == spec:
            return built[1]
        if self._unusable.get(machine.id) == spec:
            return None
        try:
            connector = self._build(machine)
        except MicrofactoryError as error:
            self._unusable[machine.id] = spec
            log.error("machine %s is not used: %s", machine.id, error)
            return None
        if connector is None:
            self._unusable[machine.id] = spec
            log.info("machine %s is a manual station: its operators report its work", machine.id)
            return None
        self._connectors[machine.id] = (spec, connector)
        return connector

    def _poll(self, report: PassReport) -> None:
        machines = {m.id: m for m in self._store.machines()}
        for job in self._store.running():
            machine = machines.get(job.machine)
            connector = self._connector(machine) if machine else None
            if connector is None:
                continue
            try:
                status = connector.status(job.job)
            except NotFound:
                self._end(job, ReportEvent.FAILED, f"machine {job.machine} no longer knows job {job.job}")
                report.failed.append(job.operation.id)
                continue
            except UpstreamFailure as error:
                log.warning("machine %s does not answer: %s", job.machine, error)
                continue
            if status.state is MachineState.DONE:
                self._end(job, ReportEvent.FINISHED, status.message or None)
                report.finished.append(job.operation.id)
            elif status.state in GIVE_UP:
                self._end(job, ReportEvent.FAILED, status.message or f"the job was {status.state}")
                report.failed.append(job.operation.id)

    def _end(self, job: RunningJob, event: ReportEvent, message: str | None) -> None:
        state = LocalState.DONE if event is ReportEvent.FINISHED else LocalState.FAILED
        self._store.ended(job.operation.id, state, self._report(job.operation, event, job, message))

    def _dispatch(self, report: PassReport) -> None:
        machines = self._store.machines()
        busy = {job.machine for job in self._store.running()}
        finished = self._store.finished_here()
        for operation in self._store.pending():
            if not is_ready(operation, finished):
                continue
            usable = [m for m in machines if m.id not in busy and self._connector(m) is not None]
            machine = choose_machine(operation, usable, busy)
            if machine is None:
                continue
            if self._start(operation, machine):
                busy.add(machine.id)
                report.dispatched.append(operation.id)

    def _start(self, operation: AgentOperation, machine: SiteMachine) -> bool:
        """Submit and start the operation's program on the machine; False if it cannot run now."""
        connector = self._connectors[machine.id][1]
        try:
            program = self._programs.program_for(operation)
        except (NotFound, Conflict) as error:
            self._store.note(operation.id, str(error))
            self._hold(operation, str(error))
            return False
        try:
            job = connector.submit(program)
        except (Conflict, UpstreamFailure) as error:
            log.warning("machine %s did not take %s: %s", machine.id, operation.id, error)
            return False
        try:
            connector.start(job)
        except (Conflict, UpstreamFailure) as error:
            log.warning("machine %s did not start %s: %s", machine.id, operation.id, error)
            _withdraw(connector, job)
            return False
        running = RunningJob(operation, machine.id, job, program.name, self._clock())
        self._store.started(running, self._report(operation, ReportEvent.STARTED, running, None))
        return True

    def _hold(self, operation: AgentOperation, reason: str) -> None:
        """Hold a step that cannot run (no program) on the server, where people see why.

        Nothing is guessed: the step waits, held with the reason, until a person adds the program and
        releases the hold. Offline, the note stays here and the next pass asks again.
        """
        try:
            held = self._link.hold(operation.id, reason[:MAX_MESSAGE])
        except MicrofactoryError as error:
            log.warning(
                "operation %s waits (%s); holding it on the server failed: %s", operation.id, reason, error
            )
            return
        log.warning("operation %s %s: %s", operation.id, "held" if held else "not holdable", reason)

    def _report(
        self, operation: AgentOperation, event: ReportEvent, job: RunningJob, message: str | None
    ) -> Report:
        return Report(
            id=str(uuid.uuid4()),
            operation_id=operation.id,
            event=event,
            machine=job.machine,
            at=self._clock(),
            operator=self._operator,
            message=message[:MAX_MESSAGE] if message else None,  # a printer's log can run long
            program=job.program,
        )


def _withdraw(connector: MachineConnector, job: str) -> None:
    """Cancel a submitted job that would not start, so it cannot run later unseen; best effort."""
    try:
        connector.cancel(job)
    except MicrofactoryError as error:
        log.warning("job %s could not be withdrawn: %s", job, error)
