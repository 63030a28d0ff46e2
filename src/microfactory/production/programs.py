"""The site's program library: which file a machine runs for an operation, and nothing guessed.

A library is a folder the site keeps (the agent's `--programs`):

```
programs/
  KEYCAP-PLA-TEAL.gcode     a part in one material (preferred)
  KEYCAP.gcode              the part in any material
  fonts/DIN-1451.ttf        fonts the catalog names for engravings
```

- A make operation of part P in material M runs `P-M.gcode` if present, else `P.gcode`
  (spec/interfaces.md, Production). Neither: `ProgramMissing` names both files it tried, and the
  agent holds the operation with that reason.
- An operation with a `text` param (an engraving) gets an SVG generated from the text as outlines
  (`engraving.py`) in the font the operation names, found in `fonts/`; a site without that font
  names its own (`engraving_font`: a file in `fonts/` or a family matplotlib has, such as
  "DejaVu Sans"). Size from the params `height_mm` and `width_mm` when the catalog gives them.
- Any other operation (assembly, packing) is done by a person: an instruction sheet from the
  operation itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from matplotlib.font_manager import FontProperties, findfont

from microfactory.errors import Conflict, NotFound
from microfactory.production.connectors import Program, ProgramKind
from microfactory.production.engraving import DEFAULT_HEIGHT_MM, EngravingSize, engraving_svg

FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
LASER_CAPABILITIES = frozenset({"laser_engrave", "laser_cut"})

__all__ = ["Program", "ProgramKind", "ProgramLibrary", "ProgramMissing"]


class OperationLike(Protocol):
    """What the library reads of an operation: `catalog.work_order.Operation` or the agent's copy."""

    @property
    def id(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def capability(self) -> str: ...
    @property
    def item(self) -> str: ...
    @property
    def material(self) -> str | None: ...
    @property
    def minutes(self) -> float: ...
    @property
    def params(self) -> Mapping[str, Any]: ...


class ProgramMissing(Conflict):
    """No program for an operation: the operation is held with this reason until a person adds one."""

    def __init__(self, operation: str, reason: str, tried: tuple[str, ...] = ()) -> None:
        super().__init__(f"no program for {operation}: {reason}")
        self.operation = operation
        self.reason = reason
        self.tried = tried


class ProgramLibrary:
    """One site's folder of programs and fonts."""

    def __init__(self, folder: Path, *, engraving_font: str | None = None) -> None:
        if not folder.is_dir():
            raise NotFound("program library", str(folder), f"the program library {folder} is not a folder")
        self.folder = folder
        self.engraving_font = engraving_font

    def program_for(self, operation: OperationLike) -> Program:
        """The program the operation's machine runs; `ProgramMissing` when the library has none."""
        if "text" in operation.params:
            return self._engraving(operation)
        if operation.op == "make":
            return self._gcode(operation)
        if operation.capability in LASER_CAPABILITIES:
            raise ProgramMissing(operation.id, "a laser operation without a text to engrave")
        return _instructions(operation)

    def _gcode(self, operation: OperationLike) -> Program:
        part = str(operation.params.get("part") or operation.item)
        material = operation.material or operation.params.get("material")
        names = ([f"{part}-{material}.gcode"] if material else []) + [f"{part}.gcode"]
        unsafe = [name for name in names if not _is_plain_file_name(name)]
        if unsafe:
            raise ProgramMissing(operation.id, f"{unsafe[0]!r} is not a plain file name", tuple(names))
        for name in names:
            path = self.folder / name
            if path.is_file():
                return Program(name, path.read_bytes(), operation.minutes, material, ProgramKind.GCODE, path)
        what = f"part {part} in {material}" if material else f"part {part}"
        tried = " nor ".join(names)
        raise ProgramMissing(
            operation.id, f"the library {self.folder} has neither {tried} ({what})", tuple(names)
        )

    def _engraving(self, operation: OperationLike) -> Program:
        text = str(operation.params["text"])
        if not text.strip():
            raise ProgramMissing(operation.id, "the engraving's text is empty")
        font = self._font(operation)
        height = _positive(operation.params.get("height_mm")) or DEFAULT_HEIGHT_MM
        size = EngravingSize(height, _positive(operation.params.get("width_mm")))
        content = engraving_svg(text, font, size)
        name = f"{_file_stem(operation.id)}.svg"
        return Program(name, content, operation.minutes, operation.material, ProgramKind.SVG)

    def _font(self, operation: OperationLike) -> Path | str:
        """The operation's font from `fonts/`, else the site's font; a named font never silently swapped."""
        named = operation.params.get("font")
        tried: list[str] = []
        if named:
            found, tried = self._font_file(str(named))
            if found is not None:
                return found
        if self.engraving_font:
            found, site_tried = self._font_file(self.engraving_font)
            if found is not None:
                return found
            if _matplotlib_has(self.engraving_font):
                return self.engraving_font
            tried += [*site_tried, f"the font family {self.engraving_font!r}"]
        elif not named:
            return "DejaVu Sans"  # the catalog asks for no font: matplotlib's own will do
        reason = f"the font {named!r} is not in the library" if named else "the site's font is missing"
        hint = "; put the font file there or name a site engraving font"
        raise ProgramMissing(operation.id, f"{reason} (tried {', '.join(tried)}){hint}", tuple(tried))

    def _font_file(self, name: str) -> tuple[Path | None, list[str]]:
        if not _is_plain_file_name(name):
            return None, []
        candidates = [name] if name.lower().endswith(FONT_SUFFIXES) else [name + s for s in FONT_SUFFIXES]
        paths = [self.folder / "fonts" / candidate for candidate in candidates]
        found = next((path for path in paths if path.is_file()), None)
        return found, [str(path.relative_to(self.folder)) for path in paths]


def _instructions(operation: OperationLike) -> Program:
    """A sheet for a person: what to do, to which item, with which params, as the catalog says."""
    lines = [f"{operation.op} {operation.item} ({operation.id})"]
    if operation.params:
        lines.append("params: " + json.dumps(dict(operation.params), sort_keys=True, default=str))
    content = ("\n".join(lines) + "\n").encode()
    name = f"{_file_stem(operation.id)}.txt"
    return Program(name, content, operation.minutes, operation.material, ProgramKind.INSTRUCTIONS)


def _is_plain_file_name(name: str) -> bool:
    """A name inside the library, never a path out of it (`../x`, `/etc/x`)."""
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")


def _file_stem(operation_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in operation_id)


def _positive(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _matplotlib_has(family: str) -> bool:
    try:
        findfont(FontProperties(family=family), fallback_to_default=False)
    except ValueError:
        return False
    return True
