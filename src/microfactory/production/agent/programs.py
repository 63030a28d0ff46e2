"""Where the agent gets the program for an operation: a small port, and the contract's folder rule.

The agent depends only on `ProgramSource`. The site's full program library
(`production/programs.ProgramLibrary`, with engraving SVGs) reads an operation as a step of a work
order (`op` is the step's kind, `make`); the server names a step by its id (`make:HSG-TOP`), so
`LibraryPrograms` hands the library a `LibraryStep` that reads the agent's operation that way.
`GcodeFolder` is the contract's rule alone (`P-M.gcode`, else `P.gcode`; other operations get an
instruction named after the step), for a process without the library. A print without its file
waits with the files tried named: nothing is guessed.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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


@dataclass(frozen=True, slots=True)
class LibraryStep:
    """An agent's operation as the program library reads a work order's step."""

    id: str
    op: str  # the step's kind: make, engrave, assemble
    capability: str
    item: str
    material: str | None
    minutes: float
    params: Mapping[str, Any]

    @classmethod
    def of(cls, operation: AgentOperation) -> LibraryStep:
        """`make:HSG-TOP` is a make step of item HSG-TOP; `KP:assemble` an assemble step of KP."""
        head, _, tail = operation.op.partition(":")
        kind, item = ("make", tail) if head == "make" else (tail or head, head)
        part = operation.params.get("part")
        return cls(
            operation.id,
            kind,
            operation.capability,
            str(part or item),
            operation.material,
            operation.minutes,
            operation.params,
        )


class StepProgramLibrary(Protocol):
    def program_for(self, operation: LibraryStep, /) -> Program: ...


class LibraryPrograms:
    """The site's program library behind the agent's port."""

    def __init__(self, library: StepProgramLibrary) -> None:
        self._library = library

    def program_for(self, operation: AgentOperation) -> Program:
        return self._library.program_for(LibraryStep.of(operation))


def site_programs(folder: Path | None) -> ProgramSource:
    """The site's program library for `--programs` when it is installed, else the folder rule.

    Looked up by name because the library lands in a branch of its own; once both are in, this
    is a plain import.
    """
    if folder is None:
        return GcodeFolder(None)
    try:
        module = importlib.import_module("microfactory.production.programs")
    except ImportError:
        return GcodeFolder(folder)
    return LibraryPrograms(module.ProgramLibrary(folder))
