"""Images that stations upload: checked, decoded for the inspectors, and kept as evidence.

An upload must be a PNG, JPEG, BMP, TIFF or WebP no larger than `image_max_bytes` (else
`ImageTooLarge`, HTTP 413) whose pixels Pillow can read and whose size stays under
`image_max_pixels` (a decompression bomb is refused before it is decoded); anything else is
`Invalid` naming the field and the problem. The inspectors get the pixels as OpenCV reads a file
(height x width x 3, BGR, uint8), so a model trained from files with `inspect train` sees the same.

The bytes are kept as sent: in the configured directory under their SHA-256 (written once, the
same image uploaded twice is one file) or, with no directory, in `inspection_images.data`.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PilImage
from PIL import UnidentifiedImageError

from microfactory.config import QualitySettings
from microfactory.db.base import new_id
from microfactory.db.tables.quality import InspectionImageRow
from microfactory.errors import Conflict, Invalid
from microfactory.problems import Problem
from microfactory.quality.inspectors import Image

FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "WEBP": "image/webp",
}


class ImageTooLarge(Conflict):
    """An upload over the configured size: the API answers 413 (see `api.routers.quality`)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"image: {size} bytes is more than the limit of {limit} bytes")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Upload:
    """A checked upload: its bytes, what they are, and the pixels for the inspectors."""

    data: bytes
    content_type: str
    pixels: Image
    sha256: str

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def _invalid(message: str) -> Invalid:
    return Invalid("the image cannot be inspected", [Problem("image", message)])


def read_upload(data: bytes, settings: QualitySettings) -> Upload:
    """Check and decode an upload; raises `ImageTooLarge` or `Invalid` naming the problem."""
    if len(data) > settings.image_max_bytes:
        raise ImageTooLarge(len(data), settings.image_max_bytes)
    if not data:
        raise _invalid("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PilImage.DecompressionBombWarning)
            picture = PilImage.open(io.BytesIO(data))
            kind = picture.format or ""
            if kind not in FORMATS:
                raise _invalid(f"{kind or 'this'} is not an image format we take ({', '.join(FORMATS)})")
            width, height = picture.size
            if width * height > settings.image_max_pixels:
                raise _invalid(
                    f"{width}x{height} pixels is more than the limit of {settings.image_max_pixels}"
                )
            rgb = np.asarray(picture.convert("RGB"), dtype=np.uint8)
    except UnidentifiedImageError:
        raise _invalid("the file is not an image (PNG, JPEG, BMP, TIFF or WebP)") from None
    except (
        OSError,
        ValueError,
        SyntaxError,
        PilImage.DecompressionBombError,
        PilImage.DecompressionBombWarning,
    ) as error:
        raise _invalid(f"the image cannot be read: {error}") from None
    pixels = np.ascontiguousarray(rgb[..., ::-1])  # BGR, as cv2.imread gives it
    return Upload(data, FORMATS[kind], pixels, hashlib.sha256(data).hexdigest())


def keep(upload: Upload, settings: QualitySettings) -> InspectionImageRow:
    """The evidence row for an upload; its bytes written to the image directory when one is set."""
    row = InspectionImageRow(
        id=new_id("img"),
        sha256=upload.sha256,
        content_type=upload.content_type,
        width=upload.width,
        height=upload.height,
        size=len(upload.data),
    )
    if settings.image_dir is None:
        row.data = upload.data
    else:
        row.path = str(_write_once(Path(settings.image_dir), upload))
    return row


def _write_once(folder: Path, upload: Upload) -> Path:
    """Write the bytes as `<sha256>.<ext>` atomically (a temporary file renamed), once."""
    extension = upload.content_type.split("/")[1]
    target = folder / upload.sha256[:2] / f"{upload.sha256}.{extension}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    with os.fdopen(handle, "wb") as stream:
        stream.write(upload.data)
    os.replace(temporary, target)
    return target


def image_bytes(row: InspectionImageRow) -> bytes:
    """The evidence as it was uploaded, from the database or the directory."""
    if row.data is not None:
        return row.data
    if row.path is None or not Path(row.path).exists():
        raise Conflict(f"image {row.id} is no longer in the image directory ({row.path})")
    return Path(row.path).read_bytes()
