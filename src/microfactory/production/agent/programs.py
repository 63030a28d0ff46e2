"""Where the agent gets the program for an operation: a small port, and the contract's folder rule.

`production/programs.py` (the site's full program library, with engraving SVGs) lands beside this;
the agent depends only on `ProgramSource`, so either plugs in. `GcodeFolder` is the contract's rule
for make operations (`P-M.gcode`, else `P.gcode`); other operations (assembly, packing at a manual
station) get an instruction named after the operation. A make operation without its file waits with
a `ProgramMissing` naming the files tried: nothing is guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from microfactory.errors import NotFound
from microfactory.production.agent.model import AgentOperation
from microfactory.production.connectors import Program


class ProgramSource(Protocol):
    def program_for(self, operation: AgentOperation) -> Program:
        """The program to run for the operation; `NotFound` (or `Conflict`) when there is none."""
        ...


class ProgramMissing(NotFound):
    """No file in the library for a make operation; the message names every file tried."""


class GcodeFolder:
    """The site's program folder, or none: without a folder every operation runs its plan only."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder

    def program_for(self, operation: AgentOperation) -> Program:
        part = operation.params.get("part")
        material = operation.material
        if self._folder is None or not part:
            return Program(f"{operation.op or operation.id}", minutes=operation.minutes, material=material)
        names = ([f"{part}-{material}.gcode"] if material else []) + [f"{part}.gcode"]
        for name in names:
            path = self._folder / name
            if path.is_file():
                return Program(name, path.read_bytes(), operation.minutes, material)
        tried = ", ".join(str(self._folder / name) for name in names)
        raise ProgramMissing("program", str(part), f"no program for {operation.id}: tried {tried}")
