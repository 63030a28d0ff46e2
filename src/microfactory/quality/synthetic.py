"""Synthetic images of a keypad-like part, good and with defects, for tests, benchmarks and demos.

No camera is needed to show that an inspector works: a part is rendered as a station would see it,
from above on a dark grey backdrop, with an ArUco calibration marker of known size on a white card
(whose white margin is also the colour reference patch), a plate of the ordered colour with key
outlines, and a silver name plate with the engraved text. Good parts vary the way real ones do
(shifted, rotated, relit, with a slight colour cast and sensor noise); defective parts add one
flaw each: a scratch, a blob, a chipped edge, the wrong colour, wrong or missing text, the wrong
size. Everything is drawn with OpenCV from a seed, so the same seed gives the same pixels.

Images are RGB, uint8, height x width x 3 (the port's convention). The canonical layout is drawn
at 1024 x 768 (4 px per mm); other sizes scale it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from microfactory.quality.inspectors import Image, Region

BASE_WIDTH = 1024
PX_PER_MM = 4.0  # at the base width
MARKER_MM = 30.0
MARKER_ID = 7
BACKDROP = (72, 82, 96)
CARD = (230, 230, 230)  # the marker's white card: the reference patch (`colour.DEFAULT_PATCH`)
NAMEPLATE = (196, 198, 204)
ENGRAVED = (48, 48, 54)
PLATE_CENTRE = (600.0, 420.0)  # at the base size, in pixels

GOOD = "good"
DEFECTS = ("scratch", "blob", "chip", "wrong_colour", "wrong_text", "no_text", "wrong_size")
KINDS = (GOOD, *DEFECTS)
COLOURS = {"black": "#1d1d1f", "red": "#c8102e", "teal": "#00827f", "white": "#f4f4f2"}


@dataclass(frozen=True, slots=True)
class PartSpec:
    """What the part is (or was ordered as): its colour, its engraving and its size."""

    colour: str = COLOURS["teal"]  # "#rrggbb"
    text: str = "MICRO 42"
    width_mm: float = 150.0
    height_mm: float = 90.0


@dataclass(frozen=True, slots=True)
class Pose:
    """Where the part lies: a shift in pixels and a rotation in degrees about the image centre."""

    dx: float = 0.0
    dy: float = 0.0
    angle: float = 0.0


@dataclass(frozen=True, slots=True)
class Lighting:
    """A global gain and offset, a per-channel colour cast and sensor noise (sigma, grey levels)."""

    gain: float = 1.0
    offset: float = 0.0
    cast: tuple[float, float, float] = (1.0, 1.0, 1.0)
    noise: float = 2.0


@dataclass(frozen=True, slots=True)
class Sample:
    """One rendered image, the flaw it has (None for a good part), and what was ordered."""

    image: Image
    kind: str
    ordered: PartSpec
    rendered: PartSpec
    region: Region | None = None  # where the flaw is, roughly (shape flaws only)
    seed: int = 0
    pose: Pose = field(default_factory=Pose)


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """'#00827f' -> (0, 130, 127)."""
    value = colour.strip().lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def render(
    spec: PartSpec,
    pose: Pose = Pose(),
    lighting: Lighting = Lighting(),
    flaws: Sequence[tuple[str, int]] = (),
    size: tuple[int, int] = (1024, 768),
    seed: int = 0,
) -> tuple[Image, Region | None]:
    """The part drawn as the station sees it; the box of the last shape flaw (scratch, blob, chip)."""
    scale = size[0] / BASE_WIDTH
    scene = _backdrop(size)
    _marker_card(scene, scale)
    plate = _plate_corners(spec, scale)
    colour = hex_rgb(spec.colour)
    cv2.fillPoly(scene, [plate], colour, cv2.LINE_AA)
    _keys(scene, colour, scale)
    _nameplate(scene, spec.text, scale)
    box = None
    for flaw, flaw_seed in flaws:
        box = _flaw(scene, flaw, np.random.default_rng(flaw_seed), plate, colour, scale)
    moved, matrix = _place(scene, pose, size)
    if box is not None:
        box = _moved_box(box, matrix, size)
    return _light(moved, lighting, np.random.default_rng(seed)), box


def sample(
    kind: str, seed: int, ordered: PartSpec = PartSpec(), size: tuple[int, int] = (1024, 768)
) -> Sample:
    """One good or flawed part, its pose and lighting drawn at random from `seed`."""
    if kind not in KINDS:
        raise ValueError(f"unknown sample kind {kind!r}; one of {', '.join(KINDS)}")
    rng = np.random.default_rng(seed)
    pose = random_pose(rng, size[0] / BASE_WIDTH)
    lighting = random_lighting(rng)
    rendered, flaws = _rendered(kind, ordered, rng)
    image, region = render(rendered, pose, lighting, flaws, size, seed)
    return Sample(image, kind, ordered, rendered, region, seed, pose)


def samples(
    count: int,
    seed: int = 0,
    kinds: Sequence[str] = KINDS,
    ordered: PartSpec = PartSpec(),
    size: tuple[int, int] = (1024, 768),
) -> Iterator[Sample]:
    """`count` samples cycling through `kinds`, each with its own seed derived from `seed`."""
    for index in range(count):
        yield sample(kinds[index % len(kinds)], seed * 100_003 + index, ordered, size)


def random_pose(rng: np.random.Generator, scale: float = 1.0) -> Pose:
    """A part put down by hand in the fixture: up to 24 px (at 1024 wide) off and 3 degrees turned."""
    return Pose(
        float(rng.uniform(-24, 24) * scale), float(rng.uniform(-24, 24) * scale), float(rng.uniform(-3, 3))
    )


def random_lighting(rng: np.random.Generator) -> Lighting:
    """Lamps that age and daylight through a window: gain, offset and a slight colour cast."""
    cast = rng.uniform(0.96, 1.04, size=3)
    return Lighting(
        float(rng.uniform(0.75, 0.98)), float(rng.uniform(-10, 4)), (cast[0], cast[1], cast[2]), 2.0
    )


def _rendered(
    kind: str, ordered: PartSpec, rng: np.random.Generator
) -> tuple[PartSpec, list[tuple[str, int]]]:
    """What is drawn for a sample of `kind`: the ordered part changed by the flaw."""
    flaw_seed = int(rng.integers(0, 2**31))
    if kind == "wrong_colour":
        others = [c for c in COLOURS.values() if c.casefold() != ordered.colour.casefold()]
        return replace(ordered, colour=others[int(rng.integers(len(others)))]), []
    if kind == "wrong_text":
        return replace(ordered, text=_misspelt(ordered.text, rng)), []
    if kind == "no_text":
        return replace(ordered, text=""), []
    if kind == "wrong_size":
        delta = float(rng.choice([-1, 1]) * rng.uniform(4, 8))
        return replace(ordered, width_mm=ordered.width_mm + delta), []
    if kind in ("scratch", "blob", "chip"):
        return ordered, [(kind, flaw_seed)]
    return ordered, []


def _misspelt(text: str, rng: np.random.Generator) -> str:
    """The text with one letter or digit replaced by another (never only a case or space change)."""
    positions = [i for i, char in enumerate(text) if char.isalnum()]
    if not positions:
        return "WRONG"
    at = positions[int(rng.integers(len(positions)))]
    pool = "ABCDEFGHJKLMNPRSTUVWXYZ" if text[at].isalpha() else "23456789"
    choices = [c for c in pool if c.casefold() != text[at].casefold()]
    return text[:at] + choices[int(rng.integers(len(choices)))] + text[at + 1 :]


def _backdrop(size: tuple[int, int]) -> Image:
    width, height = size
    ramp = np.linspace(-6, 6, height, dtype=np.float32)[:, None, None]
    scene = np.empty((height, width, 3), dtype=np.float32)
    scene[:] = np.asarray(BACKDROP, dtype=np.float32)
    backdrop: Image = np.clip(scene + ramp, 0, 255).astype(np.uint8)
    return backdrop


def _marker_card(scene: Image, scale: float) -> None:
    """The white card with the ArUco marker (30 mm, a 5 mm white margin all round)."""
    side = round(MARKER_MM * PX_PER_MM * scale)
    margin = round(5 * PX_PER_MM * scale)
    left = top = round(60 * scale)
    scene[top : top + side + 2 * margin, left : left + side + 2 * margin] = CARD
    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    marker = cv2.aruco.generateImageMarker(dictionary, MARKER_ID, side)
    ink = np.where(marker[:, :, None] > 127, np.asarray(CARD), np.asarray((24, 24, 24)))
    scene[top + margin : top + margin + side, left + margin : left + margin + side] = ink


def _plate_corners(spec: PartSpec, scale: float) -> Image:
    width = spec.width_mm * PX_PER_MM * scale
    height = spec.height_mm * PX_PER_MM * scale
    cx, cy = PLATE_CENTRE[0] * scale, PLATE_CENTRE[1] * scale
    left, top = round(cx - width / 2), round(cy - height / 2)
    right, bottom = left + round(width) - 1, top + round(height) - 1  # filled inclusive: width px
    return np.array([[left, top], [right, top], [right, bottom], [left, bottom]], dtype=np.int32)


def _keys(scene: Image, colour: tuple[int, int, int], scale: float) -> None:
    """Eight key outlines in two rows on the upper part of the plate."""
    side = round(64 * scale)
    thickness = max(1, round(2 * scale))
    for row in range(2):
        for column in range(4):
            x = round((380 + column * 120) * scale)
            y = round((270 + row * 90) * scale)
            cv2.rectangle(scene, (x, y), (x + side, y + side), _shade(colour, 0.7), thickness, cv2.LINE_AA)


def _nameplate(scene: Image, text: str, scale: float) -> None:
    """The silver plate on the lower part, with the text engraved dark and centred."""
    left, top, right, bottom = (round(v * scale) for v in (380, 484, 820, 564))
    cv2.rectangle(scene, (left, top), (right, bottom), NAMEPLATE, -1, cv2.LINE_AA)
    if not text:
        return
    font, font_scale, thickness = cv2.FONT_HERSHEY_DUPLEX, 1.5 * scale, max(1, round(3 * scale))
    (width, height), _ = cv2.getTextSize(text, font, font_scale, thickness)
    origin = ((left + right - width) // 2, (top + bottom + height) // 2)
    cv2.putText(scene, text, origin, font, font_scale, ENGRAVED, thickness, cv2.LINE_AA)


def _flaw(
    scene: Image,
    kind: str,
    rng: np.random.Generator,
    plate: Image,
    colour: tuple[int, int, int],
    scale: float,
) -> Region:
    """Draw one shape flaw on the plate; its bounding box."""
    x0, y0 = plate.min(axis=0)
    x1, y1 = plate.max(axis=0)
    if kind == "chip":
        return _chip(scene, rng, (int(x0), int(y0), int(x1), int(y1)), scale)
    cx = int(rng.uniform(x0 + 40 * scale, x1 - 40 * scale))
    cy = int(rng.uniform(y0 + 30 * scale, y1 - 30 * scale))
    contrast = _contrasting(colour)
    if kind == "scratch":
        length, angle = rng.uniform(50, 140) * scale, rng.uniform(0, np.pi)
        dx, dy = int(length / 2 * np.cos(angle)), int(length / 2 * np.sin(angle))
        start, end = (cx - dx, cy - dy), (cx + dx, cy + dy)
        cv2.line(scene, start, end, contrast, max(2, round(3 * scale)), cv2.LINE_AA)
        return _box_of(np.array([start, end]), pad=3)
    axes = (int(rng.uniform(7, 18) * scale), int(rng.uniform(7, 18) * scale))
    cv2.ellipse(scene, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, contrast, -1, cv2.LINE_AA)
    return Region(cx - axes[0], cy - axes[1], 2 * axes[0], 2 * axes[1])


def _chip(scene: Image, rng: np.random.Generator, box: tuple[int, int, int, int], scale: float) -> Region:
    """A bite out of the plate's top or bottom edge, showing the backdrop through it."""
    x0, y0, x1, y1 = box
    depth, half = rng.uniform(14, 30) * scale, rng.uniform(14, 30) * scale
    x = rng.uniform(x0 + 60 * scale, x1 - 60 * scale)
    edge, inward = (y0, 1) if rng.random() < 0.5 else (y1, -1)
    points = np.array(
        [(x - half, edge - inward * 4), (x + half, edge - inward * 4), (x, edge + inward * depth)]
    ).astype(np.int32)
    cv2.fillPoly(scene, [points], BACKDROP, cv2.LINE_AA)
    return _box_of(points, pad=2)


def _contrasting(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """A mark that shows: a light scuff on a dark plate, a dark stain on a light one."""
    if sum(colour) / 3 > 110:
        return _shade(colour, 0.45)
    return tuple(int(c + (255 - c) * 0.5) for c in colour)  # type: ignore[return-value]


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return (int(colour[0] * factor), int(colour[1] * factor), int(colour[2] * factor))


def _box_of(points: Image, pad: int) -> Region:
    x, y, w, h = cv2.boundingRect(points.astype(np.int32))
    return Region(x - pad, y - pad, w + 2 * pad, h + 2 * pad)


def _place(scene: Image, pose: Pose, size: tuple[int, int]) -> tuple[Image, Image]:
    centre = (size[0] / 2, size[1] / 2)
    matrix = cv2.getRotationMatrix2D(centre, pose.angle, 1.0)
    matrix[:, 2] += np.array([pose.dx, pose.dy])
    moved = cv2.warpAffine(scene, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return moved, matrix


def _moved_box(box: Region, matrix: Image, size: tuple[int, int]) -> Region:
    corners = np.array(
        [[box.x, box.y], [box.x + box.w, box.y], [box.x, box.y + box.h], [box.x + box.w, box.y + box.h]],
        dtype=np.float32,
    )
    moved = cv2.transform(corners[None], matrix)[0]
    x0, y0 = np.clip(moved.min(axis=0), 0, None)
    x1, y1 = np.minimum(moved.max(axis=0), size)
    return Region(int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def _light(scene: Image, lighting: Lighting, rng: np.random.Generator) -> Image:
    """Camera blur, lighting and noise, then back to 8 bits."""
    blurred = cv2.GaussianBlur(scene, (3, 3), 0.8).astype(np.float32)
    gains = np.asarray(lighting.cast, dtype=np.float32) * lighting.gain
    lit = blurred * gains + lighting.offset
    if lighting.noise > 0:
        lit += rng.normal(0.0, lighting.noise, size=lit.shape).astype(np.float32)
    return np.clip(lit, 0, 255).astype(np.uint8)


def train_models(
    model_dir: Path,
    colours: Mapping[str, str],
    size: tuple[int, int] = (512, 384),
    count: int = 10,
    seed: int = 0,
    name: str = "kp-{color}.npz",
) -> dict[str, Path]:
    """A variation model per colour, learned from `count` rendered good parts without engraving.

    A fresh clone has no photos of good units: the demo and the tests train the example catalog's
    models (`model: kp-{color}.npz`) this way into `MICROFACTORY_QUALITY_MODEL_DIR`. An existing
    file is kept (delete it to train again).
    """
    from microfactory.quality.inspectors import variation

    made: dict[str, Path] = {}
    for number, (option, colour) in enumerate(sorted(colours.items())):
        path = model_dir / name.format(color=option)
        if not path.exists():
            spec = PartSpec(colour=colour, text="")
            good = samples(count, seed * 1_000 + number, [GOOD], spec, size)
            variation.train(s.image for s in good).save(path)
        made[option] = path
    return made
