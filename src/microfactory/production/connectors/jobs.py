"""The job book both in-process connectors keep: job references, states and the legal moves."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from microfactory.errors import Conflict, NotFound
from microfactory.production.connectors import FINISHED, MachineState, Program


@dataclass
class Job:
    ref: str
    program: Program
    state: MachineState = MachineState.IDLE
    message: str = ""


class JobBook:
    """Jobs by reference, numbered in submission order so references are stable and readable."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._numbers = count(1)
        self._jobs: dict[str, Job] = {}

    def add(self, program: Program) -> Job:
        job = Job(f"{self._prefix}-{next(self._numbers)}", program)
        self._jobs[job.ref] = job
        return job

    def get(self, ref: str) -> Job:
        try:
            return self._jobs[ref]
        except KeyError:
            raise NotFound("machine job", ref) from None

    def cancel(self, ref: str, why: str) -> Job:
        """Mark an unfinished job cancelled; a finished one refuses with `Conflict`."""
        job = self.get(ref)
        if job.state in FINISHED:
            raise Conflict(f"job {ref} is already {job.state}, it cannot be cancelled")
        job.state, job.message = MachineState.CANCELLED, why
        return job
