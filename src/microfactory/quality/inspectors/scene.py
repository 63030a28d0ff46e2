"""What an inspection station's image holds: the calibration marker, its white card, and the part.

The station's convention (docs/quality.md): the camera looks straight down on a plain backdrop
that fills the image's border; an ArUco marker (dictionary 4x4_50, any id) of known size lies
beside the part, printed on a white card with a white margin of at least a quarter of the
marker's side all round. The marker gives the scale (mm per pixel) and its card's margin is the
white reference patch for white balance. The part is the largest region that differs from the
backdrop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from microfactory.quality.inspectors import Image
from microfactory.quality.inspectors.images import grey

BACKDROP_DISTANCE = 12.0  # CIE76 distance from the backdrop's colour that makes a pixel foreground
_DETECTOR: cv2.aruco.ArucoDetector | None = None


@dataclass(frozen=True, slots=True)
class Marker:
    corners: Image  # 4 x 2 float32, clockwise from the marker's top-left
    side_px: float  # mean length of its four sides

    def scaled(self, factor: float) -> Marker:
        """The same marker in a copy of the image `factor` times the size."""
        return Marker((self.corners * factor).astype(np.float32), self.side_px * factor)


@dataclass(frozen=True, slots=True)
class Part:
    mask: Image  # uint8, 255 on the part
    contour: Image
    rect: tuple[tuple[float, float], tuple[float, float], float]  # cv2.minAreaRect: centre, size, angle
    area: float  # pixels

    def sides(self) -> tuple[float, float]:
        """Long and short side in pixels: the rectangle's proportions scaled to the part's area.

        The minimum-area rectangle hugs the outermost pixels of a turned edge's staircase and comes
        out a pixel or two long; the area counts every pixel and averages the staircase out.
        """
        long, short = sorted(self.rect[1], reverse=True)
        if short <= 0:
            return long, short
        ratio = long / short
        return float(np.sqrt(self.area * ratio)), float(np.sqrt(self.area / ratio))


def reduced(image: Image, width: int) -> Image:
    """The image at most `width` pixels wide (area-averaged), for checks that need no fine detail."""
    if image.shape[1] <= width:
        return image
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _detector() -> cv2.aruco.ArucoDetector:
    global _DETECTOR
    if _DETECTOR is None:
        parameters = cv2.aruco.DetectorParameters()
        parameters.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
        dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
        _DETECTOR = cv2.aruco.ArucoDetector(dictionary, parameters)
    return _DETECTOR


def find_marker(image: Image) -> Marker | None:
    """The first ArUco 4x4_50 marker in the image, with subpixel corners, or None."""
    corners, ids, _ = _detector().detectMarkers(grey(image))
    if ids is None or len(corners) == 0:
        return None
    quad = np.asarray(corners[0], dtype=np.float32).reshape(4, 2)
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)
    return Marker(quad, float(sides.mean()))


def white_patch(image: Image, marker: Marker) -> tuple[float, float, float] | None:
    """The median RGB of the marker card's white margin: a ring from 1.1 to 1.4 half-sides out."""
    centre = marker.corners.mean(axis=0)
    outer = ((marker.corners - centre) * 1.4 + centre).astype(np.int32)
    inner = ((marker.corners - centre) * 1.1 + centre).astype(np.int32)
    ring = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(ring, outer, 255)
    cv2.fillConvexPoly(ring, inner, 0)
    pixels = image[ring > 0]
    if len(pixels) < 20:
        return None
    median = np.median(pixels.reshape(-1, 3), axis=0)
    return float(median[0]), float(median[1]), float(median[2])


def find_part(image: Image, ignore: Marker | None = None) -> Part | None:
    """The largest region that differs from the backdrop (the image's border colour), or None."""
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2Lab).astype(np.float32)  # 8-bit Lab: L scaled to 0..255
    lab[:, :, 0] *= 100.0 / 255.0
    border = np.concatenate([lab[:4].reshape(-1, 3), lab[-4:].reshape(-1, 3), lab[:, :4].reshape(-1, 3)])
    offset = lab - np.median(border, axis=0).astype(np.float32)
    distance = np.sqrt(cv2.multiply(offset, offset).sum(axis=2))
    mask = (distance > BACKDROP_DISTANCE).astype(np.uint8) * 255
    if ignore is not None:  # the marker's card is never the part
        centre = ignore.corners.mean(axis=0)
        cv2.fillConvexPoly(mask, ((ignore.corners - centre) * 1.6 + centre).astype(np.int32), 0)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    if cv2.contourArea(contour) < 0.01 * mask.size:
        return None
    contour = _half_contrast_edge(image, contour)
    part = np.zeros_like(mask)
    cv2.drawContours(part, [contour], -1, 255, cv2.FILLED)
    (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
    rect = ((float(cx), float(cy)), (float(w), float(h)), float(angle))
    return Part(part, contour, rect, float(cv2.countNonZero(part)))


def _half_contrast_edge(image: Image, contour: Image) -> Image:
    """The part's outline where a pixel is half part, half backdrop.

    A blurred edge spreads over a few pixels, and the low detection threshold would place it on
    the outer halo. In RGB a pixel on the edge is a linear mix of the part's and the backdrop's
    colour, so its projection on the line between the two is the fraction of it the part covers;
    the outline is drawn at one half.
    """
    coarse = np.zeros(image.shape[:2], np.uint8)
    cv2.drawContours(coarse, [contour], -1, 255, cv2.FILLED)
    inner = cv2.erode(coarse, np.ones((9, 9), np.uint8))
    near = cv2.dilate(coarse, np.ones((9, 9), np.uint8))
    outside = (near > 0) & (cv2.dilate(near, np.ones((9, 9), np.uint8)) > 0) & (coarse == 0)
    if not inner.any() or not outside.any():
        return contour
    pixels = image.astype(np.float32)
    backdrop = np.median(pixels[outside], axis=0)
    direction = np.median(pixels[inner > 0], axis=0) - backdrop
    length = float(direction @ direction)
    if length < 1.0:
        return contour
    covered = ((pixels - backdrop) @ (direction / length)).astype(np.float32)
    refined = ((covered > 0.5) & (near > 0)).astype(np.uint8) * 255
    refined = cv2.morphologyEx(refined, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(refined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return max(contours, key=cv2.contourArea) if contours else contour


def upright(image: Image, part: Part) -> Image:
    """The part's bounding rectangle cut out and turned level, its long side horizontal."""
    (cx, cy), (w, h), angle = part.rect
    if w < h:  # the long side runs a quarter turn from the rectangle's first side
        w, h, angle = h, w, angle + 90.0
    angle = (angle + 90.0) % 180.0 - 90.0  # the smaller turn: parts lie less than 90 degrees off
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    matrix[:, 2] += np.array([w / 2 - cx, h / 2 - cy])
    return cv2.warpAffine(image, matrix, (round(w), round(h)), flags=cv2.INTER_CUBIC)
