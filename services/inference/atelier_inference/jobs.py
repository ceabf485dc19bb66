"""Turns one `inference.job.requested` job (v1, or v2 with LoRAs) into stored images.

Knows nothing about RabbitMQ: the worker hands in the job's data, a progress callback
and a cancellation predicate, and gets back the `inference.job.succeeded` v1 fields or
a JobFailure carrying a reason code.
"""
from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from . import loras
from .families import LimitError, check_job
from .loras import LoraError, LoraFile
from .pipeline import LoadedPipeline, UnknownScheduler

ProgressFn = Callable[[int, int], None]  # (step done, total steps)
CancelFn = Callable[[], bool]
LatentsFn = Callable[[Any], None]  # a step's latents (images, 4, h/8, w/8), on the model's device
# (job id -> index of the job's first image in the call, a step's latents): for previews
BatchLatentsFn = Callable[[dict[str, int], Any], None]
SUPPORTED_KINDS = ("txt2img", "img2img", "inpaint")
MODEL_ALIASES = ("", "default")
DEFAULT_STRENGTH = 0.75
MAX_INPUT_BYTES = 32 * 1024 * 1024


class Storage(Protocol):
    def put_bytes(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, Any] | None = None) -> None: ...

    def get_bytes(self, key: str) -> bytes: ...


class JobFailure(Exception):
    """The job ends without images; ``reason_code`` goes into `inference.job.failed`."""

    def __init__(self, reason_code: str, message: str):
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


class JobCanceled(JobFailure):
    def __init__(self, message: str = "the job was canceled"):
        super().__init__("canceled", message)


@dataclass(frozen=True)
class JobResult:
    images: list[dict[str, Any]]
    timings_ms: dict[str, float]


def image_key(job_id: str, index: int) -> str:
    return f"images/{job_id}/{index}.png"


class JobTimeLimit(JobFailure):
    def __init__(self, limit_s: float):
        super().__init__("time_limit_exceeded", f"the job ran past its time limit of {limit_s:.0f} s")


def check_params(params: dict[str, Any], loaded: LoadedPipeline, library: dict[str, LoraFile] | None = None) -> None:
    """What the schema cannot know: what this worker and its model can do. ``library``: the
    worker's LoRAs (atelier_inference.loras.scan); none: a job naming a LoRA is refused."""
    kind = params["kind"]
    if kind not in SUPPORTED_KINDS:
        raise JobFailure("invalid_params", f"kind {kind!r} is not supported; this worker does {', '.join(SUPPORTED_KINDS)}")
    if kind in ("img2img", "inpaint") and not params.get("init_image_key"):
        raise JobFailure("invalid_params", f"{kind} needs init_image_key")
    if kind == "inpaint" and not params.get("mask_key"):
        raise JobFailure("invalid_params", "inpaint needs mask_key")
    strength = params.get("strength")
    if strength is not None and not 0 < float(strength) <= 1:
        raise JobFailure("invalid_params", "strength must be in (0, 1]")
    if kind in ("img2img", "inpaint") and int(int(params["steps"]) * (DEFAULT_STRENGTH if strength is None else float(strength))) < 1:
        # SD 1.x, 2.x and SDXL would run no step and fail inside diffusers.
        raise JobFailure("invalid_params", "steps x strength is under 1: no step would run")
    model = params["model"]
    if model not in (*MODEL_ALIASES, loaded.name, loaded.model, loaded.model.rstrip("/").rsplit("/", 1)[-1]):
        raise JobFailure("model_unavailable", f"this worker serves {loaded.model!r}, not {model!r}")
    # pre_inference refuses these at submit; checked again for jobs published by other means.
    try:
        check_job(params, loaded.profile)
    except LimitError as exc:
        raise JobFailure("invalid_params", str(exc)) from exc
    try:
        loras.check(params, library or {}, loaded.profile.family)
    except LoraError as exc:
        raise JobFailure("invalid_params", str(exc)) from exc


def batch_key(params: dict[str, Any]) -> tuple | None:
    """Jobs with equal keys can share one pipeline call; None: this job runs alone."""
    if params["kind"] != "txt2img":
        return None
    # LoRAs are set on the pipeline for a whole call: only jobs with the same set at the same
    # weights may share one.
    return (params["model"], params["width"], params["height"], params["steps"], params["scheduler"], float(params["guidance"]),
            loras.requested(params))


def encode_png(image: Any, text: dict[str, str]) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    # Level 3: about 2.5x faster than Pillow's default 6 for ~5% larger files; this runs on the
    # GPU thread between batches, so its time is GPU time lost.
    image.save(buffer, format="PNG", pnginfo=info, compress_level=3)
    return buffer.getvalue()


def _is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError)) or "out of memory" in str(exc).lower()


def _read_image(storage: Storage, key: str, mode: str, size: tuple[int, int]) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        data = storage.get_bytes(key)
    except KeyError as exc:  # ObjectNotFound
        raise JobFailure("input_missing", f"input image {key!r} does not exist") from exc
    except ValueError as exc:  # InvalidKey
        raise JobFailure("invalid_params", f"invalid input image key {key!r}") from exc
    except OSError as exc:
        raise JobFailure("storage_error", f"cannot read input image {key!r}: {exc}") from exc
    if len(data) > MAX_INPUT_BYTES:
        raise JobFailure("invalid_input", f"input image {key!r} is larger than {MAX_INPUT_BYTES // 2**20} MiB")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise JobFailure("invalid_input", f"input {key!r} is not a readable image: {exc}") from exc
    # The job's size wins: the picture is resized to it (the tier allowed that size, not the upload's).
    return image.convert(mode).resize(size, Image.Resampling.LANCZOS)


def load_inputs(params: dict[str, Any], storage: Storage | None) -> dict[str, Any]:
    """Pipeline keyword arguments for img2img/inpaint: the init image, the mask, the strength."""
    if params["kind"] == "txt2img":
        return {}
    if storage is None:
        raise JobFailure("invalid_params", f"{params['kind']} needs storage to read its input from")
    size = (params["width"], params["height"])
    strength = params.get("strength")
    inputs: dict[str, Any] = {"image": _read_image(storage, params["init_image_key"], "RGB", size),
                              "strength": DEFAULT_STRENGTH if strength is None else float(strength)}
    if params["kind"] == "inpaint":
        inputs["mask_image"] = _read_image(storage, params["mask_key"], "L", size)  # white = repaint
    return inputs


def generate_batch(
    loaded: LoadedPipeline,
    batch: list[dict[str, Any]],
    *,
    inputs: dict[str, Any] | None = None,
    on_step: Callable[[int, int], None] | None = None,
    should_stop: CancelFn | None = None,
    time_limit_s: float | None = None,
    on_latents: LatentsFn | None = None,
    library: dict[str, LoraFile] | None = None,
) -> list[list[tuple[Any, int]]]:
    """One pipeline call for jobs sharing a batch_key (or one job of any kind with its inputs).

    Returns, per job, (PIL image, seed) pairs. Image i of a job is made from seed+i with its
    own CPU generator, so it is the same picture whether the job ran alone or batched.
    ``on_latents`` gets each step's latents (asked of the pipeline only when it is given).
    """
    import torch

    first = batch[0]
    try:
        loaded.use_scheduler(first["scheduler"])
    except UnknownScheduler as exc:
        raise JobFailure("invalid_params", str(exc)) from exc
    try:
        loaded.adapters.apply(loaded.pipe, loras.requested(first), library or {})
    except LoraError as exc:
        raise JobFailure("invalid_params", str(exc)) from exc
    seeds = [[params["seed"] + i for i in range(params["n"])] for params in batch]
    flat_seeds = [seed for job_seeds in seeds for seed in job_seeds]
    # CPU generators: the same seed gives the same starting noise on any device.
    generators = [torch.Generator("cpu").manual_seed(seed) for seed in flat_seeds]
    started = time.monotonic()

    def step_end(pipe: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
        if should_stop is not None and should_stop():
            raise JobCanceled()
        if time_limit_s is not None and time.monotonic() - started > time_limit_s:
            raise JobTimeLimit(time_limit_s)
        if on_step is not None:
            on_step(step + 1, getattr(pipe, "num_timesteps", None) or first["steps"])
        if on_latents is not None and "latents" in callback_kwargs:
            on_latents(callback_kwargs["latents"])
        return callback_kwargs

    if len(batch) == 1:
        prompt_args = {"prompt": first["prompt"], "negative_prompt": first["negative_prompt"] or None,
                       "num_images_per_prompt": first["n"]}
    else:
        # One prompt per image; "" as the negative prompt is what None means to diffusers.
        prompt_args = {"prompt": [p["prompt"] for p in batch for _ in range(p["n"])],
                       "negative_prompt": [p["negative_prompt"] for p in batch for _ in range(p["n"])],
                       "num_images_per_prompt": 1}
    call = loaded.variant(first["kind"])
    # SD's img2img takes its size from the (resized) init image and has no width; FLUX's has one
    # and would otherwise make its native 1024 px.
    if first["kind"] != "img2img" or _takes(call, "width"):
        prompt_args.update(width=first["width"], height=first["height"])
    if not loaded.profile.limits.negative_prompt:
        prompt_args.pop("negative_prompt")  # LCM's pipeline has no such argument; FLUX's means true CFG
    try:
        with torch.inference_mode():
            output = call(
                **prompt_args,
                **(inputs or {}),
                num_inference_steps=first["steps"],
                guidance_scale=first["guidance"],
                generator=generators,
                callback_on_step_end=step_end,
                callback_on_step_end_tensor_inputs=["latents"] if on_latents is not None else [],
                output_type="pil",
            )
    except JobFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the model is reported, never swallowed
        if _is_oom(exc):
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            raise JobFailure("out_of_memory", f"not enough memory for {len(flat_seeds)}x{first['width']}x{first['height']}: {exc}") from exc
        raise JobFailure("generation_error", f"{type(exc).__name__}: {exc}") from exc
    images = iter(output.images)
    return [[(next(images), seed) for seed in job_seeds] for job_seeds in seeds]


def _takes(pipe: Any, argument: str) -> bool:
    import inspect

    return argument in inspect.signature(pipe.__call__).parameters


def generate(
    loaded: LoadedPipeline,
    params: dict[str, Any],
    *,
    storage: Storage | None = None,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    time_limit_s: float | None = None,
    on_latents: LatentsFn | None = None,
    library: dict[str, LoraFile] | None = None,
) -> list[tuple[Any, int]]:
    """Returns (PIL image, seed) pairs; image i is made from seed+i, so each is reproducible alone."""
    inputs = load_inputs(params, storage)
    return generate_batch(loaded, [params], inputs=inputs, on_step=on_progress, should_stop=should_cancel,
                          time_limit_s=time_limit_s, on_latents=on_latents, library=library)[0]


def store_images(data: dict[str, Any], pairs: list[tuple[Any, int]], loaded: LoadedPipeline, storage: Storage) -> list[dict[str, Any]]:
    job_id, params = data["job_id"], data["params"]
    images = []
    for index, (image, seed) in enumerate(pairs):
        image_params = {**params, "seed": seed, "batch_seed": params["seed"], "index": index,
                        "model": loaded.model, "tiny_model": loaded.tiny}
        metadata = {"job_id": job_id, "user_id": data.get("user_id"), "params": image_params}
        png = encode_png(image, {"parameters": json.dumps(image_params, sort_keys=True), "seed": str(seed),
                                 "job_id": job_id, "software": "atelier-inference"})
        key = image_key(job_id, index)
        try:
            storage.put_bytes(key, png, content_type="image/png", metadata=metadata)
        except OSError as exc:
            raise JobFailure("storage_error", f"cannot store {key}: {exc}") from exc
        images.append({"key": key, "seed": seed, "width": image.width, "height": image.height, "content_type": "image/png"})
    return images


def run_job(
    data: dict[str, Any],
    loaded: LoadedPipeline,
    storage: Storage,
    *,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    load_ms: float = 0.0,
    time_limit_s: float | None = None,
    on_latents: LatentsFn | None = None,
    library: dict[str, LoraFile] | None = None,
) -> JobResult:
    params = data["params"]
    check_params(params, loaded, library)
    started = time.perf_counter()
    pairs = generate(loaded, params, storage=storage, on_progress=on_progress, should_cancel=should_cancel,
                     time_limit_s=time_limit_s, on_latents=on_latents, library=library)
    generated = time.perf_counter()
    images = store_images(data, pairs, loaded, storage)
    return JobResult(images=images, timings_ms={
        "load": round(load_ms, 1),
        "generate": round((generated - started) * 1000, 1),
        "store": round((time.perf_counter() - generated) * 1000, 1),
    })


def run_batch(
    batch: list[dict[str, Any]],
    loaded: LoadedPipeline,
    storage: Storage,
    *,
    on_progress: Callable[[str, int, int], None] | None = None,
    is_canceled: Callable[[str], bool] | None = None,
    load_ms: float = 0.0,
    time_limit_s: float | None = None,
    on_latents: BatchLatentsFn | None = None,
    library: dict[str, LoraFile] | None = None,
) -> list[JobResult | JobFailure]:
    """Jobs sharing a batch_key in one call; one outcome per job, in order.

    The call stops early only when every job in it is canceled; a job canceled while the
    others go on is reported canceled and its images are not stored.
    """
    first_images, index = {}, 0
    for data in batch:
        first_images[data["job_id"]] = index
        index += data["params"]["n"]
    step_latents = None if on_latents is None else (lambda latents: on_latents(first_images, latents))
    if len(batch) == 1:
        try:
            return [run_job(batch[0], loaded, storage, load_ms=load_ms, time_limit_s=time_limit_s, on_latents=step_latents,
                            library=library,
                            on_progress=None if on_progress is None else (lambda s, t: on_progress(batch[0]["job_id"], s, t)),
                            should_cancel=None if is_canceled is None else (lambda: is_canceled(batch[0]["job_id"])))]
        except JobFailure as failure:
            return [failure]
    ids = [data["job_id"] for data in batch]
    for data in batch:
        check_params(data["params"], loaded, library)  # the caller checked; a mismatch here is a bug, not a job failure
        if batch_key(data["params"]) != batch_key(batch[0]["params"]):
            raise ValueError("run_batch got jobs that cannot share a call")

    def on_step(step: int, total: int) -> None:
        if on_progress is not None:
            for job_id in ids:
                on_progress(job_id, step, total)

    started = time.perf_counter()
    try:
        per_job = generate_batch(loaded, [d["params"] for d in batch], on_step=on_step, time_limit_s=time_limit_s,
                                 on_latents=step_latents, library=library,
                                 should_stop=None if is_canceled is None else (lambda: all(map(is_canceled, ids))))
    except JobFailure as failure:
        return [failure for _ in batch]
    generated = time.perf_counter()
    outcomes: list[JobResult | JobFailure] = []
    for data, pairs in zip(batch, per_job):
        if is_canceled is not None and is_canceled(data["job_id"]):
            outcomes.append(JobCanceled())
            continue
        before = time.perf_counter()
        try:
            images = store_images(data, pairs, loaded, storage)
        except JobFailure as failure:
            outcomes.append(failure)
            continue
        outcomes.append(JobResult(images=images, timings_ms={
            "load": round(load_ms, 1), "generate": round((generated - started) * 1000, 1),
            "store": round((time.perf_counter() - before) * 1000, 1), "batch_jobs": len(batch),
        }))
    return outcomes
