"""Rigid alignment of an image to a reference, fast enough to run on every unit.

A part is never put down twice in the same place: before pixels are compared, the image is turned
and shifted onto the reference (a Euclidean motion: shift and rotation, no scale, since the camera
does not move). The motion is found on a small copy (the long side `ALIGN_WIDTH` pixels), first the
shift by phase correlation (robust to large shifts), then ECC (enhanced correlation coefficient,
Evangelidis & Psarakis 2008) refines shift and rotation to a fraction of a small pixel. ECC is
invariant to gain and offset of the lighting, and the images are z-normalised beforehand too.
The motion found on the small copy is scaled up to the full image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from microfactory.quality.inspectors import Image

ALIGN_WIDTH = 256
# OpenCV's stubs only type the no-mask call without the blur size; we blur ourselves (size 1: none).
_ECC: Any = cv2.findTransformECC
ECC_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-4)  # measured: enough, and fast


@dataclass(frozen=True, slots=True)
class Motion:
    """A 2x3 matrix mapping reference coordinates to image coordinates, and how well it fits (-1..1)."""

    matrix: Image
    correlation: float


def small(grey: Image, width: int = ALIGN_WIDTH) -> Image:
    """The z-normalised, slightly blurred small copy alignment works on (float32)."""
    height = max(1, round(grey.shape[0] * width / grey.shape[1]))
    reduced = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    blurred = cv2.GaussianBlur(reduced, (5, 5), 1.0)
    mean, std = cv2.meanStdDev(blurred)
    normalised: Image = (blurred - float(mean[0, 0])) / max(float(std[0, 0]), 1e-3)
    return normalised


def align(reference: Image, image: Image) -> Motion | None:
    """The motion that lays `image` (small copy) onto `reference` (small copy), or None if ECC fails."""
    (dx, dy), _ = cv2.phaseCorrelate(reference, image)
    warp = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]], dtype=np.float32)
    try:
        correlation, warp = _ECC(reference, image, warp, cv2.MOTION_EUCLIDEAN, ECC_CRITERIA, None, 1)
    except cv2.error:
        return None
    return Motion(warp, float(correlation))


def scaled(motion: Motion, factor: float) -> Image:
    """The motion's matrix for images `factor` times larger (the shift grows, the rotation stays)."""
    matrix = motion.matrix.astype(np.float64).copy()
    matrix[:, 2] *= factor
    return matrix


def warp_onto(image: Image, matrix: Image, size: tuple[int, int]) -> Image:
    """`image` resampled in reference coordinates (`matrix` maps reference to image coordinates)."""
    return cv2.warpAffine(
        image, matrix, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )


def boxes_in_image(
    boxes: list[tuple[int, int, int, int]], matrix: Image, size: tuple[int, int]
) -> list[tuple[int, int, int, int]]:
    """Boxes found in reference coordinates, as the bounding boxes they cover in the image."""
    found = []
    for x, y, w, h in boxes:
        corners = np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]], dtype=np.float64)
        moved = cv2.transform(corners[None], matrix)[0]
        x0, y0 = np.clip(np.floor(moved.min(axis=0)), 0, None)
        x1 = min(float(np.ceil(moved[:, 0].max())), size[0])
        y1 = min(float(np.ceil(moved[:, 1].max())), size[1])
        found.append((int(x0), int(y0), int(max(1, x1 - x0)), int(max(1, y1 - y0))))
    return found
