"""The engraving inspector: does the part carry the text the customer ordered?

The part is found against the backdrop and turned level (`scene.upright`); the engraved region is
`region: [x, y, w, h]` as fractions of the levelled part (default: the whole part), cut out,
enlarged to a height Tesseract reads well, binarised (Otsu) as dark text on light. Tesseract
(the Debian package `tesseract-ocr`, through pytesseract) reads it as one line of text.

The comparison is tolerant of case and spacing and strict on letters: both texts are folded to
lower case with every space removed, and the ordered text must appear in what was read, letter
for letter. A wrong letter, a missing one, or no text at all fails the unit. A unit whose
`option` (default `engraving`) is empty passes: nothing was ordered to be engraved.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from microfactory.errors import Invalid, MissingSetting
from microfactory.problems import Problem
from microfactory.quality.inspectors import Finding, Image, Inspection, InspectionContext, Region, Verdict
from microfactory.quality.inspectors import scene as station
from microfactory.quality.inspectors.images import grey, rgb

KIND = "engraving"
WHOLE = (0.0, 0.0, 1.0, 1.0)
TEXT_HEIGHT = 64  # pixels: the region is scaled so a line of capitals is about this tall
MIN_GLYPH_AREA = 60  # pixels after scaling: smaller dark specks are dust and noise, not letters
MIN_GLYPH_HEIGHT = 15  # pixels after scaling: a letter is taller than a speck of noise


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def folded(text: str) -> str:
    """Case, spacing and punctuation dropped, letters and digits kept: "Lab-7's" -> 'lab7s'.

    A hyphen or an apostrophe is a speck OCR reads as anything ('’', '-', nothing); a letter is not.
    """
    return "".join(char for char in text if char.isalnum()).casefold()


def read_text(region: Image) -> str:
    """What Tesseract reads in a region of an image (one line)."""
    import pytesseract

    if not tesseract_available():
        raise MissingSetting(
            "tesseract", "the engraving check reads text with it: apt-get install tesseract-ocr"
        )
    prepared = _prepared(grey(region))
    if prepared is None:  # no letter-like shape at all: Tesseract would invent some from a blank
        return ""
    return str(pytesseract.image_to_string(prepared, config="--psm 7")).strip()


def _prepared(plain: Image) -> Image | None:
    """Enlarged, binarised with Otsu, dark text on a light ground, with a white margin."""
    factor = max(1.0, 2.5 * TEXT_HEIGHT / max(plain.shape[0], 1))
    if factor > 1.0:
        plain = cv2.resize(plain, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    _, binary = cv2.threshold(cv2.GaussianBlur(plain, (3, 3), 0), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if np.count_nonzero(binary) < binary.size / 2:  # mostly dark: light text on a dark ground
        binary = cv2.bitwise_not(binary)
    glyphs = _glyphs_only(binary)
    return (
        None if glyphs is None else cv2.copyMakeBorder(glyphs, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255)
    )


def _glyphs_only(binary: Image) -> Image | None:
    """Dark shapes that touch the region's edge (the plate's rim, the part around it) whitened.

    Tesseract reads a frame as brackets and bars; letters lie inside the region, so only the
    dark shapes that do not reach its edge are kept and cut out; None when there are none.
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.bitwise_not(binary), connectivity=8)
    height, width = binary.shape
    kept = np.zeros(count, dtype=bool)
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        inside = x > 0 and y > 0 and x + w < width and y + h < height
        kept[label] = inside and area >= MIN_GLYPH_AREA and h >= MIN_GLYPH_HEIGHT
    if not kept.any():
        return None
    glyphs = np.where(kept[labels], 0, 255).astype(np.uint8)
    boxes = stats[kept]
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()
    return glyphs[y0:y1, x0:x1]


class EngravingInspector:
    def __init__(self, option: str = "engraving", region: Sequence[float] = WHOLE) -> None:
        if len(region) != 4 or not all(0.0 <= float(v) <= 1.0 for v in region):
            raise Invalid(
                "the engraving check is wrong",
                [Problem("region", f"{list(region)!r} is not [x, y, w, h] in 0..1")],
            )
        self._option = option
        self._region = tuple(float(v) for v in region)

    @property
    def version(self) -> str:
        return f"engraving-1/tesseract-{_tesseract_version()}"

    def inspect(self, image: Image, context: InspectionContext) -> Inspection:
        ordered = str(context.options.get(self._option) or "")
        if not folded(ordered):
            return Inspection(Verdict.PASS, (), KIND, self.version)
        picture = rgb(image)
        part = station.find_part(picture, ignore=station.find_marker(picture))
        if part is None:
            finding = Finding(f"engraving missing: no part found (ordered {ordered!r})", 1.0)
            return Inspection(Verdict.FAIL, (finding,), KIND, self.version)
        box = _bounding(part.contour)
        read = read_text(self._cut(station.upright(picture, part)))
        if folded(ordered) in folded(read):
            return Inspection(Verdict.PASS, (), KIND, self.version)
        what = "missing" if not folded(read) else "wrong"
        label = f"engraving {what}: read {read!r}, ordered {ordered!r}"
        return Inspection(Verdict.FAIL, (Finding(label, 1.0, box),), KIND, self.version)

    def _cut(self, levelled: Image) -> Image:
        height, width = levelled.shape[:2]
        x, y, w, h = self._region
        left, top = int(x * width), int(y * height)
        return levelled[top : max(top + 1, int((y + h) * height)), left : max(left + 1, int((x + w) * width))]


def _bounding(contour: Image) -> Region:
    x, y, w, h = cv2.boundingRect(contour)
    return Region(int(x), int(y), int(w), int(h))


_VERSION: list[str] = []


def _tesseract_version() -> str:
    if not _VERSION:
        try:
            import pytesseract

            _VERSION.append(str(pytesseract.get_tesseract_version()))
        except Exception:
            return "absent"
    return _VERSION[0]


def from_settings(settings: Mapping[str, Any]) -> EngravingInspector:
    """A catalog check's settings: `option` (default engraving), `region` ([x, y, w, h] in 0..1)."""
    region = settings.get("region", WHOLE)
    if not isinstance(region, Sequence) or isinstance(region, str):
        raise Invalid("the engraving check is wrong", [Problem("region", f"{region!r} is not [x, y, w, h]")])
    return EngravingInspector(str(settings.get("option", "engraving")), [float(v) for v in region])
