"""Reading, decoding and encoding the images inspectors judge, in the port's one convention.

Images are numpy arrays in RGB order (height x width x 3, uint8), or grey (height x width). OpenCV
reads BGR, so every file or upload enters through here and is turned to RGB once; a file that is
not an image is an `Invalid` naming it, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.quality.inspectors import Image


def decode_image(data: bytes, name: str = "image") -> Image:
    """The RGB image in `data` (PNG, JPEG, TIFF, BMP...); `Invalid` naming `name` when it is not one."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
    if image is None:
        raise Invalid("the image cannot be read", [Problem(name, "not an image OpenCV can decode")])
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_image(path: Path) -> Image:
    """The RGB image in the file at `path`; `Invalid` naming the file when it is missing or not an image."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise Invalid(
            "the image cannot be read", [Problem(str(path), error.strerror or str(error))]
        ) from None
    return decode_image(data, str(path))


def write_image(path: Path, image: Image) -> None:
    """Save an RGB (or grey) image; the format follows the suffix (.png recommended: lossless)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(path.suffix or ".png", _bgr(image))
    if not ok:
        raise Invalid("the image cannot be written", [Problem(str(path), "unknown image format")])
    path.write_bytes(encoded.tobytes())


def encode_png(image: Image) -> bytes:
    """The image as PNG bytes (lossless: what a hook receives is what we saw)."""
    ok, encoded = cv2.imencode(".png", _bgr(image))
    if not ok:  # pragma: no cover - PNG encodes any uint8 image
        raise Invalid("the image cannot be encoded", [Problem("image", "not an 8-bit image")])
    return bytes(encoded.tobytes())


def grey(image: Image) -> Image:
    """The image in grey levels (uint8)."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def rgb(image: Image) -> Image:
    """The image with three RGB channels (a grey image is repeated)."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2RGB)
    return image


def _bgr(image: Image) -> Image:
    return image if image.ndim == 2 else cv2.cvtColor(rgb(image), cv2.COLOR_RGB2BGR)
