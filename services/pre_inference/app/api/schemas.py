"""Request and response bodies of the public API (shapes only; rules live in app.domain)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.domain import jobs as rules
from app.domain.text_rules import check_multiline, check_one_line

# Text a client sends: no NUL, no other control characters, no lone surrogates (see
# app.domain.text_rules); prompts may keep tabs and line breaks.
PromptText = Annotated[str, AfterValidator(check_multiline)]
OneLineText = Annotated[str, AfterValidator(check_one_line)]


class LoraRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    # Shape here; names, ranges and count are app.domain.jobs.check_loras's (naming loras[i].field),
    # and whether the model's workers have the LoRA is the catalogue's.
    name: OneLineText = Field(max_length=rules.LORA_NAME_MAX_CHARS, description="a LoRA GET /api/v1/models lists for the model")
    weight: float = Field(default=1.0, allow_inf_nan=False, description=f"{rules.LORA_WEIGHT_MIN:g} to {rules.LORA_WEIGHT_MAX:g}; default 1")


class JobRequest(BaseModel):
    # strict: "512" is not a width and true is not a step count; extra: typos are errors,
    # not silently ignored parameters.
    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Literal["txt2img", "img2img", "inpaint"]
    prompt: PromptText = Field(min_length=1, max_length=rules.PROMPT_MAX_CHARS)
    negative_prompt: PromptText | None = Field(default=None, max_length=rules.PROMPT_MAX_CHARS)
    width: int | None = Field(default=None, ge=rules.SIDE_MIN, le=rules.SIDE_MAX, multiple_of=rules.SIDE_MULTIPLE)
    height: int | None = Field(default=None, ge=rules.SIDE_MIN, le=rules.SIDE_MAX, multiple_of=rules.SIDE_MULTIPLE)
    steps: int | None = Field(default=None, ge=rules.STEPS_MIN, le=rules.STEPS_MAX)
    guidance: float | None = Field(default=None, ge=rules.GUIDANCE_MIN, le=rules.GUIDANCE_MAX, allow_inf_nan=False)
    seed: int | None = Field(default=None, ge=0, le=rules.SEED_MAX)
    scheduler: OneLineText | None = Field(default=None, pattern=rules.SCHEDULER_PATTERN)
    n: int | None = Field(default=None, ge=rules.N_MIN, le=rules.N_MAX)
    model: OneLineText | None = Field(default=None, max_length=rules.MODEL_MAX_CHARS, pattern=rules.MODEL_PATTERN)
    init_image: OneLineText | None = Field(
        default=None, max_length=rules.IMAGE_REF_MAX_CHARS,
        description="img2img/inpaint: a data:image/png|jpeg|webp;base64 URL (8 MiB decoded at most) or the id of one of your images.",
    )
    mask: OneLineText | None = Field(default=None, max_length=rules.IMAGE_REF_MAX_CHARS, description="inpaint: like init_image; white is repainted.")
    # > 0: a strength of 0 would return the init image unchanged (the worker refuses it).
    strength: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False, description="img2img/inpaint, in (0, 1]; default 0.75.")
    # 64: a bound on what is parsed at all; the rule (at most rules.LORAS_MAX) is the domain's.
    loras: list[LoraRequest] | None = Field(default=None, max_length=64,
                                            description=f"LoRA adapters to apply, at most {rules.LORAS_MAX}.")


class ImageOut(BaseModel):
    id: uuid.UUID
    url: str
    seed: int
    width: int
    height: int


class JobErrorOut(BaseModel):
    code: str
    message: str


class JobOut(BaseModel):
    id: uuid.UUID
    status: Literal["queued", "running", "succeeded", "failed", "canceled"]
    phase: Literal["queued", "warming_up", "running", "succeeded", "failed", "canceled"]
    queue_position: int | None = Field(description="Queued jobs that will be served before this one; null unless queued.")
    step: int | None = None
    total_steps: int | None = None
    progress: float = Field(ge=0, le=1)
    images: list[ImageOut]
    error: JobErrorOut | None = None
    params: dict[str, Any]
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null on the last page.")


class GalleryImage(BaseModel):
    id: uuid.UUID
    job_id: uuid.UUID
    url: str
    seed: int
    width: int
    height: int
    params: dict[str, Any]
    created_at: datetime


class ImagePage(BaseModel):
    items: list[GalleryImage]
    next_cursor: str | None


class UsageLimits(BaseModel):
    requests_per_minute: int
    images_per_day: int
    concurrency: int
    max_width: int
    max_height: int
    max_steps: int


class UsageRemaining(BaseModel):
    requests_this_minute: int
    images_today: int
    credits: int
    concurrent_jobs: int


class UsageResets(BaseModel):
    minute: datetime
    day: datetime


class UsageOut(BaseModel):
    tier: str
    limits: UsageLimits
    remaining: UsageRemaining
    resets_at: UsageResets


class TierOut(BaseModel):
    tier: str
    cost_units_per_minute: int = Field(description="the rate limit, in cost units (see cost_unit)")
    images_per_day: int
    max_width: int
    max_height: int
    max_steps: int
    max_n: int = Field(description="images per job")
    concurrency: int = Field(description="jobs queued or running at once")
    priority: int = Field(description="higher runs first when the queue is busy")
    per_key: bool = Field(description="limits count per API key rather than per user")


class CostUnit(BaseModel):
    """One cost unit is one image of this size and step count; a job costs
    width*height/(cost_unit.width*cost_unit.height) * denoised/cost_unit.steps * n, at least 1,
    where denoised is steps for txt2img and int(steps*strength) for img2img and inpaint (the
    steps the worker runs)."""

    width: int
    height: int
    steps: int


class TiersOut(BaseModel):
    tiers: list[TierOut]
    cost_unit: CostUnit


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None
    retry_after: int | None = Field(default=None, description="429 only: seconds to wait (also in Retry-After).")


class ErrorOut(BaseModel):
    error: ErrorBody


class ModelLimitsOut(BaseModel):
    native_size: int = Field(description="the side the model was made for: the default width and height")
    max_size: int = Field(description="the largest width or height it takes")
    size_multiple: int = Field(description="width and height must be multiples of this")
    default_steps: int
    max_steps: int
    default_guidance: float
    max_guidance: float = Field(description="0: a distilled model that runs without guidance")
    negative_prompt: bool = Field(description="whether it takes a negative prompt (FLUX does not)")


class ModelOut(BaseModel):
    name: str = Field(description="what a job's `model` field names")
    state: Literal["ready", "cold", "unavailable"] = Field(
        description="ready: loaded on a live worker; cold: served, loads with the first job; unavailable: no live worker serves it")
    family: str = Field(description="sd1, sd2, sdxl, sd3 or flux")
    variant: str = Field(description="base, or a few-step variant: turbo, schnell, lcm")
    kinds: list[Literal["txt2img", "img2img", "inpaint"]]
    schedulers: list[str] | None = Field(description="the schedulers it runs (null: any)")
    limits: ModelLimitsOut
    tiers: list[str] = Field(description="the tiers that may use it")
    loras: list[str] = Field(default_factory=list, description="LoRA adapters a job for it may name (`loras[].name`)")
    allowed: bool = Field(description="whether the caller's tier may use it")


class ModelsOut(BaseModel):
    models: list[ModelOut]
