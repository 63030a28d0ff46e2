"""An engraving as the laser software takes it: an SVG in millimetres with the text as outlines.

Outlines, not an SVG `<text>` element, so the laser cuts the same letters whatever fonts the laser's
computer has: matplotlib's `TextPath` turns the text into the font's glyph curves, which become one
SVG path. The text is scaled to the height asked for (the engraved letters' real height), and
narrowed to a width limit when the plate is small.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from matplotlib.font_manager import FontProperties
from matplotlib.path import Path as GlyphPath
from matplotlib.textpath import TextPath

DEFAULT_HEIGHT_MM = 5.0
MARGIN_MM = 1.0
SEGMENT = {  # matplotlib path codes → the SVG command and the points each takes
    GlyphPath.MOVETO: "M",
    GlyphPath.LINETO: "L",
    GlyphPath.CURVE3: "Q",
    GlyphPath.CURVE4: "C",
}


@dataclass(frozen=True, slots=True)
class EngravingSize:
    """How big the engraved text is: its height, and the widest it may be (None: no limit)."""

    height_mm: float = DEFAULT_HEIGHT_MM
    max_width_mm: float | None = None


def engraving_svg(text: str, font: Path | str, size: EngravingSize = EngravingSize()) -> bytes:
    """The SVG of `text` in `font` (a font file, or a family matplotlib has), outlined and scaled.

    The caller checks that there is text to engrave; the outline of blank text has no extent.
    """
    prop = FontProperties(fname=str(font)) if isinstance(font, Path) else FontProperties(family=font)
    glyphs = TextPath((0, 0), text, size=10, prop=prop)
    extents = glyphs.get_extents()
    x0, y0, x1, y1 = extents.x0, extents.y0, extents.x1, extents.y1
    scale = size.height_mm / max(y1 - y0, 1e-9)
    if size.max_width_mm is not None and (x1 - x0) * scale > size.max_width_mm:
        scale = size.max_width_mm / max(x1 - x0, 1e-9)

    def point(x: float, y: float) -> str:
        return f"{(x - x0) * scale + MARGIN_MM:.3f},{(y1 - y) * scale + MARGIN_MM:.3f}"

    commands = []
    for vertices, code in glyphs.iter_segments(curves=True, simplify=False):
        if code == GlyphPath.CLOSEPOLY:
            commands.append("Z")
            continue
        pairs = vertices.reshape(-1, 2)
        commands.append(SEGMENT[code] + " ".join(point(float(x), float(y)) for x, y in pairs))
    width = (x1 - x0) * scale + 2 * MARGIN_MM
    height = (y1 - y0) * scale + 2 * MARGIN_MM
    return _document(text, " ".join(commands), width, height).encode()


def _document(text: str, path: str, width: float, height: float) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.3f}mm" height="{height:.3f}mm" '
        f'viewBox="0 0 {width:.3f} {height:.3f}">\n'
        f"  <title>{escape(text)}</title>\n"
        f'  <path data-text={quoteattr(text)} fill="black" stroke="none" d="{path}"/>\n'
        "</svg>\n"
    )
