"""The tier policy (configuration) and the rules that apply it to one request.

Cost: a job costs ``max(1, (width*height / 512²) * (denoised steps / 30) * n)`` units, so
the reference job (512x512, 30 steps, one image) costs exactly 1 and nothing costs less than
one request. The denoised steps are the steps the worker runs: all of them for txt2img;
for img2img and inpaint, which start part way down the schedule, ``int(steps * strength)``.
Rate limits are in units per minute; the daily allowance and credits are counted in images.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

from app.domain.jobs import NEEDS_INIT_IMAGE, JobParams, JobRuleError

DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[1] / "tier_policy.toml"
REFERENCE_PIXELS = 512 * 512
REFERENCE_STEPS = 30
ENV_PREFIX = "PRE_INFERENCE_TIER_"
# The policy file's table of per-model tier lists (so no tier may be called "models").
MODELS_SECTION = "models"
# Hard ceilings of the inference.job.requested contract: no policy may promise more.
CONTRACT_MAX = {"max_width": 2048, "max_height": 2048, "max_steps": 150, "max_n": 16, "priority": 10}


@dataclass(frozen=True)
class TierLimits:
    requests_per_minute: int
    images_per_day: int
    max_width: int
    max_height: int
    max_steps: int
    max_n: int
    concurrency: int
    priority: int

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> "TierLimits":
        """A key's `limits` object; unknown or ill-typed entries are ignored, not fatal,
        because auth owns that object and may add fields first."""
        if not overrides:
            return self
        names = {f.name for f in fields(self)}
        clean = {k: v for k, v in overrides.items() if k in names and isinstance(v, int) and not isinstance(v, bool) and v >= 0}
        for name, ceiling in CONTRACT_MAX.items():
            if name in clean:
                clean[name] = min(clean[name], ceiling)
        return replace(self, **clean)

    def narrowed_by(self, overrides: Mapping[str, Any] | None) -> "TierLimits":
        """Like with_overrides, but a value can only go down: what a key of a per-user
        tier may have is at most what its owner has."""
        widened = self.with_overrides(overrides)
        return TierLimits(**{f.name: min(getattr(self, f.name), getattr(widened, f.name)) for f in fields(self)})


class TierPolicy:
    def __init__(self, tiers: dict[str, TierLimits], default_tier: str = "free", per_key_tiers: frozenset[str] = frozenset(),
                 model_tiers: Mapping[str, frozenset[str]] | None = None):
        if default_tier not in tiers:
            raise ValueError(f"the policy has no {default_tier!r} tier")
        self.tiers = tiers
        self.default_tier = default_tier
        # Model name -> the tiers that may use it; a model not listed is open to every tier.
        self.model_tiers = dict(model_tiers or {})
        # Tiers whose rate limit and concurrency are counted per API key (partner, by the
        # design); every other tier's bind the user across all their keys and sessions.
        self.per_key_tiers = per_key_tiers

    def counts_per_key(self, tier: str | None) -> bool:
        known = tier if tier in self.tiers else self.default_tier
        return known in self.per_key_tiers

    def limits_for(self, tier: str | None, key_limits: Mapping[str, Any] | None = None) -> TierLimits:
        # An unknown tier gets the default's limits: auth may add a tier before we know it.
        base = self.tiers.get(tier or "", self.tiers[self.default_tier])
        return base.with_overrides(key_limits)

    def tiers_for_model(self, model: str) -> list[str]:
        allowed = self.model_tiers.get(model)
        return [tier for tier in self.tiers if allowed is None or tier in allowed]

    def model_allowed(self, model: str, tier: str | None) -> bool:
        known = tier if tier in self.tiers else self.default_tier
        return known in self.tiers_for_model(model)

    def largest(self) -> TierLimits:
        """The most any tier allows, per field (what 'no tier allows' is measured against)."""
        values = {f.name: max(getattr(t, f.name) for t in self.tiers.values()) for f in fields(TierLimits)}
        return TierLimits(**values)


def _parse_per_key(document: dict[str, Any]) -> frozenset[str]:
    """Pops each tier's optional ``per_key`` flag (a boolean, default false)."""
    per_key = set()
    for tier, values in document.items():
        flag = values.pop("per_key", False) if isinstance(values, dict) else False
        if not isinstance(flag, bool):
            raise ValueError(f"tier {tier!r}: per_key must be true or false")
        if flag:
            per_key.add(tier)
    return frozenset(per_key)


def _parse_model_tiers(document: dict[str, Any]) -> dict[str, frozenset[str]]:
    """Pops the optional ``[models."<name>"]`` tables: ``tiers = [...]``, the tiers that may use it."""
    section = document.pop(MODELS_SECTION, {})
    if not isinstance(section, dict):
        raise ValueError(f"[{MODELS_SECTION}] must be a table of models")
    model_tiers = {}
    for model, values in section.items():
        tiers = values.get("tiers") if isinstance(values, dict) else None
        if not isinstance(tiers, list) or not all(isinstance(t, str) for t in tiers) or set(values) != {"tiers"}:
            raise ValueError(f"model {model!r}: give exactly tiers = [\"tier\", ...]")
        unknown = [t for t in tiers if t not in document]
        if unknown:
            raise ValueError(f"model {model!r}: no tier named {unknown}")
        model_tiers[model] = frozenset(tiers)
    return model_tiers


def _parse_tiers(document: dict[str, Any]) -> dict[str, TierLimits]:
    names = [f.name for f in fields(TierLimits)]
    tiers = {}
    for tier, values in document.items():
        missing = [n for n in names if n not in values]
        unknown = [k for k in values if k not in names]
        if missing or unknown:
            raise ValueError(f"tier {tier!r}: missing {missing}, unknown {unknown}")
        for name in names:
            value = values[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"tier {tier!r}: {name} must be a non-negative integer")
            if name in CONTRACT_MAX and value > CONTRACT_MAX[name]:
                raise ValueError(f"tier {tier!r}: {name} is above the contract's {CONTRACT_MAX[name]}")
        tiers[tier] = TierLimits(**{n: values[n] for n in names})
    return tiers


def load_policy(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> TierPolicy:
    environ = os.environ if environ is None else environ
    with open(path or DEFAULT_POLICY_FILE, "rb") as handle:
        document = tomllib.load(handle)
    model_tiers = _parse_model_tiers(document)
    for variable, raw in environ.items():
        if not variable.upper().startswith(ENV_PREFIX) or variable.upper() == ENV_PREFIX + "POLICY_FILE":
            continue
        rest = variable.upper()[len(ENV_PREFIX):].lower()
        tier, _, field = rest.partition("_")
        if tier not in document or field not in document[tier]:
            raise ValueError(f"{variable} names no tier field")
        try:
            document[tier][field] = int(raw)
        except ValueError as exc:
            raise ValueError(f"{variable} must be an integer") from exc
    per_key = _parse_per_key(document)
    return TierPolicy(_parse_tiers(document), per_key_tiers=per_key, model_tiers=model_tiers)


def denoised_steps(params: JobParams) -> int:
    """The steps the worker runs, which is what a job is charged for. An image-to-image job
    noises its input ``strength`` of the way and denoises from there. diffusers runs
    ``int(steps * strength)`` steps for SD 1.x, 2.x and SDXL, and for SD 3 and FLUX.1 one
    more where the product is not whole; the charge is the lower, the same for every family.
    A job whose product is under one is refused at submit (``build_params``)."""
    if params.kind in NEEDS_INIT_IMAGE:
        return int(params.steps * params.strength)
    return params.steps


def cost_units(params: JobParams) -> float:
    raw = (params.width * params.height / REFERENCE_PIXELS) * (denoised_steps(params) / REFERENCE_STEPS) * params.n
    return round(max(1.0, raw), 4)


def check_request(params: JobParams, limits: TierLimits, largest: TierLimits) -> None:
    """Refuses what this caller's tier cannot have, naming the field; says whether any
    tier could (an upgrade helps) or none (the request can never run)."""
    for field, value, ceiling in (
        ("width", params.width, limits.max_width),
        ("height", params.height, limits.max_height),
        ("steps", params.steps, limits.max_steps),
        ("n", params.n, limits.max_n),
    ):
        if value > ceiling:
            anyone = value <= getattr(largest, f"max_{field}")
            hint = "a higher tier allows it" if anyone else "no tier allows it"
            raise JobRuleError("exceeds_tier", f"{field} {value} is over your tier's limit of {ceiling} ({hint})", field)
