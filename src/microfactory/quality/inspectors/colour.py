"""The colour inspector: is the part the colour of the material the customer ordered?

The part's colour is the median of its pixels (the part found against the backdrop, `scene`),
white-balanced when the image has a reference patch: the white margin of the calibration marker's
card, whose true colour is the setting `patch` (default `#e6e6e6`, a matte white card exposed
without clipping). Each channel is scaled so the patch reads as its true colour, which removes a
lamp's gain and colour cast. Without a marker the colour is judged as the camera saw it, and the
finding says so.

The expected colour is the ordered option's value (`option`, default `color`) turned into a colour:
the unit's context gives it (`InspectionContext.colours`, filled from the catalog's materials by
`quality.expected_colours`), else the check's `colours: {value: "#rrggbb"}`, else the value itself
when it is a hex colour or a CSS colour name. The difference is CIEDE2000 (scikit-image); above
`threshold` (default 8, plainly visible) the unit fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.colors import CSS4_COLORS
from skimage.color import deltaE_ciede2000, rgb2lab

from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.quality.inspectors import Finding, Image, Inspection, InspectionContext, Verdict
from microfactory.quality.inspectors import scene as station
from microfactory.quality.inspectors.images import rgb

KIND = "colour"
VERSION = "colour-1"
DEFAULT_PATCH = "#e6e6e6"
DEFAULT_THRESHOLD = 8.0
WORK_WIDTH = 512  # a median colour needs no more pixels than this; it keeps the check fast


def parse_colour(value: str) -> tuple[int, int, int] | None:
    """'#00827f', '00827f' or a CSS colour name ('teal') as RGB, or None."""
    name = value.strip().casefold()
    text = str(CSS4_COLORS.get(name, name)).lstrip("#")
    if len(text) != 6:
        return None
    try:
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    except ValueError:
        return None


def delta_e(first: tuple[float, float, float], second: tuple[float, float, float]) -> float:
    """CIEDE2000 between two RGB colours (0..255 sRGB)."""
    pair = np.asarray([[first, second]], dtype=np.float64) / 255.0
    lab = rgb2lab(pair)
    return float(deltaE_ciede2000(lab[0, 0], lab[0, 1]))  # type: ignore[no-untyped-call]


class ColourInspector:
    def __init__(
        self,
        option: str = "color",
        threshold: float = DEFAULT_THRESHOLD,
        colours: Mapping[str, str] | None = None,
        patch: str = DEFAULT_PATCH,
    ) -> None:
        patch_rgb = parse_colour(patch)
        if patch_rgb is None:
            raise Invalid("the colour check is wrong", [Problem("patch", f"{patch!r} is not a colour")])
        self._option, self._threshold, self._patch = option, threshold, patch_rgb
        self._colours = {str(k).casefold(): str(v) for k, v in (colours or {}).items()}

    def expected(self, context: InspectionContext) -> tuple[str, tuple[int, int, int]] | None:
        """The ordered value and its colour, or None when the unit's options do not name one."""
        value = context.options.get(self._option)
        if not value:
            return None
        given = context.colours.get(self._option) or self._colours.get(str(value).casefold()) or str(value)
        colour = parse_colour(given)
        return None if colour is None else (str(value), colour)

    def inspect(self, image: Image, context: InspectionContext) -> Inspection:
        expected = self.expected(context)
        if expected is None:
            why = f"no colour known for option {self._option}={context.options.get(self._option)!r}"
            return Inspection(Verdict.REVIEW, (Finding(why, 0.5),), KIND, VERSION)
        full = rgb(image)
        picture = station.reduced(full, WORK_WIDTH)
        found = station.find_marker(full)  # at full size: a small marker is lost when reduced
        marker = None if found is None else found.scaled(picture.shape[1] / full.shape[1])
        part = station.find_part(picture, ignore=marker)
        if part is None:
            return Inspection(
                Verdict.REVIEW, (Finding("no part found against the backdrop", 0.5),), KIND, VERSION
            )
        seen = np.median(picture[part.mask > 0].reshape(-1, 3), axis=0)
        balanced, note = self._balanced(picture, marker, seen)
        difference = delta_e(balanced, expected[1])
        score = round(difference / (difference + self._threshold), 4)
        measured = "#{:02x}{:02x}{:02x}".format(*(round(c) for c in balanced))
        label = f"colour: ΔE2000 {difference:.1f} from {expected[0]} ({measured} seen{note})"
        verdict = Verdict.FAIL if difference > self._threshold else Verdict.PASS
        findings = (Finding(label, score),) if verdict is Verdict.FAIL else ()
        return Inspection(verdict, findings, KIND, VERSION)

    def _balanced(
        self, picture: Image, marker: station.Marker | None, seen: Image
    ) -> tuple[tuple[float, float, float], str]:
        patch = None if marker is None else station.white_patch(picture, marker)
        if patch is None:
            return (float(seen[0]), float(seen[1]), float(seen[2])), ", not white-balanced: no marker"
        gains = np.asarray(self._patch, dtype=np.float64) / np.maximum(np.asarray(patch), 1.0)
        balanced = np.clip(seen * gains, 0, 255)
        return (float(balanced[0]), float(balanced[1]), float(balanced[2])), ""


def from_settings(settings: Mapping[str, Any]) -> ColourInspector:
    """A catalog check's settings: `option`, `max_delta_e` (ΔE2000), `colours` (value -> hex), `patch`.

    In a catalog `threshold` is the acceptance criteria's (a score); the tolerance in ΔE2000 is
    `max_delta_e`. Given directly (`build_inspector`, the bench), `threshold` still means ΔE2000.
    """
    colours = settings.get("colours")
    return ColourInspector(
        str(settings.get("option", "color")),
        float(settings.get("max_delta_e", settings.get("threshold", DEFAULT_THRESHOLD))),
        colours if isinstance(colours, Mapping) else None,
        str(settings.get("patch", DEFAULT_PATCH)),
    )
