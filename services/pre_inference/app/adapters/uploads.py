"""Init images and masks for img2img and inpaint.

A client sends either a base64 data URL or the id of one of its own gallery images.
Uploads are size-checked before decoding, opened with Pillow (PNG, JPEG or WebP only,
dimensions checked from the header before any pixel is decoded, so a decompression bomb
is refused cheaply), re-encoded as PNG (nothing the client sent is stored verbatim) and
written to storage under ``uploads/<job_id>/``. A submit refused after its uploads deletes
them (app.api.routes.jobs); a job's uploads leave the store with its owner's account
(app.adapters.storage_cleanup). A process killed between the upload and the commit leaves
them behind: nothing sweeps ``uploads/`` objects without a job yet.
"""
from __future__ import annotations

import base64
import binascii
import io
import re
import uuid
from dataclasses import dataclass

from atelier_storage import Storage
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_DATA_URL = re.compile(r"^data:(image/(?:png|jpeg|jpg|webp));base64,(.*)$", re.DOTALL)


class UploadError(Exception):
    def __init__(self, field: str, message: str, code: str = "validation_error"):
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Source:
    """What the client named: inline bytes, or a gallery image id."""

    data: bytes | None = None
    image_id: uuid.UUID | None = None


def parse_source(field: str, value: str, max_bytes: int) -> Source:
    if value.startswith("data:"):
        match = _DATA_URL.match(value)
        if not match:
            raise UploadError(field, "must be a data:image/png|jpeg|webp;base64,... URL or an image id")
        payload = match.group(2)
        # Checked before decoding, so a huge string costs no decoding work.
        if len(payload) > (max_bytes * 4) // 3 + 4:
            raise UploadError(field, f"is over {max_bytes} bytes", "payload_too_large")
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UploadError(field, "is not valid base64") from exc
        if len(data) > max_bytes:
            raise UploadError(field, f"is over {max_bytes} bytes", "payload_too_large")
        return Source(data=data)
    try:
        return Source(image_id=uuid.UUID(value))
    except ValueError as exc:
        raise UploadError(field, "must be a data URL or the id of one of your images") from exc


def normalise(field: str, data: bytes, *, max_width: int, max_height: int, mask: bool) -> tuple[bytes, int, int]:
    """Validates and re-encodes as PNG (grayscale for a mask); returns (png, width, height)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ALLOWED_FORMATS:
                raise UploadError(field, "must be a PNG, JPEG or WebP image")
            width, height = image.size
            if width > max_width or height > max_height:
                raise UploadError(field, f"is {width}x{height}; your tier allows up to {max_width}x{max_height}", "exceeds_tier")
            image.load()
            converted = image.convert("L" if mask else "RGB")
    except UploadError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UploadError(field, "is not a readable image") from exc
    out = io.BytesIO()
    converted.save(out, format="PNG")
    return out.getvalue(), width, height


def store_upload(storage: Storage, job_id: uuid.UUID, name: str, png: bytes, user_id: uuid.UUID) -> str:
    key = f"uploads/{job_id}/{name}.png"
    storage.put_bytes(key, png, content_type="image/png", metadata={"job_id": str(job_id), "user_id": str(user_id), "role": name})
    return key
