"""The dimension inspector: the part's length and width in millimetres, against what was ordered.

The scale comes from the calibration marker (ArUco 4x4_50) whose printed side is `marker_mm`
(default 30): mm per pixel = marker_mm / its side in pixels, corners refined to a fraction of a
pixel. The part is the largest region against the backdrop (`scene.find_part`); its size is its
minimum-area rectangle, so a turned part measures the same. The long side is compared with the
expected length and the short side with the expected width, each within `tolerance_mm`.

Expected sizes: the check's `length_mm` and `width_mm`, overridden by the unit's options of the
same names when it has them (a made-to-measure part). The camera must look straight down; a
tilted camera needs its images rectified first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2

from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.quality.inspectors import Finding, Image, Inspection, InspectionContext, Region, Verdict
from microfactory.quality.inspectors import scene as station
from microfactory.quality.inspectors.images import rgb

KIND = "dimension"
VERSION = "dimension-1"
DEFAULT_TOLERANCE_MM = 1.0
DEFAULT_MARKER_MM = 30.0


class DimensionInspector:
    def __init__(
        self,
        length_mm: float | None,
        width_mm: float | None,
        tolerance_mm: float = DEFAULT_TOLERANCE_MM,
        marker_mm: float = DEFAULT_MARKER_MM,
    ) -> None:
        self._expected = {"length_mm": length_mm, "width_mm": width_mm}
        self._tolerance, self._marker_mm = tolerance_mm, marker_mm

    def inspect(self, image: Image, context: InspectionContext) -> Inspection:
        expected = self.expected(context)
        if not expected:
            return _review("no expected size: give length_mm and/or width_mm")
        picture = rgb(image)
        marker = station.find_marker(picture)
        if marker is None:
            return _review("no calibration marker (ArUco 4x4_50) in the image: no scale")
        part = station.find_part(picture, ignore=marker)
        if part is None:
            return _review("no part found against the backdrop")
        mm_per_px = self._marker_mm / marker.side_px
        sides = part.sides()
        measured = {"length_mm": sides[0] * mm_per_px, "width_mm": sides[1] * mm_per_px}
        box = Region(*(int(v) for v in _bounding(part)))
        findings = []
        for name, size in expected.items():
            off = abs(measured[name] - size)
            if off > self._tolerance:
                label = f"{name.removesuffix('_mm')}: {measured[name]:.1f} mm, expected {size:g} ± {self._tolerance:g} mm"
                findings.append(Finding(label, round(off / (off + self._tolerance), 4), box))
        return Inspection(Verdict.FAIL if findings else Verdict.PASS, tuple(findings), KIND, VERSION)

    def expected(self, context: InspectionContext) -> dict[str, float]:
        """The expected sizes: the unit's options win over the check's settings."""
        found = {}
        for name, default in self._expected.items():
            value = context.options.get(name, default)
            if value is None or value == "":
                continue
            try:
                found[name] = float(value)
            except ValueError:
                raise Invalid(
                    "the expected size is wrong", [Problem(name, f"{value!r} is not a number")]
                ) from None
        return found


def _bounding(part: station.Part) -> tuple[int, int, int, int]:
    x, y, w, h = cv2.boundingRect(part.contour)
    return int(x), int(y), int(w), int(h)


def _review(why: str) -> Inspection:
    return Inspection(Verdict.REVIEW, (Finding(why, 0.5),), KIND, VERSION)


def from_settings(settings: Mapping[str, Any]) -> DimensionInspector:
    """A catalog check's settings: `length_mm`, `width_mm`, `tolerance_mm`, `marker_mm`."""
    length, width = settings.get("length_mm"), settings.get("width_mm")
    return DimensionInspector(
        None if length is None else float(length),
        None if width is None else float(width),
        float(settings.get("tolerance_mm", DEFAULT_TOLERANCE_MM)),
        float(settings.get("marker_mm", DEFAULT_MARKER_MM)),
    )
