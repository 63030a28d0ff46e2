"""A manual station: the machine moves only when an operator says so.

For benches, packing tables and machines without a network interface. `start` only asks; the job
runs once the operator confirms it started and ends when they confirm it finished (or failed), so
the system never claims progress nobody saw.
"""

from __future__ import annotations

from microfactory.errors import Conflict
from microfactory.production.connectors import MachineState, MachineStatus, Program
from microfactory.production.connectors.jobs import JobBook


class ManualConnector:
    """Jobs an operator runs by hand; every move is theirs."""

    def __init__(self, name: str = "manual") -> None:
        self._jobs = JobBook(name)
        self._asked: set[str] = set()

    def submit(self, program: Program) -> str:
        return self._jobs.add(program).ref

    def start(self, job: str) -> None:
        """Ask the operator to start; the state stays idle until they confirm."""
        entry = self._jobs.get(job)
        if entry.state is not MachineState.IDLE:
            raise Conflict(f"job {job} is {entry.state}, only a submitted job can start")
        self._asked.add(job)
        entry.message = "waiting for the operator to start it"

    def confirm_started(self, job: str) -> None:
        entry = self._jobs.get(job)
        if entry.state is not MachineState.IDLE:
            raise Conflict(f"job {job} is {entry.state}, it cannot start again")
        entry.state, entry.message = MachineState.RUNNING, "started by the operator"

    def confirm_finished(self, job: str, *, ok: bool = True, note: str = "") -> None:
        """The operator's word on the outcome: done, or failed with their note."""
        entry = self._jobs.get(job)
        if entry.state is not MachineState.RUNNING:
            raise Conflict(f"job {job} is {entry.state}, only a running job can finish")
        entry.state = MachineState.DONE if ok else MachineState.FAILED
        entry.message = note or ("finished by the operator" if ok else "failed, says the operator")

    def status(self, job: str) -> MachineStatus:
        entry = self._jobs.get(job)
        progress = 1.0 if entry.state is MachineState.DONE else 0.0
        return MachineStatus(job, entry.state, progress, entry.message)

    def cancel(self, job: str) -> None:
        self._jobs.cancel(job, "cancelled")
