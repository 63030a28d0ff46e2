"""The site's program library: the file for a make operation, engravings from the ordered text, and a
clear reason (the files tried) when a program is missing."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import matplotlib
import pytest

from microfactory.catalog.bridge import translate
from microfactory.catalog.model import Catalog
from microfactory.catalog.work_order import Operation
from microfactory.errors import NotFound
from microfactory.production.programs import ProgramKind, ProgramLibrary, ProgramMissing

DEJAVU = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
SVG = "{http://www.w3.org/2000/svg}"


def make(part: str, material: str | None) -> Operation:
    params: dict[str, Any] = {"part": part} | ({"material": material} if material else {})
    return Operation(
        f"make:{part}", "make", "fdm_print", Decimal(8), 32.0, params, (), part, "rule", material
    )


def engrave(**params: Any) -> Operation:
    return Operation(
        "KP:engrave-nameplate",
        "engrave-nameplate",
        "laser_engrave",
        Decimal(1),
        3.0,
        params,
        (),
        "KP",
        "rule",
    )


@pytest.fixture
def library(tmp_path: Path) -> Path:
    (tmp_path / "KEYCAP-PLA-TEAL.gcode").write_bytes(b"; keycap in teal\n")
    (tmp_path / "KEYCAP.gcode").write_bytes(b"; keycap, any material\n")
    (tmp_path / "HSG-TOP.gcode").write_bytes(b"; housing top\n")
    return tmp_path


def test_the_part_in_its_material_comes_first(library: Path) -> None:
    program = ProgramLibrary(library).program_for(make("KEYCAP", "PLA-TEAL"))
    assert (program.name, program.content, program.kind) == (
        "KEYCAP-PLA-TEAL.gcode",
        b"; keycap in teal\n",
        "gcode",
    )
    assert program.source == library / "KEYCAP-PLA-TEAL.gcode"
    assert (program.minutes, program.material) == (32.0, "PLA-TEAL")


def test_else_the_part_in_any_material(library: Path) -> None:
    program = ProgramLibrary(library).program_for(make("KEYCAP", "PLA-BLACK"))
    assert (program.name, program.content) == ("KEYCAP.gcode", b"; keycap, any material\n")
    assert ProgramLibrary(library).program_for(make("HSG-TOP", None)).name == "HSG-TOP.gcode"


def test_a_missing_program_names_the_files_tried(library: Path) -> None:
    with pytest.raises(ProgramMissing) as missing:
        ProgramLibrary(library).program_for(make("HSG-BOTTOM", "PLA-TEAL"))
    assert missing.value.operation == "make:HSG-BOTTOM"
    assert missing.value.tried == ("HSG-BOTTOM-PLA-TEAL.gcode", "HSG-BOTTOM.gcode")
    assert "HSG-BOTTOM-PLA-TEAL.gcode nor HSG-BOTTOM.gcode" in str(missing.value)
    assert str(missing.value).startswith("no program for make:HSG-BOTTOM: the library ")


def test_a_name_that_would_leave_the_library_is_refused(library: Path) -> None:
    (library.parent / "secret.gcode").write_bytes(b"nope")
    with pytest.raises(ProgramMissing, match="not a plain file name"):
        ProgramLibrary(library).program_for(make("../secret", None))


def test_a_library_that_is_not_a_folder_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="is not a folder"):
        ProgramLibrary(tmp_path / "nowhere")


def _outline(content: bytes) -> tuple[float, float, str]:
    root = ElementTree.fromstring(content)
    (path,) = root.iter(f"{SVG}path")
    width, height = (float(root.attrib[key].removesuffix("mm")) for key in ("width", "height"))
    return width, height, path.attrib["d"]


def test_an_engraving_is_the_text_as_outlines_in_the_named_font(library: Path) -> None:
    (library / "fonts").mkdir()
    shutil.copy(DEJAVU, library / "fonts" / "DIN-1451.ttf")
    program = ProgramLibrary(library).program_for(engrave(text="Mira", font="DIN-1451", height_mm=6))
    assert (program.name, program.kind) == ("KP-engrave-nameplate.svg", ProgramKind.SVG)
    width, height, outline = _outline(program.content)
    assert height == pytest.approx(6 + 2)  # the letters' height, and a millimetre of margin each side
    assert 10 < width < 30
    assert outline.startswith("M") and outline.count("Z") >= 4  # M, i (stem and dot), r, a
    assert b"<text" not in program.content and b"<title>Mira</title>" in program.content


def test_a_width_limit_shrinks_the_text(library: Path) -> None:
    site = ProgramLibrary(library, engraving_font="DejaVu Sans")
    width, height, _ = _outline(site.program_for(engrave(text="Mira", height_mm=6, width_mm=10)).content)
    assert width == pytest.approx(10 + 2) and height < 8


def test_a_named_font_the_site_lacks_holds_the_engraving(library: Path) -> None:
    with pytest.raises(ProgramMissing) as missing:
        ProgramLibrary(library).program_for(engrave(text="Mira", font="DIN-1451"))
    assert "font 'DIN-1451' is not in the library" in str(missing.value)
    assert missing.value.tried == ("fonts/DIN-1451.ttf", "fonts/DIN-1451.otf", "fonts/DIN-1451.ttc")


def test_a_site_font_stands_in_when_the_site_names_one(library: Path) -> None:
    site = ProgramLibrary(library, engraving_font="DejaVu Sans")
    program = site.program_for(engrave(text="Mira", font="DIN-1451"))
    assert program.kind is ProgramKind.SVG
    with pytest.raises(ProgramMissing, match="site's font"):
        ProgramLibrary(library, engraving_font="No Such Font Family").program_for(engrave(text="Mira"))


def test_blank_text_and_a_laser_without_text_are_held(library: Path) -> None:
    with pytest.raises(ProgramMissing, match="text is empty"):
        ProgramLibrary(library).program_for(engrave(text="  "))
    with pytest.raises(ProgramMissing, match="without a text"):
        ProgramLibrary(library).program_for(engrave(font="DIN-1451"))


def test_the_keypad_operations_get_their_programs(library: Path, keypad: Catalog) -> None:
    """What the catalog translates (examples/catalog-keypad.yaml) is what the library serves."""
    translation = translate(keypad, "KP", {"keys": 8, "color": "teal", "engraving": "Mira"})
    site = ProgramLibrary(library, engraving_font="DejaVu Sans")
    kinds: dict[str, ProgramKind | ProgramMissing] = {}
    for operation in translation.operations:
        try:
            kinds[operation.id] = site.program_for(operation).kind
        except ProgramMissing as missing:
            kinds[operation.id] = missing
    assert kinds["make:KEYCAP"] is ProgramKind.GCODE
    assert kinds["make:HSG-TOP"] is ProgramKind.GCODE
    assert isinstance(kinds["make:HSG-BOTTOM"], ProgramMissing)  # the library has no HSG-BOTTOM file
    assert kinds["KP:engrave-nameplate"] is ProgramKind.SVG
    assert kinds["KP:assemble"] is ProgramKind.INSTRUCTIONS
    sheet = site.program_for(next(op for op in translation.operations if op.id == "KP:flash-firmware"))
    assert b"kp8-standard.uf2" in sheet.content
