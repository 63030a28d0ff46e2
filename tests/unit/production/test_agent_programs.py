"""The contract's program rule: `P-M.gcode` if present, else `P.gcode`; a missing file waits, named."""

from __future__ import annotations

from pathlib import Path

import pytest

from microfactory.production.agent.model import AgentOperation
from microfactory.production.agent.programs import GcodeFolder, LibraryPrograms, LibraryStep, ProgramMissing
from microfactory.production.connectors import Program


def make(part: str, material: str | None) -> AgentOperation:
    params = {"part": part, **({"material": material} if material else {})}
    return AgentOperation("op_1", "wo_1", f"make:{part}", "fdm_print", params=params)


def test_the_material_s_own_file_first_then_the_part_s(tmp_path: Path) -> None:
    (tmp_path / "KEYCAP-PLA-TEAL.gcode").write_bytes(b"G28 ; teal")
    (tmp_path / "KEYCAP.gcode").write_bytes(b"G28")
    library = GcodeFolder(tmp_path)
    teal = library.program_for(make("KEYCAP", "PLA-TEAL"))
    assert (teal.name, teal.content, teal.material) == ("KEYCAP-PLA-TEAL.gcode", b"G28 ; teal", "PLA-TEAL")
    assert library.program_for(make("KEYCAP", "PLA-RED")).name == "KEYCAP.gcode"


def test_a_missing_program_names_the_files_tried(tmp_path: Path) -> None:
    with pytest.raises(ProgramMissing, match=r"KEYCAP-PLA-RED\.gcode, .*KEYCAP\.gcode"):
        GcodeFolder(tmp_path).program_for(make("KEYCAP", "PLA-RED"))


def test_an_operation_that_is_not_a_print_runs_its_plan() -> None:
    assemble = AgentOperation("op_7", "wo_1", "KP:assemble", "assembly")
    program = GcodeFolder(None).program_for(assemble)
    assert (program.name, program.content, program.minutes) == ("KP:assemble", b"", 30.0)


def test_the_program_library_reads_a_server_step_as_a_work_order_step() -> None:
    step = LibraryStep.of(make("HSG-TOP", "PLA-TEAL"))
    assert (step.op, step.item, step.material, step.params["part"]) == (
        "make",
        "HSG-TOP",
        "PLA-TEAL",
        "HSG-TOP",
    )
    engrave = AgentOperation("op_8", "wo_1", "KP:engrave-nameplate", "laser_engrave", params={"text": "Mira"})
    assert (LibraryStep.of(engrave).op, LibraryStep.of(engrave).item) == ("engrave-nameplate", "KP")


class NamesOnly:
    """A stand-in library: the program is named after what it was asked for."""

    def program_for(self, operation: LibraryStep, /) -> Program:
        return Program(f"{operation.op}-{operation.item}", minutes=operation.minutes)


def test_the_library_sits_behind_the_agent_s_port() -> None:
    assert LibraryPrograms(NamesOnly()).program_for(make("KEYCAP", None)).name == "make-KEYCAP"
