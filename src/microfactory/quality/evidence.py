"""Station uploads as evidence: their size checked, decoded the one way, and kept as sent.

An upload over `image_max_bytes` is `ImageTooLarge` (HTTP 413); its pixels come from the one
decoder, `inspectors.images.decode_with_format` (PNG, JPEG, BMP, TIFF or WebP, at most
`image_max_pixels`, RGB as every inspector and `inspect train` sees images), which names any other
problem as `Invalid` on the field `image`.

The bytes are kept as sent: in the configured directory under their SHA-256 (written once, the
same image uploaded twice is one file) or, with no directory, in `inspection_images.data`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from microfactory.config import QualitySettings
from microfactory.db.base import new_id
from microfactory.db.tables.quality import InspectionImageRow
from microfactory.errors import Conflict
from microfactory.quality.inspectors import Image
from microfactory.quality.inspectors.images import decode_with_format


class ImageTooLarge(Conflict):
    """An upload over the configured size: the API answers 413 (see `api.routers.quality`)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"image: {size} bytes is more than the limit of {limit} bytes")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Upload:
    """A checked upload: its bytes, what they are, and the pixels (RGB) for the inspectors."""

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


def read_upload(data: bytes, settings: QualitySettings) -> Upload:
    """Check and decode an upload; raises `ImageTooLarge` or `Invalid` naming the problem."""
    if len(data) > settings.image_max_bytes:
        raise ImageTooLarge(len(data), settings.image_max_bytes)
    pixels, content_type = decode_with_format(data, "image", settings.image_max_pixels)
    return Upload(data, content_type, pixels, hashlib.sha256(data).hexdigest())


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
