"""A simulated machine for the demo and tests: a job runs for its program's minutes, scaled.

Time comes from an injected clock, so a test moves a fake clock instead of sleeping, and the demo
runs a day's work in minutes with `speedup`. Progress is the share of the planned minutes that have
passed; the job is done when all have.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from microfactory.errors import Conflict
from microfactory.production.connectors import MachineState, MachineStatus, Program
from microfactory.production.connectors.jobs import JobBook

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class SimulatedConnector:
    """A machine that always does what it is told, one job at a time, in scaled time."""

    def __init__(self, clock: Clock = utc_now, *, speedup: float = 1.0, name: str = "sim") -> None:
        if speedup <= 0:
            raise Conflict(f"a simulated machine needs a positive speedup, not {speedup}")
        self._clock = clock
        self._speedup = speedup
        self._jobs = JobBook(name)
        self._started: dict[str, datetime] = {}
        self.offline = False  # set to see how the agent copes with a machine that stops answering

    def submit(self, program: Program) -> str:
        return self._jobs.add(program).ref

    def start(self, job: str) -> None:
        entry = self._jobs.get(job)
        if entry.state is not MachineState.IDLE or job in self._started:
            raise Conflict(f"job {job} is {self.status(job).state}, only a submitted job can start")
        busy = [ref for ref in self._started if not self.status(ref).finished]
        if busy:
            raise Conflict(f"the machine is busy with job {busy[0]}")
        self._started[job] = self._clock()
        entry.state = MachineState.RUNNING

    def status(self, job: str) -> MachineStatus:
        entry = self._jobs.get(job)
        if self.offline:
            return MachineStatus(job, MachineState.OFFLINE, message="the machine does not answer")
        if entry.state is not MachineState.RUNNING:
            progress = 1.0 if entry.state is MachineState.DONE else 0.0
            return MachineStatus(job, entry.state, progress, entry.message)
        minutes = (self._clock() - self._started[job]).total_seconds() / 60 * self._speedup
        planned = max(entry.program.minutes, 1e-9)
        if minutes >= planned:
            entry.state = MachineState.DONE
            return MachineStatus(job, MachineState.DONE, 1.0)
        return MachineStatus(job, MachineState.RUNNING, minutes / planned)

    def cancel(self, job: str) -> None:
        self.status(job)  # a job that has just finished is done, not cancelled
        self._jobs.cancel(job, "cancelled")
