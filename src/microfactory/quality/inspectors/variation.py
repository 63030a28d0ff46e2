"""The variation model: the classic golden template, learned from images of good units.

Training aligns every good image to the first one (`alignment`), normalises its grey levels
(z-scores: global lighting gain and offset drop out) and keeps, per pixel, the mean and the spread
(standard deviation) over the set. Judging aligns and normalises the new image the same way; a
pixel is out of its band when it leaves [mean - k*spread, mean + k*spread], the band widened by the
3x3 neighbourhood (a pixel of residual misalignment on an edge is not a defect) and never narrower
than `floor` (sensor noise the training set did not show). Out-of-band pixels are joined into
connected regions; a region of at least `min_area` pixels is a defect, with its area and its
contrast (mean distance from the mean image, in grey levels of the reference).

The model is one `.npz` file: the mean, spread and small alignment reference, and a JSON metadata
entry with the format, the training size and a version hash of the arrays (the `version` a recorded
verdict cites). One model holds one view of one configuration: train one per colour and name it
with a placeholder (`model: models/kp-{color}.npz`), filled from the unit's options.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.quality.inspectors import (
    Finding,
    Image,
    Inspection,
    InspectionContext,
    Region,
    Verdict,
)
from microfactory.quality.inspectors import alignment as align
from microfactory.quality.inspectors.images import grey

KIND = "variation"
FORMAT = "microfactory.variation"
FORMAT_VERSION = 1
MIN_CORRELATION = 0.5  # below this the image does not look like the part at all: a person looks


@dataclass(frozen=True)
class VariationModel:
    """Mean and spread of good units in z-scored grey levels, and the small reference for alignment."""

    mean: Image  # float32, height x width
    spread: Image  # float32, height x width
    reference: Image  # float32, the small copy every image is aligned to
    scale: float  # full size / small size
    grey_std: float  # the reference's grey-level standard deviation: z-scores back to grey levels
    images: int
    trained_at: str

    @property
    def size(self) -> tuple[int, int]:
        return int(self.mean.shape[1]), int(self.mean.shape[0])

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        for array in (self.mean, self.spread, self.reference):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(f"{self.scale}|{self.grey_std}|{self.images}".encode())
        return f"variation-{digest.hexdigest()[:12]}"

    def save(self, path: Path) -> None:
        """Write the model as one `.npz` file (the exact path given; no suffix is added)."""
        metadata = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "version": self.version,
            "width": self.size[0],
            "height": self.size[1],
            "scale": self.scale,
            "grey_std": self.grey_std,
            "images": self.images,
            "trained_at": self.trained_at,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as file:
            np.savez_compressed(
                file,
                mean=self.mean,
                spread=self.spread,
                reference=self.reference,
                metadata=np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8),
            )

    @classmethod
    def load(cls, path: Path) -> VariationModel:
        """Read a model file; `Invalid` naming the file when it is missing, not a model, or damaged."""
        try:
            data = path.read_bytes()
        except OSError as error:
            raise _bad(path, error.strerror or str(error)) from None
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                metadata = json.loads(bytes(arrays["metadata"]).decode())
                model = cls(
                    arrays["mean"].astype(np.float32),
                    arrays["spread"].astype(np.float32),
                    arrays["reference"].astype(np.float32),
                    float(metadata["scale"]),
                    float(metadata["grey_std"]),
                    int(metadata["images"]),
                    str(metadata.get("trained_at", "")),
                )
        except (ValueError, KeyError, TypeError, OSError, EOFError) as error:
            raise _bad(path, f"not a variation model file ({type(error).__name__})") from None
        if metadata.get("format") != FORMAT or metadata.get("format_version") != FORMAT_VERSION:
            raise _bad(path, f"not a {FORMAT} model of format version {FORMAT_VERSION}")
        if metadata.get("version") != model.version:
            raise _bad(path, "the model's arrays do not match its version hash (a damaged file)")
        return model


def _bad(path: Path, why: str) -> Invalid:
    return Invalid("the variation model cannot be used", [Problem(str(path), why)])


def train(images: Iterable[Image], progress: Callable[[], None] | None = None) -> VariationModel:
    """Learn mean and spread from good units' images (at least 2; 20 or more is better).

    The first image is the reference every other one is aligned to, so it should be a typical good
    unit. Welford's running mean and variance keep one image in memory at a time.
    """
    count, mean, m2 = 0, np.zeros(0, np.float32), np.zeros(0, np.float32)
    reference: Image | None = None
    scale, grey_std = 1.0, 1.0
    for image in images:
        plain = grey(image)
        if reference is None:
            reference = align.small(plain)
            scale = plain.shape[1] / reference.shape[1]
            grey_std = float(cv2.meanStdDev(plain)[1][0, 0])
            mean = np.zeros(plain.shape, np.float32)
            m2 = np.zeros(plain.shape, np.float32)
            aligned = plain
        else:
            aligned = _aligned(plain, reference, scale, mean.shape)
        z = _z(aligned)
        count += 1
        delta = z - mean
        mean += delta / count
        m2 += delta * (z - mean)
        if progress is not None:
            progress()
    if reference is None or count < 2:
        raise Invalid("too few images", [Problem("images", f"training needs at least 2 images, got {count}")])
    spread = np.sqrt(m2 / (count - 1)).astype(np.float32)
    trained_at = datetime.now(UTC).isoformat(timespec="seconds")
    return VariationModel(mean, spread, reference, scale, grey_std, count, trained_at)


def _aligned(plain: Image, reference: Image, scale: float, shape: tuple[int, ...]) -> Image:
    if plain.shape != shape:
        raise Invalid(
            "the images differ in size",
            [
                Problem(
                    "images",
                    f"an image is {plain.shape[1]}x{plain.shape[0]}, the first {shape[1]}x{shape[0]}",
                )
            ],
        )
    motion = align.align(reference, align.small(plain, reference.shape[1]))
    if motion is None:
        raise Invalid(
            "an image cannot be aligned", [Problem("images", "alignment to the first image failed")]
        )
    return align.warp_onto(plain, align.scaled(motion, scale), (shape[1], shape[0]))


def _z(image: Image) -> Image:
    """Grey levels as z-scores (float32) in one pass: global gain and offset of the lighting drop out."""
    mean, std = cv2.meanStdDev(image)
    scale = 1.0 / max(float(std[0, 0]), 1e-3)
    return cv2.addWeighted(image, scale, image, 0.0, -float(mean[0, 0]) * scale, dtype=cv2.CV_32F)


@dataclass(frozen=True)
class Judgement:
    """The bands of one model under one setting of k and floor, ready to compare images against."""

    model: VariationModel
    lower: Image
    upper: Image
    min_area: int
    border: int
    keep: Image | None = None  # uint8 mask of the pixels judged (255), None: all of them


def bands(
    model: VariationModel,
    k: float = 4.0,
    floor: float = 6.0,
    min_area: int = 30,
    ignore: Sequence[Sequence[float]] = (),
) -> Judgement:
    """Precompute the acceptance band once per model: k spreads, at least `floor` grey levels wide.

    `ignore` lists areas `[x, y, w, h]` (fractions of the model's image) left to other checks,
    such as a name plate whose engraved text differs from unit to unit.
    """
    width = np.maximum(model.spread * k, floor / model.grey_std).astype(np.float32)
    kernel = np.ones((3, 3), np.uint8)
    lower = cv2.erode(model.mean - width, kernel)
    upper = cv2.dilate(model.mean + width, kernel)
    border = max(2, round(model.scale * 2))
    return Judgement(model, lower, upper, min_area, border, _kept(model.size, ignore))


def _kept(size: tuple[int, int], ignore: Sequence[Sequence[float]]) -> Image | None:
    if not ignore:
        return None
    width, height = size
    mask = np.full((height, width), 255, np.uint8)
    for x, y, w, h in ignore:
        left, top = round(x * width), round(y * height)
        mask[top : top + round(h * height), left : left + round(w * width)] = 0
    return mask


def judge(judgement: Judgement, image: Image) -> Inspection:
    """Align the image to the model, compare it with the band, and report every defect region."""
    model = judgement.model
    plain = _sized(grey(image), model)
    motion = align.align(model.reference, align.small(plain, model.reference.shape[1]))
    if motion is None or motion.correlation < MIN_CORRELATION:
        why = "alignment failed" if motion is None else f"correlation {motion.correlation:.2f}"
        finding = Finding(f"unaligned: the image does not match the model ({why})", 0.5)
        return Inspection(Verdict.REVIEW, (finding,), KIND, model.version)
    matrix = align.scaled(motion, model.scale)
    z = _z(align.warp_onto(plain, matrix, model.size))
    outside = cv2.bitwise_or(
        cv2.compare(z, judgement.lower, cv2.CMP_LT), cv2.compare(z, judgement.upper, cv2.CMP_GT)
    )
    if judgement.keep is not None:
        outside = cv2.bitwise_and(outside, judgement.keep)
    edge = judgement.border
    outside[:edge, :], outside[-edge:, :], outside[:, :edge], outside[:, -edge:] = 0, 0, 0, 0
    few = cv2.countNonZero(outside) < judgement.min_area  # the usual good part: no region can be large
    findings = [] if few else _regions(outside, z, judgement, matrix)
    verdict = Verdict.FAIL if findings else Verdict.PASS
    return Inspection(verdict, tuple(findings), KIND, model.version)


def _sized(plain: Image, model: VariationModel) -> Image:
    width, height = model.size
    if plain.shape == (height, width):
        return plain
    if abs(plain.shape[1] / plain.shape[0] - width / height) > 0.01:
        raise Invalid(
            "the image does not fit the model",
            [
                Problem(
                    "image", f"{plain.shape[1]}x{plain.shape[0]}, the model was trained on {width}x{height}"
                )
            ],
        )
    return cv2.resize(plain, (width, height), interpolation=cv2.INTER_AREA)


def _regions(outside: Image, z: Image, judgement: Judgement, matrix: Image) -> list[Finding]:
    """Connected out-of-band regions of at least `min_area` pixels, largest first, in image pixels."""
    joined = cv2.morphologyEx(outside, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    keep = [label for label in range(1, count) if stats[label, cv2.CC_STAT_AREA] >= judgement.min_area]
    if not keep:
        return []
    contrast = _contrast(labels, z, judgement.model, count)
    boxes = [tuple(int(v) for v in stats[label, :4]) for label in keep]
    placed = align.boxes_in_image(boxes, matrix, judgement.model.size)  # type: ignore[arg-type]
    findings = []
    for label, (x, y, w, h) in zip(keep, placed, strict=True):
        area = int(stats[label, cv2.CC_STAT_AREA])
        score = area / (area + judgement.min_area)
        grey_levels = contrast[label] * judgement.model.grey_std
        text = f"defect: area {area} px, contrast {grey_levels:.0f} grey levels"
        findings.append(Finding(text, round(score, 4), Region(x, y, w, h)))
    return sorted(findings, key=lambda finding: -finding.score)


def _contrast(labels: Image, z: Image, model: VariationModel, count: int) -> Image:
    """Mean |z - mean| per label, over the labelled pixels only (few: cheap)."""
    where = labels > 0
    chosen = labels[where]
    distance = np.abs(z[where] - model.mean[where])
    total = np.bincount(chosen, weights=distance, minlength=count)
    pixels = np.maximum(np.bincount(chosen, minlength=count), 1)
    return total / pixels


class VariationInspector:
    """The inspector a catalog check `{inspector: variation, model: PATH}` builds.

    `model` may hold `{option}` placeholders filled from the unit's options (one model per colour);
    each model file is read once and kept.
    """

    def __init__(
        self,
        model: str,
        k: float = 4.0,
        floor: float = 6.0,
        min_area: int = 30,
        ignore: Sequence[Sequence[float]] = (),
    ) -> None:
        self._model, self._k, self._floor, self._min_area = model, k, floor, min_area
        self._ignore = ignore
        self._judgements: dict[str, Judgement] = {}

    def inspect(self, image: Image, context: InspectionContext) -> Inspection:
        return judge(self.judgement(context.options), image)

    def judgement(self, options: Mapping[str, str]) -> Judgement:
        """The bands of the model the unit's options name (read on first use)."""
        try:
            path = self._model.format_map(dict(options))
        except (KeyError, ValueError) as error:
            problem = Problem("model", f"{self._model!r} names an option the unit lacks: {error}")
            raise Invalid("the variation model cannot be chosen", [problem]) from None
        if path not in self._judgements:
            model = VariationModel.load(Path(path))
            self._judgements[path] = bands(model, self._k, self._floor, self._min_area, self._ignore)
        return self._judgements[path]


def from_settings(settings: Mapping[str, Any]) -> VariationInspector:
    """A catalog check's settings: `model` (path), `k`, `floor` (grey levels), `min_area` (pixels),
    `ignore` (areas `[[x, y, w, h], ...]` as fractions of the image, judged by other checks)."""
    return VariationInspector(
        str(settings["model"]),
        float(settings.get("k", 4.0)),
        float(settings.get("floor", 6.0)),
        int(settings.get("min_area", 30)),
        _areas(settings.get("ignore", ())),
    )


def _areas(raw: object) -> list[list[float]]:
    """`ignore` as a list of `[x, y, w, h]` fractions; `Invalid` naming the setting otherwise."""
    problem = Problem("ignore", f"{raw!r} is not a list of [x, y, w, h] fractions of the image")
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise Invalid("the variation check is wrong", [problem])
    areas = []
    for area in raw:
        if isinstance(area, str) or not isinstance(area, Sequence) or len(area) != 4:
            raise Invalid("the variation check is wrong", [problem])
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1 for v in area):
            raise Invalid("the variation check is wrong", [problem])
        areas.append([float(v) for v in area])
    return areas
