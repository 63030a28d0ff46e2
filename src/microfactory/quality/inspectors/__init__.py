"""The inspector port: one image of one unit in, a verdict with located findings out.

Every inspector, from a person at a station to a learned variation model, answers `inspect(image,
context)` with an `Inspection`: the verdict, the findings (each with a score and the region of the
image it concerns) and the inspector's version, so a recorded verdict can always be traced to what
judged it. Images are numpy arrays (height x width, or height x width x channels), colour images in
RGB order, uint8: read files and uploads with `images.read_image` / `images.decode_image`, which
turn OpenCV's BGR into RGB once. A product's catalog entry names its inspectors by kind
(`kinds.INSPECTORS`); `kinds.build_inspector(check_settings)` builds one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from numpy.typing import NDArray

Image = NDArray[Any]


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    REVIEW = "review"  # the inspector cannot tell: a person must look


@dataclass(frozen=True, slots=True)
class Region:
    """A rectangle of the image in pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


@dataclass(frozen=True, slots=True)
class Finding:
    """Something the inspector saw: how sure it is (0..1, higher is worse) and where."""

    label: str
    score: float
    region: Region | None = None


@dataclass(frozen=True, slots=True)
class InspectionContext:
    """What the unit should be: its serial, product and options (colour, engraving text).

    `colours` maps an option name to the colour its ordered value stands for ("#rrggbb"), from the
    catalog's materials (`quality.expected.expected_colours`); the colour inspector reads it.
    """

    serial: str
    sku: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    station: str | None = None
    colours: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Inspection:
    verdict: Verdict
    findings: tuple[Finding, ...]
    inspector: str  # the kind
    version: str  # which model or procedure judged, for the unit's trace

    @property
    def score(self) -> float:
        """The worst finding's score (0 when nothing was found)."""
        return max((finding.score for finding in self.findings), default=0.0)


class Inspector(Protocol):
    def inspect(self, image: Image, context: InspectionContext) -> Inspection: ...
