"""What the native job API answers, as frozen dataclasses. Built from the JSON leniently: a
field the platform adds later is ignored, so an older client keeps working."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "canceled"})


class Lora(TypedDict, total=False):
    """A LoRA adapter for a job: ``name`` one of the model's ``Model.loras``; ``weight`` -2 to 2
    (default 1)."""

    name: str
    weight: float


class JobParams(TypedDict, total=False):
    """What ``submit``/``generate`` pass on (web_client/openapi/pre_inference.json, JobRequest);
    omitted ones take the model's defaults. ``init_image``/``mask`` may also be bytes or a path;
    ``loras`` (at most 4, applied in order) may name one by its name alone (weight 1)."""

    kind: Literal["txt2img", "img2img", "inpaint"]
    negative_prompt: str
    width: int
    height: int
    steps: int
    guidance: float
    seed: int
    scheduler: str
    n: int
    model: str
    init_image: Any
    mask: Any
    strength: float
    loras: list[Lora | str]


@dataclass(frozen=True)
class Image:
    id: str
    url: str  # signed and expiring: download it soon, or read the job again for a fresh one
    seed: int
    width: int
    height: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Image:
        return cls(id=data["id"], url=data["url"], seed=data["seed"], width=data["width"], height=data["height"])


@dataclass(frozen=True)
class JobError:
    code: str
    message: str


@dataclass(frozen=True)
class Job:
    id: str
    status: JobStatus
    phase: str
    progress: float
    images: list[Image]
    params: dict[str, Any]
    created_at: str
    queue_position: int | None = None
    step: int | None = None
    total_steps: int | None = None
    error: JobError | None = None
    started_at: str | None = None
    finished_at: str | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        error = data.get("error")
        return cls(
            id=data["id"], status=data["status"], phase=data.get("phase", data["status"]),
            progress=float(data.get("progress") or 0.0), images=[Image.from_json(i) for i in data.get("images") or []],
            params=dict(data.get("params") or {}), created_at=data["created_at"],
            queue_position=data.get("queue_position"), step=data.get("step"), total_steps=data.get("total_steps"),
            error=JobError(code=error["code"], message=error["message"]) if error else None,
            started_at=data.get("started_at"), finished_at=data.get("finished_at"),
        )


@dataclass(frozen=True)
class ModelLimits:
    native_size: int
    max_size: int
    size_multiple: int
    default_steps: int
    max_steps: int
    default_guidance: float
    max_guidance: float
    negative_prompt: bool


@dataclass(frozen=True)
class Model:
    name: str
    state: Literal["ready", "cold", "unavailable"]
    family: str
    variant: str
    kinds: list[str]
    schedulers: list[str] | None
    limits: ModelLimits
    tiers: list[str]
    allowed: bool
    loras: list[str] = field(default_factory=list)  # what a job's ``loras[].name`` may name for it

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        limits = {name: data["limits"][name] for name in ModelLimits.__dataclass_fields__}
        return cls(name=data["name"], state=data["state"], family=data["family"], variant=data["variant"],
                   kinds=list(data["kinds"]), schedulers=data.get("schedulers"), limits=ModelLimits(**limits),
                   tiers=list(data.get("tiers") or []), allowed=bool(data.get("allowed")),
                   loras=list(data.get("loras") or []))


@dataclass(frozen=True)
class Event:
    """One step of following a job: ``progress`` (the job changed, still going), ``preview``
    (``image``: a small ``data:image/jpeg;base64,...`` of the first image so far, at ``step``)
    or ``end`` (the job reached a terminal state; always the last)."""

    type: Literal["progress", "preview", "end"]
    job: Job | None = None
    step: int | None = None
    image: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
