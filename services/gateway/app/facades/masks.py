"""OpenAI's edit masks as the native API's: OpenAI marks the area to edit by full transparency
(alpha 0) in a PNG the image's size; the native `mask` is a grayscale picture whose white is
repainted (services/inference reads it as mode L, white = repaint).

Only headers are read before the sizes are checked, so a small file that claims a huge picture
is refused before any pixel is decoded.
"""
from __future__ import annotations

import io
import struct

from PIL import Image, UnidentifiedImageError

from ..errors import ApiError
from .forms import image_data_url

# Twice the largest side any tier allows (2048): past it no job could be admitted anyway, and
# decoding stays bounded (4096² RGBA is 64 MiB).
MAX_SIDE = 4096
REPAINT, KEEP = 255, 0
# What Pillow raises for a file it cannot read: besides OSError (truncated) and its own errors,
# a broken PNG chunk is a SyntaxError and a short header a struct.error.
_BROKEN = (UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error, Image.DecompressionBombError)


def _refused(code: str, message: str, field: str = "mask") -> ApiError:
    return ApiError(400, code, message, fields={field: [message]})


def _size(image: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(image)) as opened:
            return opened.size
    except _BROKEN:
        raise _refused("invalid_image", "image is not a readable PNG, JPEG or WebP image", "image") from None


def native_mask(image: bytes, mask: bytes) -> str:
    """The native `mask` (a data URL of a grayscale PNG) for OpenAI's mask of this image;
    400 naming `mask` when it is not a PNG with an alpha channel, or not the image's size.
    It decodes pixels: call it off the event loop."""
    width, height = _size(image)
    try:
        with Image.open(io.BytesIO(mask)) as opened:
            if opened.format != "PNG":
                raise _refused("invalid_mask", "mask must be a PNG with an alpha channel")
            if opened.size != (width, height):
                raise _refused("mask_size_mismatch", f"mask is {opened.size[0]}x{opened.size[1]} but the image is "
                                                     f"{width}x{height}; they must be the same size")
            if max(opened.size) > MAX_SIDE:
                raise _refused("invalid_mask", f"mask sides are at most {MAX_SIDE} pixels")
            if not opened.has_transparency_data:
                raise _refused("invalid_mask", "mask must have an alpha channel: its fully transparent pixels mark the area to edit")
            alpha = opened.convert("RGBA").getchannel("A")
    except ApiError:
        raise
    except _BROKEN:
        raise _refused("invalid_mask", "mask is not a readable PNG") from None
    repaint = alpha.point(lambda value: REPAINT if value == 0 else KEEP)
    out = io.BytesIO()
    repaint.save(out, format="PNG")
    return image_data_url(out.getvalue(), "mask")
