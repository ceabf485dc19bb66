"""A cheap preview of an image while it is being denoised, for `inference.job.progress` v2.

No VAE: the latents of SD 1.x/2.x (4 channels, scaled by the VAE's 0.18215) map to RGB
well enough for a glimpse through one linear map, a 4x3 matrix plus a bias (the widely used
approximation, e.g. ComfyUI's "latent2rgb" previews), read as [-1, 1]. The latents are
pooled first (the map is linear, so pooling before it is the same picture, on fewer pixels):
the longest side is at most MAX_SIDE, and a 512 px image's 64 px latent stays as it is.

Two halves, so that a preview never stalls the GPU:
- ``start`` runs on the GPU thread at a step's end: pooling, the map and the cast to bytes are
  queued on the latents' device (in stream order, so the next step cannot overwrite them), then
  a non-blocking copy into pinned host memory, whose end a CUDA event marks. Nothing waits.
- ``PendingPreview.encode`` runs on the connection thread once ``ready()`` says the copy has
  landed (never blocking on it), and makes a small JPEG data URL.
"""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import Any

# Rows: latent channels 1-4; columns: R, G, B.
LATENT_RGB_FACTORS = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
LATENT_RGB_BIAS = (0.0, 0.0, 0.0)
LATENT_CHANNELS = len(LATENT_RGB_FACTORS)
MAX_SIDE = 128
# The schema's bound on `preview` (inference.job.progress v2) is 16384 characters; a preview
# over it at the lowest quality is not sent at all (progress goes out without one).
MAX_DATA_URL_CHARS = 16_384
JPEG_QUALITIES = (70, 40)
DATA_URL_PREFIX = "data:image/jpeg;base64,"


def preview_size(height: int, width: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """(height, width) with the longest side at most max_side, the aspect ratio kept."""
    scale = min(1.0, max_side / max(height, width))
    return max(1, math.floor(height * scale)), max(1, math.floor(width * scale))


def latents_to_rgb(latents: Any) -> Any:
    """One image's latents (4, h, w), on any device and dtype -> (h', w', 3) uint8 on the same
    device, the longest side at most MAX_SIDE."""
    import torch
    import torch.nn.functional as F

    if latents.dim() != 3 or latents.shape[0] != LATENT_CHANNELS:
        raise ValueError(f"expected latents of shape (4, h, w), got {tuple(latents.shape)}")
    x = latents.float()
    size = preview_size(x.shape[1], x.shape[2])
    if size != tuple(x.shape[1:]):
        x = F.adaptive_avg_pool2d(x[None], size)[0]
    factors = torch.tensor(LATENT_RGB_FACTORS, dtype=x.dtype, device=x.device)
    bias = torch.tensor(LATENT_RGB_BIAS, dtype=x.dtype, device=x.device)
    # (h*w, 4) @ (4, 3) + bias, one kernel: on the CPU a third cheaper than the einsum it equals.
    rgb = torch.addmm(bias, x.flatten(1).T, factors).view(x.shape[1], x.shape[2], 3)
    return ((rgb + 1.0) * 127.5).clamp_(0, 255).to(torch.uint8)


@dataclass
class PendingPreview:
    pixels: Any  # (h, w, 3) uint8 on the host; while ``done`` has not passed, a copy may still be landing
    done: Any = None  # torch.cuda.Event recorded after the copy; None: the pixels are already there

    def ready(self) -> bool:
        return self.done is None or bool(self.done.query())

    def encode(self) -> str | None:
        """A ``data:image/jpeg;base64,...`` URL within MAX_DATA_URL_CHARS, or None (too large)."""
        from PIL import Image

        image = Image.fromarray(self.pixels.numpy(), "RGB")
        for quality in JPEG_QUALITIES:
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=quality)
            url = DATA_URL_PREFIX + base64.b64encode(buffer.getvalue()).decode("ascii")
            if len(url) <= MAX_DATA_URL_CHARS:
                return url
        return None


def start(latents: Any) -> PendingPreview:
    """On the GPU thread: queue the preview of one image's latents; returns at once."""
    import torch

    pixels = latents_to_rgb(latents)
    if pixels.device.type != "cuda":
        return PendingPreview(pixels)
    host = torch.empty(pixels.shape, dtype=torch.uint8, pin_memory=True)
    host.copy_(pixels, non_blocking=True)
    done = torch.cuda.Event()
    done.record()
    return PendingPreview(host, done)
