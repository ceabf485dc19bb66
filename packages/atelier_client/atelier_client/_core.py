"""What the sync and async clients share that does no I/O: request shapes, answers to
objects, stream events to ``Event``s, images to data URLs."""
from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .errors import AtelierError, error_from_response
from .sse import ServerEvent
from .types import Event, Image, Job, TERMINAL

USER_AGENT = "atelier-client/0.1.0"
JOBS = "/api/v1/jobs"
_IMAGE_TYPES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def default_headers(api_key: str) -> dict[str, str]:
    if not api_key:
        raise ValueError("api_key is required (an Atelier API key, atl_live_...)")
    return {"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT, "Accept": "application/json"}


def new_idempotency_key() -> str:
    return f"atelier-client-{uuid.uuid4()}"


def as_image_field(value: Any) -> Any:
    """``init_image``/``mask``: bytes or a path become a data URL; a string (a data URL or the
    id of one of your images) passes unchanged."""
    if isinstance(value, Path):
        value = value.read_bytes()
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        mime = next((m for magic, m in _IMAGE_TYPES if data.startswith(magic)), None)
        if mime is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            mime = "image/webp"
        if mime is None:
            raise ValueError("init_image/mask bytes must be a PNG, JPEG or WebP image")
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return value


def as_lora(value: Any) -> Any:
    """A LoRA by its name alone is one at weight 1; a mapping passes as it is (the platform
    checks names, weights and count, and names the one it refuses as ``loras[i]...``)."""
    return {"name": value, "weight": 1.0} if isinstance(value, str) else dict(value)


def job_body(prompt: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"prompt": prompt, **params}
    for name in ("init_image", "mask"):
        if body.get(name) is not None:
            body[name] = as_image_field(body[name])
    if body.get("loras") is not None:
        body["loras"] = [as_lora(lora) for lora in body["loras"]]
    if "kind" not in body:
        body["kind"] = "inpaint" if body.get("mask") else "img2img" if body.get("init_image") else "txt2img"
    return body


def checked(response: httpx.Response) -> Any:
    """The JSON of a 2xx answer; the platform's error as an exception otherwise."""
    if response.is_success:
        return response.json()
    raise error_from_response(response)


def job_path(job_id: str) -> str:
    job_id = str(job_id)
    if not job_id or "/" in job_id or job_id in (".", ".."):
        raise ValueError(f"not a job id: {job_id!r}")
    return f"{JOBS}/{job_id}"


def image_url(image: Image | str) -> str:
    return image.url if isinstance(image, Image) else str(image)


def same_origin(url: str, base_url: httpx.URL) -> bool:
    """Whether a (possibly relative) URL goes to the platform, so the API key may go with it."""
    parts = urlsplit(url)
    return not parts.netloc or (parts.scheme, parts.netloc) == (base_url.scheme, base_url.netloc.decode())


def to_event(server_event: ServerEvent) -> Event | None:
    """The stream's ``job`` and ``preview`` events; anything else (added later) is skipped."""
    try:
        data = json.loads(server_event.data)
    except ValueError:
        return None
    if server_event.event == "job":
        job = Job.from_json(data)
        return Event("end" if job.status in TERMINAL else "progress", job=job, step=job.step)
    if server_event.event == "preview":
        return Event("preview", step=data.get("step"), image=data.get("image"), extra=data)
    return None


class NoStream(Exception):
    """The event stream is not to be had now (refused with a 429 or 5xx, or not a stream): poll instead."""


def stream_error(response: httpx.Response, body: bytes) -> AtelierError:
    return error_from_response(httpx.Response(response.status_code, headers=response.headers, content=body,
                                              request=response.request))
