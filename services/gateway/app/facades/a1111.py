"""AUTOMATIC1111's web UI API over the native job API: `/sdapi/v1/txt2img` and `/img2img`
(synchronous: the answer holds the images), `/progress`, `/interrupt`, `/sd-models`,
`/samplers`, `/options`, `/scripts`.

Field names and defaults follow stable-diffusion-webui's modules/api/models.py; answers are
`{"images": [base64 PNG], "parameters": {the request with its defaults}, "info": "<JSON text>"}`.
`POST /options` with `sd_model_checkpoint` switches the model as A1111's does, for the caller
alone (checkpoints.py): A1111's model is global, here each job names its own.
Errors as its api_middleware writes them, `{"error", "detail", "body", "errors"}` (plus the
platform's machine-readable `code`), and FastAPI's `{"detail": [...]}` for a 422. Its clients
authenticate with HTTP basic auth (`--api-auth`): the password is an API key here.
"""
from __future__ import annotations

import base64
import binascii
import json
import time
from datetime import datetime
from typing import Any

from atelier_kit.fastapi import json_limits, parse_json_body
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..api.routes.proxy import read_body_limited
from ..errors import ApiError
from ..routing import MIB
from . import checkpoints
from .errors import kept_headers, route_class, validation_error
from .forms import image_data_url
from .native import Native, WaitTimeout, native_for

MAX_BODY_BYTES = 24 * MIB
LIVE = ("queued", "running")
# A1111's sampler names -> the native schedulers they are (services/inference SCHEDULERS).
SAMPLERS: dict[str, tuple[str, list[str]]] = {
    "Euler a": ("euler_a", ["k_euler_a", "k_euler_ancestral"]),
    "Euler": ("euler", ["k_euler"]),
    "LMS": ("lms", ["k_lms"]),
    "DPM++ 2M": ("dpm++", ["k_dpmpp_2m"]),
    "DDIM": ("ddim", []),
    "PLMS": ("pndm", []),
}
_LOOKUP = {name.lower(): scheduler for name, (scheduler, aliases) in SAMPLERS.items() for name in [name, *aliases]}
# Native field -> the A1111 field a client sent it as.
_FIELDS = {"guidance": "cfg_scale", "init_image": "init_images", "strength": "denoising_strength", "n": "batch_size",
           "scheduler": "sampler_name", "cost": "steps"}


def render(error: ApiError) -> JSONResponse:
    if error.status == 422 and error.fields:
        # FastAPI's own validation answer, which A1111 leaves in place.
        detail = [{"loc": ["body"] if name == "body" else ["body", _FIELDS.get(name, name)], "msg": message, "type": error.code}
                  for name, messages in error.fields.items() for message in messages]
        return JSONResponse({"detail": detail}, status_code=422, headers=kept_headers(error) or None)
    body = {"error": "HTTPException", "detail": error.message, "body": "", "errors": f"{error.status}: {error.message}",
            "code": error.code}
    headers = kept_headers(error)
    if error.status == 401:
        # What A1111's --api-auth asks for (its clients know no Bearer challenge).
        headers = {k: v for k, v in headers.items() if k.lower() != "www-authenticate"} | {"WWW-Authenticate": "Basic"}
    return JSONResponse(body, status_code=error.status, headers=headers or None)


router = APIRouter(prefix="/sdapi/v1", route_class=route_class(render), tags=["automatic1111"])


class Txt2ImgRequest(BaseModel):
    """StableDiffusionTxt2ImgProcessingAPI's fields that mean something here; the others its
    clients send (restore_faces, tiling, s_churn, ...) are accepted and ignored, as A1111's own
    models ignore unknown ones."""
    model_config = ConfigDict(extra="allow")

    prompt: str = ""
    negative_prompt: str = ""
    styles: list[str] | None = None
    seed: int = Field(default=-1, description="-1: random")
    subseed: int = -1
    subseed_strength: float = 0
    sampler_name: str | None = None
    sampler_index: str = "Euler"
    scheduler: str | None = None
    batch_size: int = Field(default=1, ge=1)
    n_iter: int = Field(default=1, ge=1)
    # A1111's default is 50, more than a free tier allows: left out, the platform's default applies.
    steps: int | None = None
    cfg_scale: float = 7.0
    width: int = 512
    height: int = 512
    denoising_strength: float | None = None
    override_settings: dict[str, Any] | None = None
    enable_hr: bool = False
    script_name: str | None = None
    send_images: bool = True
    save_images: bool = False


class Img2ImgRequest(Txt2ImgRequest):
    init_images: list[str] | None = None
    mask: str | None = None
    denoising_strength: float | None = 0.75
    inpainting_mask_invert: int = 0
    include_init_images: bool = False


class OptionsIn(BaseModel):
    """A1111's settings: only `sd_model_checkpoint` means something here (a title from
    /sd-models, ' [hash]' allowed). The others (A1111 has hundreds) are accepted and ignored,
    as a client that sets them alongside the model expects."""
    model_config = ConfigDict(extra="allow")

    sd_model_checkpoint: str | None = None


class ImagesOut(BaseModel):
    images: list[str] | None = Field(description="base64 PNGs")
    parameters: dict[str, Any]
    info: str = Field(description="JSON text: seed, all_seeds, prompt, ...")


class ProgressOut(BaseModel):
    progress: float
    eta_relative: float
    state: dict[str, Any]
    current_image: str | None = None
    textinfo: str | None = None


class SdModel(BaseModel):
    title: str
    model_name: str
    hash: str | None = None
    sha256: str | None = None
    filename: str
    config: str | None = None


class Sampler(BaseModel):
    name: str
    aliases: list[str]
    options: dict[str, str]


class HTTPError(BaseModel):
    error: str
    detail: str
    body: str
    errors: str
    code: str


_ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": HTTPError, "description": "basic auth with an API key as password, or a Bearer key"},
                                            429: {"model": HTTPError, "description": "over a limit; see Retry-After"}}


def _body_schema(model: type[BaseModel]) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


async def _read(request: Request, model: type[BaseModel]) -> Any:
    try:
        raw = parse_json_body(await read_body_limited(request, MAX_BODY_BYTES), json_limits(request))
    except ApiError as exc:
        if exc.code != "invalid_json":
            raise
        # FastAPI's answer to a body that does not parse, as A1111's clients get it there.
        raise ApiError(422, "json_invalid", exc.message, fields={"body": [exc.message]}) from exc
    if not isinstance(raw, dict):
        raise ApiError(422, "validation_error", "the body must be a JSON object", fields={"body": ["not an object"]})
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc.errors()) from exc


def scheduler_of(body: Txt2ImgRequest) -> str:
    name = body.sampler_name or body.sampler_index
    scheduler = _LOOKUP.get(name.strip().lower())
    if scheduler is None:
        raise ApiError(404, "sampler_not_found", "Sampler not found")
    return scheduler


def checkpoint_model(checkpoint: Any) -> str | None:
    """The model an `sd_model_checkpoint` value names: A1111 titles may end in ' [hash]'."""
    if not isinstance(checkpoint, str) or not checkpoint.strip():
        return None
    return checkpoint.split(" [", 1)[0].strip()


def model_requested(body: Txt2ImgRequest) -> str | None:
    """override_settings.sd_model_checkpoint: this request's model, over the one /options set."""
    return checkpoint_model((body.override_settings or {}).get("sd_model_checkpoint"))


async def refuse_unknown_model(native: Native, model: str) -> None:
    if model not in await native.model_names():
        raise ApiError(404, "model_not_found", f"model {model!r} not found")


def refuse_unsupported(body: Txt2ImgRequest) -> None:
    if body.enable_hr:
        raise ApiError(422, "unsupported_feature", "hires fix (enable_hr) is not available on this server")
    if body.script_name:
        raise ApiError(422, "script_not_found", "Script not found")
    if isinstance(body, Img2ImgRequest) and body.mask and body.inpainting_mask_invert:
        raise ApiError(422, "unsupported_feature", "inpainting_mask_invert is not available: white areas of the mask are repainted")


def native_job(body: Txt2ImgRequest, model: str | None) -> dict[str, Any]:
    """The native job a txt2img or img2img request is: batch_size x n_iter images in one job."""
    job: dict[str, Any] = {
        "kind": "txt2img", "prompt": body.prompt, "negative_prompt": body.negative_prompt or None,
        "width": body.width, "height": body.height, "guidance": body.cfg_scale,
        "scheduler": scheduler_of(body), "n": body.batch_size * body.n_iter,
    }
    if model is not None:  # else the native default
        job["model"] = model
    if body.steps is not None:
        job["steps"] = body.steps
    if body.seed != -1:
        job["seed"] = body.seed
    if isinstance(body, Img2ImgRequest):
        if not body.init_images:
            raise ApiError(422, "validation_error", "img2img needs init_images", fields={"init_images": ["required"]})
        job["kind"] = "inpaint" if body.mask else "img2img"
        job["init_image"] = _data_url(body.init_images[0], "init_images")
        if body.mask:
            job["mask"] = _data_url(body.mask, "mask")
        if body.denoising_strength is not None:
            job["strength"] = body.denoising_strength
    return job


def _data_url(value: str, field: str) -> str:
    """A1111 clients send raw base64 or a data: URL; the native API takes the latter."""
    encoded = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "validation_error", f"{field} is not base64", fields={field: ["not base64"]}) from None
    return image_data_url(data, field)


def info_text(body: Txt2ImgRequest, job: dict[str, Any], sampler: str) -> str:
    """What A1111 puts in `info` (Processed.js()): a JSON string clients parse for the seeds."""
    params = job.get("params") or {}
    seeds = [image["seed"] for image in job.get("images") or []] or [params.get("seed")]
    count = len(seeds)
    info = {
        "prompt": body.prompt, "all_prompts": [body.prompt] * count,
        "negative_prompt": body.negative_prompt, "all_negative_prompts": [body.negative_prompt] * count,
        "seed": seeds[0], "all_seeds": seeds, "subseed": -1, "all_subseeds": [-1] * count, "subseed_strength": 0,
        "width": params.get("width", body.width), "height": params.get("height", body.height),
        "sampler_name": sampler, "cfg_scale": params.get("guidance", body.cfg_scale), "steps": params.get("steps", body.steps),
        "batch_size": body.batch_size, "restore_faces": False, "face_restoration_model": None,
        "sd_model_name": params.get("model", "default"), "sd_model_hash": None, "sd_vae_name": None, "sd_vae_hash": None,
        "seed_resize_from_w": -1, "seed_resize_from_h": -1,
        "denoising_strength": params.get("strength") if params.get("kind") in ("img2img", "inpaint") else None,
        "extra_generation_params": {"Atelier job": job.get("id")}, "index_of_first_image": 0,
        "infotexts": [f"{body.prompt}\nSteps: {params.get('steps')}, Sampler: {sampler}, CFG scale: {params.get('guidance')}, "
                      f"Seed: {seed}, Size: {params.get('width')}x{params.get('height')}, Model: {params.get('model')}" for seed in seeds],
        "styles": body.styles or [], "job_timestamp": _timestamp(job.get("created_at")), "clip_skip": 1,
        "is_using_inpainting_conditioning": params.get("kind") == "inpaint", "version": "atelier",
    }
    return json.dumps(info)


def _timestamp(created_at: Any) -> str:
    try:
        return datetime.fromisoformat(str(created_at)).strftime("%Y%m%d%H%M%S")
    except ValueError:
        return time.strftime("%Y%m%d%H%M%S")


async def generate(request: Request, body: Txt2ImgRequest) -> ImagesOut:
    refuse_unsupported(body)
    sampler = body.sampler_name or body.sampler_index
    async with native_for(request) as native:
        model = model_requested(body) or await checkpoints.recall(request, native.identity)
        if model is not None:
            await refuse_unknown_model(native, model)
        submitted = await native.submit(native_job(body, model), request.headers.get("idempotency-key"))
        try:
            [ended] = await native.wait([submitted["id"]])
        except WaitTimeout as exc:
            raise ApiError(504, "generation_timeout", str(exc)) from exc
        if ended["status"] == "failed":
            error = ended.get("error") or {}
            raise ApiError(500, str(error.get("code") or "job_failed"), str(error.get("message") or "the generation failed"))
        # An interrupted job answers like A1111's: whatever images there are (none here).
        images = [base64.b64encode(await native.image_bytes(i["url"])).decode("ascii") for i in ended["images"]] \
            if body.send_images else []
    parameters = body.model_dump()
    parameters["steps"] = (ended.get("params") or {}).get("steps", body.steps)  # the default it ran with
    if isinstance(body, Img2ImgRequest) and not body.include_init_images:
        parameters["init_images"] = None
        parameters["mask"] = None
    return ImagesOut(images=images, parameters=parameters, info=info_text(body, ended, sampler))


@router.post("/txt2img", response_model=ImagesOut, responses=_ERRORS, openapi_extra=_body_schema(Txt2ImgRequest),
             summary="Text to image (AUTOMATIC1111-compatible, synchronous)")
async def txt2img(request: Request) -> ImagesOut:
    return await generate(request, await _read(request, Txt2ImgRequest))


@router.post("/img2img", response_model=ImagesOut, responses=_ERRORS, openapi_extra=_body_schema(Img2ImgRequest),
             summary="Image to image, inpainting with a mask (AUTOMATIC1111-compatible, synchronous)")
async def img2img(request: Request) -> ImagesOut:
    return await generate(request, await _read(request, Img2ImgRequest))


async def _live_jobs(native: Native) -> list[dict]:
    return [job for job in await native.recent_jobs(100) if job.get("status") in LIVE]


@router.get("/progress", response_model=ProgressOut, responses=_ERRORS, summary="Progress of my running job (AUTOMATIC1111-compatible)")
async def progress(request: Request) -> ProgressOut:
    async with native_for(request) as native:
        live = await _live_jobs(native)
    # The list is newest first: the oldest running job is the one A1111 would be working on.
    running = [job for job in live if job["status"] == "running"]
    current = (running or live)[-1] if live else None
    state = {"skipped": False, "interrupted": False, "stopping_generation": False, "job": "", "job_count": len(live),
             "job_timestamp": "0", "job_no": 0, "sampling_step": 0, "sampling_steps": 0}
    if current is None:
        return ProgressOut(progress=0.0, eta_relative=0.0, state=state)
    fraction = float(current.get("progress") or 0.0)
    state.update(job=f"job({current['id']})", job_timestamp=_timestamp(current.get("created_at")),
                 sampling_step=current.get("step") or 0, sampling_steps=current.get("total_steps") or 0)
    return ProgressOut(progress=fraction, eta_relative=_eta(current, fraction), state=state)


def _eta(job: dict, fraction: float) -> float:
    if not job.get("started_at") or fraction <= 0:
        return 0.0
    try:
        elapsed = time.time() - datetime.fromisoformat(str(job["started_at"])).timestamp()
    except ValueError:
        return 0.0
    return max(0.0, elapsed / fraction - elapsed)


@router.post("/interrupt", responses=_ERRORS, summary="Cancel my queued and running jobs (AUTOMATIC1111-compatible)")
async def interrupt(request: Request) -> dict:
    async with native_for(request) as native:
        for job in await _live_jobs(native):
            await native.cancel(job["id"])
    return {}


@router.get("/sd-models", response_model=list[SdModel], responses=_ERRORS, summary="Models (AUTOMATIC1111-compatible)")
async def sd_models(request: Request) -> list[SdModel]:
    async with native_for(request) as native:
        names = await native.model_names()
    return [SdModel(title=name, model_name=name, filename=name) for name in names]


@router.get("/samplers", response_model=list[Sampler], responses=_ERRORS, summary="Samplers (AUTOMATIC1111-compatible)")
async def samplers(request: Request) -> list[Sampler]:
    async with native_for(request):
        return [Sampler(name=name, aliases=aliases, options={}) for name, (_, aliases) in SAMPLERS.items()]


@router.get("/options", responses=_ERRORS, summary="Settings (AUTOMATIC1111-compatible): the model is the one you set")
async def options(request: Request) -> dict[str, Any]:
    async with native_for(request) as native:
        chosen = await checkpoints.recall(request, native.identity)
        return {"sd_model_checkpoint": chosen or (await native.model_names())[0], "samples_format": "png",
                "sd_checkpoint_hash": None, "CLIP_stop_at_last_layers": 1, "eta_noise_seed_delta": 0}


@router.post("/options", responses={**_ERRORS, 404: {"model": HTTPError, "description": "model_not_found: not in /sd-models"}},
             openapi_extra=_body_schema(OptionsIn),
             summary="Set settings (AUTOMATIC1111-compatible): sd_model_checkpoint picks your model; others are ignored")
async def set_options(request: Request) -> None:
    """As A1111's: `null` once set. The model is kept for the calling API key (30 days from
    its last use) and used by txt2img/img2img that name none in override_settings."""
    body = await _read(request, OptionsIn)
    async with native_for(request) as native:
        if body.sd_model_checkpoint is not None:
            model = checkpoint_model(body.sd_model_checkpoint)
            if model is None:
                raise ApiError(422, "validation_error", "sd_model_checkpoint is empty",
                               fields={"sd_model_checkpoint": ["a model title from /sd-models"]})
            await refuse_unknown_model(native, model)
            await checkpoints.remember(request, native.identity, model)
    return None


@router.get("/scripts", responses=_ERRORS, summary="Scripts (AUTOMATIC1111-compatible; none here)")
async def scripts(request: Request) -> dict[str, list[str]]:
    async with native_for(request):
        return {"txt2img": [], "img2img": []}


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def unknown(request: Request, rest: str) -> JSONResponse:
    # FastAPI's answer for a route A1111 does not have (never the single-page app).
    return JSONResponse({"detail": "Not Found"}, status_code=404)
