"""OpenAI's Images API over the native job API: `POST /v1/images/generations` (txt2img),
`POST /v1/images/edits` (img2img from an uploaded image; inpaint where its `mask` is
transparent, masks.py), `GET /v1/models`.

Shapes follow OpenAI's (openai-openapi; openai-python's `ImagesResponse`, `Image`, `Model`):
`{"created", "data": [{"url"} | {"b64_json"}]}`, errors `{"error": {"message", "type", "param",
"code"}}` with 400 for bad input, 401 `invalid_api_key`, 429 `rate_limit_exceeded` (with
Retry-After; the client retries it) or `insufficient_quota`. Answers that a retry would only
repeat, or that resubmitting would duplicate (a job that failed, timed out), carry
`x-should-retry: false`, which OpenAI's own clients obey.
"""
from __future__ import annotations

import base64
import time
from typing import Any, Literal

from atelier_kit.fastapi import json_limits, parse_json_body
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from ..api.routes.proxy import read_body_limited
from ..errors import ApiError
from ..routing import MIB
from .errors import kept_headers, route_class, validation_error
from .forms import image_data_url, parse_form
from .masks import native_mask
from .native import Native, WaitTimeout, first_field, native_for

# The OpenAI sizes; each must still fit the caller's tier (the native API decides).
SIZES = {"256x256": (256, 256), "512x512": (512, 512), "1024x1024": (1024, 1024), "1792x1024": (1792, 1024),
         "1024x1792": (1024, 1792), "1536x1024": (1536, 1024), "1024x1536": (1024, 1536)}
# As the native job route: an edit carries an 8 MiB image.
MAX_BODY_BYTES = 24 * MIB
N_MAX = 10
# Native field -> the OpenAI parameter a client sent it as.
_PARAMS = {"width": "size", "height": "size", "init_image": "image", "mask": "mask", "prompt": "prompt", "n": "n",
           "model": "model", "cost": "size"}
_AUTH_CODES = {"not_authenticated", "token_invalid", "token_expired", "token_revoked", "api_key_invalid",
               "api_key_revoked", "api_key_expired"}


def render(error: ApiError) -> JSONResponse:
    status, code = error.status, error.code
    headers = kept_headers(error)
    param = _PARAMS.get(first_field(error) or "", first_field(error))
    if status == 401 or code in _AUTH_CODES:
        kind, code = "invalid_request_error", "invalid_api_key" if code.startswith("api_key") or code == "not_authenticated" else code
    elif status == 429 and code == "quota_exceeded":
        # Waiting a few seconds never helps a spent daily allowance.
        kind, code = "insufficient_quota", "insufficient_quota"
        headers["x-should-retry"] = "false"
    elif status == 429:
        kind, code = "requests", "rate_limit_exceeded"
    elif status == 403:
        kind = "permission_error"
    elif status >= 500:
        kind = "server_error"
    else:
        kind = "invalid_request_error"
        status = 400 if status == 422 else status
    body = {"error": {"message": error.message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers or None)


router = APIRouter(route_class=route_class(render), tags=["openai"])


class GenerationRequest(BaseModel):
    """OpenAI's CreateImageRequest; parameters that change nothing here are accepted and ignored."""
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=32000)
    model: str | None = Field(default=None, description="`default`, or a name GET /v1/models lists")
    n: int | None = Field(default=1, ge=1, le=N_MAX)
    size: str | None = Field(default=None, description="WIDTHxHEIGHT among OpenAI's sizes, within your tier; `auto` or none: the platform's default")
    response_format: Literal["url", "b64_json"] | None = "url"
    quality: str | None = None
    style: str | None = None
    user: str | None = None
    background: Literal["auto", "opaque"] | None = None
    moderation: str | None = None
    output_format: Literal["png"] | None = None
    output_compression: int | None = None
    stream: Literal[False] | None = None
    partial_images: Literal[0] | None = None


class ImageData(BaseModel):
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class ImagesResponse(BaseModel):
    created: int
    data: list[ImageData]
    size: str | None = None
    output_format: str | None = None


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorOut(BaseModel):
    error: ErrorDetail


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "invalid_request_error: a parameter, named in `param`"},
    401: {"model": ErrorOut, "description": "invalid_api_key"},
    429: {"model": ErrorOut, "description": "rate_limit_exceeded (see Retry-After) or insufficient_quota"},
    504: {"model": ErrorOut, "description": "the images were not ready within the server's wait; the job was canceled"},
}


def size_of(size: str | None) -> dict[str, int]:
    if size is None or size == "auto":
        return {}
    if size not in SIZES:
        raise ApiError(400, "invalid_size", f"size must be one of {', '.join(SIZES)} or auto", fields={"size": ["unknown size"]})
    width, height = SIZES[size]
    return {"width": width, "height": height}


async def model_of(native: Native, model: str | None) -> dict[str, str]:
    """The job's `model` field: none when the client names none (the native default applies)."""
    if model is None:
        return {}
    if model not in await native.model_names():
        raise ApiError(400, "model_not_found", f"the model {model!r} does not exist; GET /v1/models lists them",
                       fields={"model": ["unknown model"]})
    return {"model": model}


async def generate(request: Request, native: Native, job: dict[str, Any], response_format: str) -> ImagesResponse:
    """Submit, wait, and shape the answer; shared by generations and edits."""
    submitted = await native.submit(job, request.headers.get("idempotency-key"))
    try:
        [ended] = await native.wait([submitted["id"]])
    except WaitTimeout as exc:
        raise ApiError(504, "generation_timeout", str(exc), headers={"x-should-retry": "false"}) from exc
    if ended["status"] == "failed":
        error = ended.get("error") or {}
        raise ApiError(500, str(error.get("code") or "job_failed"), str(error.get("message") or "the image generation failed"),
                       headers={"x-should-retry": "false"})
    if ended["status"] == "canceled":
        raise ApiError(409, "job_canceled", "the image generation was canceled")
    data = []
    for image in ended["images"]:
        if response_format == "b64_json":
            data.append(ImageData(b64_json=base64.b64encode(await native.image_bytes(image["url"])).decode("ascii")))
        else:
            data.append(ImageData(url=native.public_url(image["url"])))
    params = ended.get("params") or {}
    size = f"{params['width']}x{params['height']}" if "width" in params and "height" in params else None
    return ImagesResponse(created=int(time.time()), data=data, size=size, output_format="png")


def _parsed(model: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise validation_error(exc.errors()) from exc


@router.post("/v1/images/generations", response_model=ImagesResponse, response_model_exclude_none=True, responses=_ERRORS,
             summary="Create images (OpenAI-compatible)",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": GenerationRequest.model_json_schema()}}}})
async def create_images(request: Request) -> ImagesResponse:
    raw = parse_json_body(await read_body_limited(request, MAX_BODY_BYTES), json_limits(request))
    if not isinstance(raw, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    body = _parsed(GenerationRequest, raw)
    dimensions = size_of(body.size)
    async with native_for(request) as native:
        job = {"kind": "txt2img", "prompt": body.prompt, "n": body.n or 1, **await model_of(native, body.model), **dimensions}
        return await generate(request, native, job, body.response_format or "url")


_FORM_TEXT = ("prompt", "model", "n", "size", "response_format", "user", "quality", "background", "output_format",
              "input_fidelity", "output_compression", "moderation", "stream", "partial_images")


@router.post("/v1/images/edits", response_model=ImagesResponse, response_model_exclude_none=True, responses=_ERRORS,
             summary="Edit an image (OpenAI-compatible): img2img from the uploaded image; with a mask, its transparent area is repainted",
             openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["image", "prompt"],
                 "properties": {"image": {"type": "string", "format": "binary"}, "prompt": {"type": "string"},
                                "mask": {"type": "string", "format": "binary",
                                         "description": "a PNG the image's size; fully transparent pixels (alpha 0) are repainted"},
                                "model": {"type": "string"}, "n": {"type": "integer", "minimum": 1, "maximum": N_MAX},
                                "size": {"type": "string"}, "response_format": {"type": "string", "enum": ["url", "b64_json"]}}}}}}})
async def edit_image(request: Request) -> ImagesResponse:
    parts = parse_form(request.headers.get("content-type", ""), await read_body_limited(request, MAX_BODY_BYTES))
    images = [p for p in parts if p.name in ("image", "image[]")]
    if len(images) != 1:
        raise ApiError(400, "invalid_image", "send exactly one image", fields={"image": ["exactly one image"]})
    masks = [p for p in parts if p.name == "mask"]
    if len(masks) > 1:
        raise ApiError(400, "invalid_mask", "send at most one mask", fields={"mask": ["at most one mask"]})
    unknown = sorted({p.name for p in parts} - {"image", "image[]", "mask", *_FORM_TEXT})
    if unknown:
        raise ApiError(400, "unknown_parameter", f"unrecognized request argument supplied: {unknown[0]}", fields={unknown[0]: ["unknown"]})
    values: dict[str, Any] = {p.name: p.text() for p in parts if p.name in _FORM_TEXT}
    if values.get("stream") == "false":
        values.pop("stream")  # a form has no JSON false; what clients send for "not streamed"
    values.pop("input_fidelity", None)  # how closely to keep faces: no such control here
    body = _parsed(GenerationRequest, values)
    init_image = image_data_url(images[0].data, "image")
    dimensions = size_of(body.size)
    async with native_for(request) as native:
        job = {"kind": "img2img", "prompt": body.prompt, "n": body.n or 1, "init_image": init_image,
               **await model_of(native, body.model), **dimensions}
        if masks:
            # Decoded only for a caller who authenticated. The masked area is made anew, as
            # OpenAI's edit does (full strength); unmasked, the whole image is reworked at the
            # platform's default strength.
            mask = await run_in_threadpool(native_mask, images[0].data, masks[0].data)
            job.update(kind="inpaint", mask=mask, strength=1.0)
        return await generate(request, native, job, body.response_format or "url")


@router.get("/v1/models", response_model=ModelList, responses={401: _ERRORS[401]}, summary="List models (OpenAI-compatible)")
async def list_models(request: Request) -> ModelList:
    async with native_for(request) as native:
        return ModelList(data=[ModelOut(id=name, created=0, owned_by="atelier") for name in await native.model_names()])


@router.get("/v1/models/{model}", response_model=ModelOut, responses={401: _ERRORS[401], 404: {"model": ErrorOut}},
            summary="Read a model (OpenAI-compatible)")
async def read_model(request: Request, model: str) -> ModelOut:
    async with native_for(request) as native:
        if model not in await native.model_names():
            raise ApiError(404, "model_not_found", f"the model {model!r} does not exist", fields={"model": ["unknown model"]})
        return ModelOut(id=model, created=0, owned_by="atelier")


@router.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def unknown_url(request: Request, rest: str) -> JSONResponse:
    # As OpenAI answers a path it does not serve (and never the single-page app).
    raise ApiError(404, "unknown_url", f"Invalid URL ({request.method} {request.url.path})")
