"""Model families the worker can serve, and what each one may be asked for.

A family is a diffusers pipeline class (``model_index.json``'s ``_class_name``) together with
its own defaults and limits; a variant is a distilled few-step model of that family (Turbo,
schnell, LCM), which changes the steps and guidance it is made for. The worker announces each
model's limits on its heartbeat (``inference.worker.heartbeat`` v1); pre_inference enforces
them at submit, and the worker checks them again before running a job.

Loading goes through diffusers' auto pipelines (AutoPipelineForText2Image, ...ForImage2Image,
...ForInpainting), which know each family's classes; ``kinds`` lists only what the installed
diffusers maps for that family.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

ALL_KINDS = ("txt2img", "img2img", "inpaint")
BASE = "base"


@dataclass(frozen=True)
class Limits:
    native_size: int          # the side the model was trained at (the default width and height)
    max_size: int             # the largest side it is offered at
    size_multiple: int        # width and height must be multiples of this (VAE factor x patch size)
    default_steps: int
    max_steps: int
    default_guidance: float
    max_guidance: float       # 0: the model is distilled to run without classifier-free guidance
    negative_prompt: bool     # False: the model has none (FLUX) or ignores it (no guidance)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Family:
    name: str
    label: str
    pipeline_classes: tuple[str, ...]  # model_index.json _class_name values that mean this family
    kinds: tuple[str, ...]
    limits: Limits
    variants: dict[str, tuple[Limits, tuple[str, ...]]]  # few-step variant -> (limits, kinds)
    # Samplers a job may pick besides "default" (the model's own). SD3 and FLUX are flow-matching
    # models: the DDPM-family samplers do not apply to them.
    schedulers: tuple[str, ...] = ("ddim", "euler", "euler_a", "dpm++", "pndm", "lms")
    # The dtype on CUDA: the one the family is published and run in. FLUX.1 and SD 3.5 are
    # bfloat16 models (their activations overflow float16 with trained weights); the UNet
    # families run in float16 (SDXL's VAE upcasts itself to decode).
    cuda_dtype: str = "float16"

    def limits_for(self, variant: str) -> Limits:
        return self.variants[variant][0] if variant in self.variants else self.limits

    def kinds_for(self, variant: str) -> tuple[str, ...]:
        return self.variants[variant][1] if variant in self.variants else self.kinds


def _few_step(limits: Limits, *, native: int | None = None, guidance: float = 0.0, max_guidance: float = 0.0,
              default_steps: int = 4, max_steps: int = 8) -> Limits:
    """A distilled variant: 1-8 steps; turbo and schnell run without guidance (so no negative prompt)."""
    return replace(limits, native_size=native or limits.native_size, default_steps=default_steps, max_steps=max_steps,
                   default_guidance=guidance, max_guidance=max_guidance, negative_prompt=False)


_SD1 = Limits(native_size=512, max_size=1024, size_multiple=8, default_steps=20, max_steps=150,
              default_guidance=7.5, max_guidance=30.0, negative_prompt=True)
_SD2 = replace(_SD1, native_size=768)
_SDXL = replace(_SD1, native_size=1024, max_size=2048, default_steps=30)
# SD3's transformer works on 2x2 patches of the 8x latents: sides are multiples of 16.
_SD3 = replace(_SD1, native_size=1024, max_size=2048, size_multiple=16, default_steps=28, default_guidance=7.0)
# FLUX.1 [dev] embeds guidance instead of running two passes, and has no negative prompt.
_FLUX = Limits(native_size=1024, max_size=2048, size_multiple=16, default_steps=28, max_steps=150,
               default_guidance=3.5, max_guidance=10.0, negative_prompt=False)
# LCM models take a guidance embedding (about 1-8) instead of classifier-free guidance.
_LCM_KINDS = ("txt2img", "img2img")

FAMILIES: dict[str, Family] = {family.name: family for family in (
    Family("sd1", "Stable Diffusion 1.x", ("StableDiffusionPipeline", "LatentConsistencyModelPipeline"), ALL_KINDS, _SD1,
           {"lcm": (_few_step(_SD1, guidance=1.0, max_guidance=8.0), _LCM_KINDS)}),
    Family("sd2", "Stable Diffusion 2.x", (), ALL_KINDS, _SD2,
           {"turbo": (_few_step(_SD2, native=512), ALL_KINDS)}),
    Family("sdxl", "Stable Diffusion XL", ("StableDiffusionXLPipeline",), ALL_KINDS, _SDXL,
           {"turbo": (_few_step(_SDXL, native=512), ALL_KINDS),
            "lcm": (_few_step(_SDXL, guidance=1.0, max_guidance=2.0), ALL_KINDS)}),
    Family("sd3", "Stable Diffusion 3.x", ("StableDiffusion3Pipeline",), ALL_KINDS, _SD3,
           {"turbo": (_few_step(_SD3, native=1024), ALL_KINDS)}, schedulers=(), cuda_dtype="bfloat16"),
    Family("flux", "FLUX.1", ("FluxPipeline",), ALL_KINDS, _FLUX,
           {"schnell": (_few_step(_FLUX, max_steps=8), ALL_KINDS)}, schedulers=(), cuda_dtype="bfloat16"),
)}
# Words in a model's folder name that mark a distilled variant (checked in this order).
VARIANT_WORDS = ("turbo", "schnell", "lcm", "lightning")


class UnknownFamily(ValueError):
    """The folder holds a pipeline class no family here knows."""


@dataclass(frozen=True)
class ModelProfile:
    """What one served model is: its family, variant, kinds and limits (the heartbeat's entry)."""
    family: str
    variant: str
    kinds: tuple[str, ...]
    limits: Limits

    @property
    def schedulers(self) -> tuple[str, ...]:
        return ("default", *FAMILIES[self.family].schedulers)

    def describe(self) -> dict[str, Any]:
        return {"family": self.family, "variant": self.variant, "kinds": list(self.kinds),
                "schedulers": list(self.schedulers), "limits": self.limits.to_dict()}


def profile(family: str, variant: str = BASE) -> ModelProfile:
    known = FAMILIES[family]
    variant = variant if variant in known.variants else BASE
    return ModelProfile(family, variant, known.kinds_for(variant), known.limits_for(variant))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def family_of_class(class_name: str, text_encoder_config: dict[str, Any] | None = None) -> str:
    """The family of a pipeline class. SD 1.x and 2.x share a class; 2.x has a 1024-wide
    OpenCLIP text encoder (1.x: 768-wide CLIP)."""
    for family in FAMILIES.values():
        if class_name in family.pipeline_classes:
            if family.name == "sd1" and (text_encoder_config or {}).get("hidden_size") == 1024:
                return "sd2"
            return family.name
    raise UnknownFamily(f"pipeline class {class_name!r} is not one of the supported families "
                        f"({', '.join(f.label for f in FAMILIES.values())})")


def _variant_of(folder: Path, family: str, index: dict[str, Any], marker: dict[str, Any]) -> str:
    if isinstance(marker.get("variant"), str):
        return marker["variant"]
    if index.get("_class_name") == "LatentConsistencyModelPipeline":
        return "lcm"
    if _read_json(folder / "scheduler" / "scheduler_config.json").get("_class_name") == "LCMScheduler":
        return "lcm"
    # FLUX.1 [schnell] is the one without a guidance embedding.
    if family == "flux" and _read_json(folder / "transformer" / "config.json").get("guidance_embeds") is False:
        return "schnell"
    name = folder.name.lower()
    for word in VARIANT_WORDS:
        if word in name and word in FAMILIES[family].variants:
            return word
    return BASE


def detect(folder: Path, marker_file: str) -> ModelProfile:
    """Family and variant of a diffusers folder, from model_index.json (and the tiny model's marker)."""
    index = _read_json(folder / "model_index.json")
    class_name = index.get("_class_name")
    if not isinstance(class_name, str):
        raise UnknownFamily(f"{folder}/model_index.json names no pipeline class")
    marker = _read_json(folder / marker_file)
    family = marker.get("family") if marker.get("family") in FAMILIES else family_of_class(
        class_name, _read_json(folder / "text_encoder" / "config.json"))
    return profile(family, _variant_of(folder, family, index, marker))


class LimitError(ValueError):
    """A job asks for more than its model's family allows; ``field`` names the parameter."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def check_job(params: dict[str, Any], model: ModelProfile) -> None:
    """The family's limits on one job's parameters (pre_inference checks the same at submit)."""
    limits = model.limits
    if params["kind"] not in model.kinds:
        raise LimitError("kind", f"{model.family} ({model.variant}) does not do {params['kind']}; it does {', '.join(model.kinds)}")
    for side in ("width", "height"):
        value = params[side]
        if value > limits.max_size:
            raise LimitError(side, f"{side} {value} is over {limits.max_size}, the most this model takes")
        if value % limits.size_multiple:
            raise LimitError(side, f"{side} must be a multiple of {limits.size_multiple} for {model.family}")
    if params["steps"] > limits.max_steps:
        raise LimitError("steps", f"steps {params['steps']} is over {limits.max_steps}, the most this model takes")
    if float(params["guidance"]) > limits.max_guidance:
        raise LimitError("guidance", f"guidance {params['guidance']} is over {limits.max_guidance} for this model")
    if params.get("negative_prompt") and not limits.negative_prompt:
        raise LimitError("negative_prompt", f"{model.family} ({model.variant}) takes no negative prompt")
