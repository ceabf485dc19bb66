"""What a job may ask for, how it is filled in, and how urgent it is.

Limits here are the platform-wide bounds; per-tier limits (size, steps, rate, quota) are
checked later against a TierPolicy and must stay inside these.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

KINDS = ("txt2img", "img2img", "inpaint")
# Kinds that start from an image, and those that also need a mask.
NEEDS_INIT_IMAGE = frozenset({"img2img", "inpaint"})
NEEDS_MASK = frozenset({"inpaint"})
STRENGTH_DEFAULT = 0.75

PROMPT_MAX_CHARS = 2000
# Plausibility bounds only: what a caller may actually have is its tier's limit
# (app.domain.policy), so a 4096 px request is refused as `exceeds_tier`, naming the field.
SIDE_MIN, SIDE_MAX, SIDE_MULTIPLE = 64, 8192, 8
STEPS_MIN, STEPS_MAX = 1, 1000
GUIDANCE_MIN, GUIDANCE_MAX = 0.0, 30.0
N_MIN, N_MAX = 1, 64
IMAGE_REF_MAX_CHARS = 16 * 1024 * 1024
SEED_MAX = 2**32 - 1
SCHEDULER_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
# Segments joined by single dots or slashes: names like "tiny-sd/v1.0", never "../x".
MODEL_PATTERN = r"^[A-Za-z0-9_\-]+(?:[./][A-Za-z0-9_\-]+)*$"
MODEL_MAX_CHARS = 200
IDEMPOTENCY_KEY_MAX_CHARS = 128
# LoRA adapters per job, their weights, and their names (a file name of a worker's LoRA folder);
# the bounds of inference.job.requested v2. Which names exist is the catalogue's to say.
LORAS_MAX = 4
LORA_WEIGHT_MIN, LORA_WEIGHT_MAX = -2.0, 2.0
LORA_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*$")
LORA_NAME_MAX_CHARS = 128

DEFAULTS: dict[str, Any] = {
    "negative_prompt": "",
    "width": 512,
    "height": 512,
    "steps": 20,
    "guidance": 7.5,
    "scheduler": "default",
    "n": 1,
    "model": "default",
    "strength": STRENGTH_DEFAULT,
}



class JobRuleError(Exception):
    """A request the rules refuse; ``code`` is the machine-readable reason."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class JobParams:
    """Everything needed to reproduce an image; stored with the job and sent to the worker."""

    kind: str
    prompt: str
    negative_prompt: str
    width: int
    height: int
    steps: int
    guidance: float
    seed: int
    scheduler: str
    n: int
    model: str
    # Storage keys of the uploaded/referenced images (img2img, inpaint), set by the API
    # after it stored them; how far img2img may move away from the init image.
    init_image_key: str | None = None
    mask_key: str | None = None
    strength: float = STRENGTH_DEFAULT
    # ({"name", "weight"}, ...): LoRA adapters the worker applies for this job, in this order.
    loras: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Without LoRAs the dict has no `loras` at all: it is then an inference.job.requested v1
        job, which a worker of any version runs."""
        values = asdict(self)
        loras = values.pop("loras")
        if loras:
            values["loras"] = [dict(lora) for lora in loras]
        return values


def random_seed() -> int:
    return secrets.randbelow(SEED_MAX + 1)


def build_params(requested: dict[str, Any], *, seed_source=random_seed, defaults: dict[str, Any] | None = None) -> JobParams:
    """Fill defaults and a seed into an already shape-checked request. ``defaults``: the model
    family's own (native size, steps, guidance: app.domain.catalogue.defaults_for) over DEFAULTS.

    The seed is drawn here (not by the worker) so that it is stored with the job and a
    retried or re-run job gives the same image.
    """
    kind = requested.get("kind")
    if kind not in KINDS:
        raise JobRuleError("validation_error", f"kind must be one of {', '.join(KINDS)}", "kind")
    prompt = requested.get("prompt") or ""
    if not prompt.strip():
        raise JobRuleError("validation_error", "prompt must not be blank", "prompt")
    if kind in NEEDS_INIT_IMAGE and not requested.get("init_image"):
        raise JobRuleError("validation_error", f"{kind} needs an init_image", "init_image")
    if kind in NEEDS_MASK and not requested.get("mask"):
        raise JobRuleError("validation_error", "inpaint needs a mask", "mask")
    if kind not in NEEDS_INIT_IMAGE and requested.get("init_image"):
        raise JobRuleError("validation_error", "only img2img and inpaint take an init_image", "init_image")
    if kind not in NEEDS_MASK and requested.get("mask"):
        raise JobRuleError("validation_error", "only inpaint takes a mask", "mask")
    values = {**DEFAULTS, **(defaults or {}), **{k: v for k, v in requested.items() if v is not None}}
    if values.get("seed") is None:
        values["seed"] = seed_source()
    for side in ("width", "height"):
        check_side(side, values[side])
    if kind in NEEDS_INIT_IMAGE and int(int(values["steps"]) * float(values["strength"])) < 1:
        # An image-to-image job denoises int(steps * strength) steps; at none, SD 1.x, 2.x and
        # SDXL fail inside diffusers, so the job is refused here rather than failed at the worker.
        raise JobRuleError("validation_error", f"at strength {values['strength']} a job of {values['steps']} steps runs no step "
                           "(steps x strength is under 1): raise the strength or the steps", "strength")
    return JobParams(
        kind=kind,
        prompt=prompt,
        negative_prompt=values["negative_prompt"],
        width=int(values["width"]),
        height=int(values["height"]),
        steps=int(values["steps"]),
        guidance=float(values["guidance"]),
        seed=int(values["seed"]),
        scheduler=values["scheduler"],
        n=int(values["n"]),
        model=values["model"],
        strength=float(values["strength"]),
        loras=check_loras(values.get("loras") or ()),
    )


def check_loras(loras: Any) -> tuple[dict[str, Any], ...]:
    """The job's LoRAs, each named once, at a weight in range (naming the field, as ``loras[i].weight``)."""
    loras = [dict(lora) for lora in loras]
    if len(loras) > LORAS_MAX:
        raise JobRuleError("validation_error", f"at most {LORAS_MAX} LoRAs per job", "loras")
    seen: set[str] = set()
    for index, lora in enumerate(loras):
        name, weight = lora["name"], float(lora["weight"])
        if not LORA_NAME_PATTERN.match(name) or len(name) > LORA_NAME_MAX_CHARS:
            raise JobRuleError("validation_error", f"a LoRA name is 1 to {LORA_NAME_MAX_CHARS} letters, digits, _ and -, "
                               "joined by single dots", f"loras[{index}].name")
        if name in seen:
            raise JobRuleError("validation_error", f"LoRA {name!r} is named twice", f"loras[{index}].name")
        if not LORA_WEIGHT_MIN <= weight <= LORA_WEIGHT_MAX:
            raise JobRuleError("validation_error", f"a LoRA weight is between {LORA_WEIGHT_MIN:g} and {LORA_WEIGHT_MAX:g}",
                               f"loras[{index}].weight")
        seen.add(name)
        lora["weight"] = weight
    return tuple(loras)


def check_side(name: str, value: int) -> int:
    if not SIDE_MIN <= value <= SIDE_MAX:
        raise JobRuleError("validation_error", f"{name} must be between {SIDE_MIN} and {SIDE_MAX}", name)
    if value % SIDE_MULTIPLE:
        raise JobRuleError("validation_error", f"{name} must be a multiple of {SIDE_MULTIPLE}", name)
    return value


def deadline_for(created_at: datetime, deadline_s: int) -> datetime:
    """After this the worker drops the job as stale instead of running it."""
    return created_at + timedelta(seconds=deadline_s)


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_CHARS or not key.isprintable() or not key.isascii():
        raise JobRuleError(
            "validation_error",
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_CHARS} printable ASCII characters",
            "Idempotency-Key",
        )
    return key
