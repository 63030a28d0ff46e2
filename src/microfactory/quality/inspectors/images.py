"""Reading, decoding and encoding the images inspectors judge, in the port's one convention.

Images are numpy arrays in RGB order (height x width x 3, uint8), or grey (height x width). Every
file (`inspect train|judge`) and every station upload (`quality.evidence.read_upload`) is decoded
by `decode_image`, the one decoder: a PNG, JPEG, BMP, TIFF or WebP that Pillow reads, no larger
than `max_pixels` (a decompression bomb is refused before its pixels are decoded), turned to RGB
once. Anything else is an `Invalid` naming the file or field and the problem, never a traceback.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PilImage
from PIL import UnidentifiedImageError

from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.quality.inspectors import Image

FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "WEBP": "image/webp",
}
MAX_PIXELS = 40_000_000  # `MICROFACTORY_QUALITY_IMAGE_MAX_PIXELS` for uploads


def decode_image(data: bytes, name: str = "image", max_pixels: int = MAX_PIXELS) -> Image:
    """The RGB image in `data`; `Invalid` naming `name` when it is empty, not one, or too large."""
    return decode_with_format(data, name, max_pixels)[0]


def decode_with_format(data: bytes, name: str = "image", max_pixels: int = MAX_PIXELS) -> tuple[Image, str]:
    """The RGB image in `data` and its media type (`image/png`...), checked as `decode_image` says."""
    if not data:
        raise _invalid(name, "the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PilImage.DecompressionBombWarning)
            picture = PilImage.open(io.BytesIO(data))
            kind = picture.format or ""
            if kind not in FORMATS:
                raise _invalid(
                    name, f"{kind or 'this'} is not an image format we take ({', '.join(FORMATS)})"
                )
            width, height = picture.size
            if width * height > max_pixels:
                raise _invalid(name, f"{width}x{height} pixels is more than the limit of {max_pixels}")
            pixels = np.asarray(picture.convert("RGB"), dtype=np.uint8)
    except UnidentifiedImageError:
        raise _invalid(name, "the file is not an image (PNG, JPEG, BMP, TIFF or WebP)") from None
    except (
        OSError,
        ValueError,
        SyntaxError,
        PilImage.DecompressionBombError,
        PilImage.DecompressionBombWarning,
    ) as error:
        raise _invalid(name, f"the image cannot be read: {error}") from None
    return np.ascontiguousarray(pixels), FORMATS[kind]


def _invalid(name: str, message: str) -> Invalid:
    return Invalid("the image cannot be inspected", [Problem(name, message)])


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
