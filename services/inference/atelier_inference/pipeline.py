"""Loading a diffusers pipeline and choosing its scheduler.

The family (SD 1.x/2.x, SDXL, SD3, FLUX.1; families.py) of a diffusers folder comes from its
model_index.json, and every family loads through diffusers' auto pipelines (img2img and
inpainting from the text-to-image pipeline's own modules). ATELIER_MODEL may be a local diffusers folder, a single .safetensors/.ckpt checkpoint or
a hub id (only where the machine can reach the hub). CUDA runs in float16 with PyTorch's
scaled-dot-product attention (diffusers' default processor on torch 2); the CPU runs
float32, because float16 on CPU is slow and some kernels are missing.

ATELIER_MODEL=null loads the null model instead (development and benchmarks only; production
refuses it): no weights, no diffusers, and a call that returns plain images of the asked size at
once, so everything around the model (consuming, events, PNG, storage) runs as with a real one.
"""
from __future__ import annotations

import json
import logging
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from . import families
from .config import NULL_MODEL, is_null_model
from .families import ModelProfile
from .loras import AdapterCache
from .tiny_model import MARKER_FILE

log = logging.getLogger("atelier.inference.pipeline")

SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")
# name -> (diffusers class name, config overrides); "default" keeps the model's own.
SCHEDULERS: dict[str, tuple[str, dict[str, Any]] | None] = {
    "default": None,
    "ddim": ("DDIMScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "dpm++": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}),
    # Stable Diffusion runs PNDM as PLMS; the Runge-Kutta warm-up needs many steps.
    "pndm": ("PNDMScheduler", {"skip_prk_steps": True}),
    "lms": ("LMSDiscreteScheduler", {}),
}


class ModelLoadError(RuntimeError):
    """The model cannot be loaded; the worker cannot serve and says why."""


class UnknownScheduler(ValueError):
    pass


def select_runtime(requested: str | None, cuda_available: bool, cuda_dtype: str = "float16",
                   bf16_supported: bool = True) -> tuple[str, str]:
    """(device, dtype name): CUDA when present or asked for, in the family's dtype (bfloat16 only
    where the GPU has it, else float16: pre-Ampere cards emulate it slowly), else the CPU in float32."""
    device = (requested or "").strip() or ("cuda" if cuda_available else "cpu")
    if device.startswith("cuda") and not cuda_available:
        raise ModelLoadError(f"device {device!r} was asked for but CUDA is not available")
    if not (device == "cpu" or device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())):
        raise ModelLoadError(f"unknown device {device!r}; use cpu, cuda or cuda:N")
    if device == "cpu":
        return device, "float32"
    return device, ("float16" if cuda_dtype == "bfloat16" and not bf16_supported else cuda_dtype)


def cpu_threads_for(requested: int | None, cores: int) -> int:
    """What the worker gives torch on the CPU: as asked, else every core but one."""
    return requested if requested else max(1, cores - 1)


def limit_cpu_threads(requested_device: str | None, requested_threads: int | None) -> int | None:
    """Sets torch's intra-op threads when the model will run on the CPU; returns the number
    (None on CUDA, or when the device is invalid: loading reports that)."""
    import torch

    try:
        device, _ = pick_device(requested_device)
    except ModelLoadError:
        return None
    if device != "cpu":
        return None
    threads = cpu_threads_for(requested_threads, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    return threads


def pick_device(requested: str | None = None, cuda_dtype: str = "float16") -> tuple[str, Any]:
    import torch

    cuda = torch.cuda.is_available()
    device, dtype = select_runtime(requested, cuda, cuda_dtype, bf16_supported=cuda and torch.cuda.is_bf16_supported())
    return device, getattr(torch, dtype)


def _use_fast_kernels(pipe: Any, device: str) -> None:
    """SDPA attention (flash / memory-efficient kernels on CUDA) and TF32 matmuls where they exist."""
    import torch
    import torch.nn.functional as F

    # The transformers of SD3 and FLUX already default to their own SDPA processors.
    if hasattr(F, "scaled_dot_product_attention"):
        from diffusers.models.attention_processor import AttnProcessor2_0

        for name in ("unet", "vae"):
            if getattr(pipe, name, None) is not None:
                getattr(pipe, name).set_attn_processor(AttnProcessor2_0())
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def _is_tiny(location: Path) -> bool:
    marker = location / MARKER_FILE
    if not marker.is_file():
        return False
    try:
        return bool(json.loads(marker.read_text()).get("tiny"))
    except (OSError, ValueError):
        return False


def profile_of(model: str) -> ModelProfile:
    """Family, variant, kinds and limits of a model, without loading it (the heartbeat announces
    models not loaded yet). A single file or a hub id is taken as SD 1.x, as it is loaded."""
    if is_null_model(model):
        return families.profile("sd1")
    path = Path(model).expanduser()
    if path.is_dir() and (path / "model_index.json").is_file():
        try:
            return families.detect(path, MARKER_FILE)
        except families.UnknownFamily as exc:
            raise ModelLoadError(str(exc)) from exc
    return families.profile("sd1")


def _from_location(model: str, dtype: Any) -> tuple[Any, bool]:
    from diffusers import AutoPipelineForText2Image, StableDiffusionPipeline

    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise ModelLoadError(f"{path} is not a diffusers folder (no model_index.json); build the tiny model with "
                                 "`python -m atelier_inference.tiny_model` or point ATELIER_MODEL at a real one")
        return AutoPipelineForText2Image.from_pretrained(str(path), dtype=dtype, local_files_only=True), _is_tiny(path)
    if path.suffix in SINGLE_FILE_SUFFIXES:
        if not path.is_file():
            raise ModelLoadError(f"checkpoint {path} does not exist")
        try:
            return StableDiffusionPipeline.from_single_file(str(path), dtype=dtype), False
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot load checkpoint {path}: {exc} (a single file needs its base config, "
                                 "which is fetched from the hub unless cached)") from exc
    if path.is_absolute() or model.startswith((".", "~")) or model.count("/") != 1:
        raise ModelLoadError(f"model {model!r} is neither an existing folder, a .safetensors/.ckpt file nor a hub id "
                             "(owner/name); build the tiny one with `python -m atelier_inference.tiny_model`")
    if os.environ.get("HF_HUB_OFFLINE") in {"1", "true", "True"}:
        raise ModelLoadError(f"{model!r} is a hub id but HF_HUB_OFFLINE is set; download it first or use a local folder")
    try:
        return StableDiffusionPipeline.from_pretrained(model, dtype=dtype), False
    except OSError as exc:
        raise ModelLoadError(f"cannot fetch {model!r} from the hub (is this machine online?): {exc}") from exc


@dataclass
class LoadedPipeline:
    pipe: Any
    model: str
    device: str
    dtype: Any
    tiny: bool
    load_ms: float
    compiled: bool = False
    name: str = "default"  # what jobs call it (the worker's catalogue name)
    profile: ModelProfile = field(default_factory=lambda: families.profile("sd1"))
    # LoRA adapters loaded into this pipeline's modules (dropped with it when the model unloads).
    adapters: AdapterCache = field(default_factory=AdapterCache)
    _base_scheduler_config: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._base_scheduler_config = self.pipe.scheduler.config
        self._base_scheduler = self.pipe.scheduler
        self._variants: dict[str, Any] = {"txt2img": self.pipe}

    def use_scheduler(self, name: str) -> None:
        """Switch the sampler for the next call. Schedulers are cheap to build from a config."""
        if name in SCHEDULERS and name not in self.profile.schedulers:
            raise UnknownScheduler(f"scheduler {name!r} does not fit {self.profile.family}; it runs its own (default)")
        self.pipe.scheduler = make_scheduler(name, self._base_scheduler_config, default=self._base_scheduler)

    def variant(self, kind: str) -> Any:
        """The pipeline for a job kind, sharing this one's modules: no second copy of the weights.
        diffusers' auto pipelines pick the family's img2img/inpaint class; made once per kind."""
        pipe = self._variants.get(kind)
        if pipe is None:
            import diffusers

            cls = {"img2img": diffusers.AutoPipelineForImage2Image, "inpaint": diffusers.AutoPipelineForInpainting}[kind]
            pipe = self._variants[kind] = cls.from_pipe(self.pipe)
            pipe.set_progress_bar_config(disable=True)
        # The scheduler is the one use_scheduler() just set on the main pipeline.
        pipe.scheduler = self.pipe.scheduler
        return pipe

    def describe(self) -> dict[str, Any]:
        return {"model": self.model, "device": self.device, "dtype": str(self.dtype).removeprefix("torch."),
                "tiny": self.tiny, "compiled": self.compiled, "load_ms": round(self.load_ms, 1),
                "family": self.profile.family, "variant": self.profile.variant}


class NullPipeline:
    """Stands in for a diffusers pipeline under the null model. It still calls the step callback
    once per step (progress, cancellation and the time limit behave as with a real model) and
    returns one plain image per requested image, its colour drawn from that image's seed. Asked
    for latents (``callback_on_step_end_tensor_inputs``), it hands the callback a small gradient
    that fades in over the steps, so previews are made and sent as with a real model."""

    def __init__(self) -> None:
        self.scheduler = SimpleNamespace(config={})  # what LoadedPipeline keeps to restore the default
        self.num_timesteps = 0

    def __call__(self, *, num_inference_steps: int, generator: list[Any], width: int | None = None,
                 height: int | None = None, image: Any = None, callback_on_step_end: Callable[..., Any] | None = None,
                 callback_on_step_end_tensor_inputs: list[str] | None = None, **_unused: Any) -> SimpleNamespace:
        from PIL import Image

        # img2img passes no size: like diffusers, the picture takes the (resized) init image's.
        size = (width, height) if width and height else image.size
        self.num_timesteps = num_inference_steps
        gradient = _null_latents(len(generator), size) if "latents" in (callback_on_step_end_tensor_inputs or ()) else None
        for step in range(num_inference_steps):
            if callback_on_step_end is not None:
                kwargs = {} if gradient is None else {"latents": gradient * ((step + 1) / num_inference_steps)}
                callback_on_step_end(self, step, step, kwargs)
        # generate_batch hands in one generator per requested image, seeded with that image's seed.
        return SimpleNamespace(images=[Image.new("RGB", size, _colour(g.initial_seed())) for g in generator])


def _null_latents(images: int, size: tuple[int, int]) -> Any:
    """(images, 4, h/8, w/8) latents of a diagonal gradient, at most 16 x 16 (a preview needs no more)."""
    import torch

    width, height = (max(1, min(16, side // 8)) for side in size)
    across = torch.linspace(-2.0, 2.0, width).expand(height, width)
    down = torch.linspace(-2.0, 2.0, height)[:, None].expand(height, width)
    return torch.stack([across, down, across - down, -down]).expand(images, 4, height, width)


def _colour(seed: int) -> tuple[int, int, int]:
    rng = random.Random(seed)
    return rng.randrange(256), rng.randrange(256), rng.randrange(256)


class NullLoadedPipeline(LoadedPipeline):
    """The null model: one NullPipeline serves every job kind and accepts every known scheduler
    (an unknown one still fails the job with invalid_params, as on a real model)."""

    def use_scheduler(self, name: str) -> None:
        if name not in SCHEDULERS:
            raise UnknownScheduler(f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}")

    def variant(self, kind: str) -> Any:
        return self.pipe


def load_null_pipeline() -> LoadedPipeline:
    loaded = NullLoadedPipeline(pipe=NullPipeline(), model=NULL_MODEL, device="cpu", dtype=None, tiny=False, load_ms=0.0)
    log.warning("the null model is loaded: jobs return plain images, no model runs (ATELIER_MODEL=null)")
    return loaded


def make_scheduler(name: str, base_config: Any, *, default: Any = None) -> Any:
    if name not in SCHEDULERS:
        raise UnknownScheduler(f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}")
    entry = SCHEDULERS[name]
    if entry is None:
        if default is not None:
            return default
        raise UnknownScheduler("no default scheduler to return to")
    import diffusers

    class_name, overrides = entry
    try:
        return getattr(diffusers, class_name).from_config(base_config, **overrides)
    except ImportError as exc:  # LMS needs scipy, which is optional
        raise UnknownScheduler(f"scheduler {name!r} is not available on this worker: {exc}") from exc


def _quiet_library_output() -> None:
    """Progress bars and advisory warnings would break the JSON-lines log."""
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    diffusers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()


def _maybe_compile(pipe: Any, cache_dir: Path | None) -> bool:
    """torch.compile the UNet (the hot loop). Inductor's cache on disk makes later cold starts fast."""
    import torch

    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir))
        os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    name = "unet" if getattr(pipe, "unet", None) is not None else "transformer"  # SD3 and FLUX: a transformer
    setattr(pipe, name, torch.compile(getattr(pipe, name), mode="max-autotune-no-cudagraphs", dynamic=False))
    return True


def load_pipeline(
    model: str,
    device: str | None = None,
    *,
    compile_unet: bool = False,
    compile_cache_dir: Path | None = None,
) -> LoadedPipeline:
    if is_null_model(model):
        return load_null_pipeline()
    started = time.perf_counter()
    _quiet_library_output()
    profile = profile_of(model)  # an unknown family is refused here, with the families this worker knows
    device, dtype = pick_device(device, families.FAMILIES[profile.family].cuda_dtype)
    try:
        pipe, tiny = _from_location(model, dtype)
    except ModelLoadError:
        raise
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load model {model!r}: {exc}") from exc
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    _use_fast_kernels(pipe, device)
    if getattr(pipe, "safety_checker", None) is not None:
        log.info("model ships a safety checker; it stays enabled")
    compiled = _maybe_compile(pipe, compile_cache_dir) if compile_unet else False
    loaded = LoadedPipeline(pipe=pipe, model=model, device=device, dtype=dtype, tiny=tiny,
                            load_ms=(time.perf_counter() - started) * 1000, compiled=compiled, profile=profile)
    log.info("model loaded: %s", json.dumps(loaded.describe()))
    return loaded
