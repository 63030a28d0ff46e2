"""The machine connector port: how a site's edge agent hands a program to a machine and follows it.

Four calls, whatever the machine: `submit` a program (a job reference comes back), `start` it,
read its `status`, `cancel` it. OctoPrint and Moonraker printers, a simulated machine for the demo
and a manual station (an operator confirms start and finish) all answer the same way, so the agent
and the scheduler never ask which one they are driving. Implementations live one per module and are
chosen by the `connector.kind` of the machine in the network document (`kinds.CONNECTORS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class MachineState(StrEnum):
    IDLE = "idle"  # submitted, not running yet (or the machine has nothing to do)
    RUNNING = "running"  # printing, cutting, engraving
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    OFFLINE = "offline"  # the machine does not answer; the job's fate is unknown


FINISHED = frozenset({MachineState.DONE, MachineState.FAILED, MachineState.CANCELLED})


class ProgramKind(StrEnum):
    """What a program is, so a connector can refuse one its machine cannot run (SVG on a printer)."""

    GCODE = "gcode"  # a printer's file from the site's program library
    SVG = "svg"  # a laser's engraving, generated from the ordered text
    INSTRUCTIONS = "instructions"  # a sheet for a person at a manual station


@dataclass(frozen=True, slots=True)
class Program:
    """What a machine runs: a G-code file, an SVG engraving or a manual instruction sheet.

    `minutes` is the planned run time, which a simulated machine takes as the truth; `source` is the
    library file it was read from (None when it was generated), so a person can find it.
    """

    name: str
    content: bytes = b""
    minutes: float = 30.0
    material: str | None = None
    kind: ProgramKind = ProgramKind.GCODE
    source: Path | None = None


@dataclass(frozen=True, slots=True)
class MachineStatus:
    """How a job stands: its state, progress from 0 to 1, and what the machine said."""

    job: str
    state: MachineState
    progress: float = 0.0
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


class MachineConnector(Protocol):
    """A machine seen from the edge agent; unknown jobs raise `NotFound`, illegal moves `Conflict`."""

    def submit(self, program: Program) -> str:
        """Hand the program to the machine; the job reference to follow it by."""
        ...

    def start(self, job: str) -> None:
        """Ask the machine to run a submitted job."""
        ...

    def status(self, job: str) -> MachineStatus: ...

    def cancel(self, job: str) -> None:
        """Stop a job that has not finished; a finished job cannot be cancelled."""
        ...
