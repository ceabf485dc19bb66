"""The model catalogue: which models the inference workers serve, in what state, within what limits.

Workers announce their models on `inference.worker.heartbeat` (every `interval_s`); a worker
is live while its last heartbeat is younger than LIVE_HEARTBEATS intervals (plus a little
slack for a busy broker). A model is

- ``ready``: some live worker has it loaded;
- ``cold``: live workers serve it but none has it loaded (the first job pays the load);
- ``unavailable``: it was served, but no live worker serves it now.

Limits (native size, steps, guidance, negative prompt, kinds) are the model family's, as the
worker knows them; admission fills a job's defaults from them and refuses what is outside.

Each worker belongs to a pool (heartbeat v3) and a job goes to the queue of a pool that serves
its model (``pool_for``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from atelier_messaging.topology import DEFAULT_POOL

from app.domain.jobs import JobParams, JobRuleError

READY, COLD, UNAVAILABLE = "ready", "cold", "unavailable"
LIVE_HEARTBEATS = 3
LIVE_SLACK_S = 5.0
DEFAULT_MODEL = "default"


@dataclass(frozen=True)
class Served:
    """One worker's announcement of one model (a row of the projection)."""
    worker: str
    model: str
    family: str
    variant: str
    loaded: bool
    kinds: tuple[str, ...]
    schedulers: tuple[str, ...] | None
    limits: dict[str, Any]
    interval_s: float
    seen_at: datetime
    loras: dict[str, str] = field(default_factory=dict)  # the worker's LoRAs: name -> family
    pool: str = DEFAULT_POOL

    def live(self, now: datetime) -> bool:
        return now - self.seen_at <= timedelta(seconds=self.interval_s * LIVE_HEARTBEATS + LIVE_SLACK_S)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    state: str
    family: str
    variant: str
    kinds: tuple[str, ...]
    schedulers: tuple[str, ...] | None
    limits: dict[str, Any]
    workers: int  # live workers serving it
    # LoRAs a job for it may name: its family's that every live worker serving it has (any of
    # them may take the job), or the newest announcement's when none is live.
    loras: tuple[str, ...] = ()
    # Those workers' LoRAs of other families (name -> family): a job naming one is told so.
    other_loras: dict[str, str] = field(default_factory=dict)
    # The pools serving it, the one its jobs go to first: live pools with the model loaded, then
    # those with more live workers; with none live, the newest announcement's pool.
    pools: tuple[str, ...] = (DEFAULT_POOL,)

    @property
    def available(self) -> bool:
        return self.state != UNAVAILABLE


def entries(rows: Iterable[Served], now: datetime) -> list[ModelEntry]:
    """One entry per model name; its family and limits from the newest announcement."""
    by_model: dict[str, list[Served]] = {}
    for row in rows:
        by_model.setdefault(row.model, []).append(row)
    result = []
    for name in sorted(by_model, key=lambda n: (n != DEFAULT_MODEL, n)):
        served = by_model[name]
        live = [row for row in served if row.live(now)]
        newest = max(live or served, key=lambda row: row.seen_at)
        state = READY if any(row.loaded for row in live) else COLD if live else UNAVAILABLE
        result.append(ModelEntry(name=name, state=state, family=newest.family, variant=newest.variant,
                                 kinds=newest.kinds, schedulers=newest.schedulers, limits=newest.limits,
                                 workers=len({row.worker for row in live}), pools=_pools_of(live, newest),
                                 **_loras_of(live or [newest], newest.family)))
    return result


def _pools_of(live: list[Served], newest: Served) -> tuple[str, ...]:
    if not live:
        return (newest.pool,)
    loaded: dict[str, bool] = {}
    workers: dict[str, set[str]] = {}
    for row in live:
        loaded[row.pool] = loaded.get(row.pool, False) or row.loaded
        workers.setdefault(row.pool, set()).add(row.worker)
    return tuple(sorted(workers, key=lambda pool: (not loaded[pool], -len(workers[pool]), pool)))


def pool_for(model: str, entry: ModelEntry | None, configured: dict[str, str]) -> str:
    """The pool whose queue a job for ``model`` goes to:

    1. a pool whose workers serve it now (the catalogue's first choice);
    2. else the operator's PRE_INFERENCE_MODEL_POOLS, for pools that scale to zero: no worker
       of theirs runs to announce anything until a queued job starts one;
    3. else the pool that served it last;
    4. else the default pool (a fresh platform that no worker announced itself to yet).
    """
    if entry is not None and entry.available:
        return entry.pools[0]
    if model in configured:
        return configured[model]
    return entry.pools[0] if entry is not None else DEFAULT_POOL


def _loras_of(rows: list[Served], family: str) -> dict[str, Any]:
    shared = set(rows[0].loras).intersection(*(row.loras for row in rows[1:]))
    own = tuple(sorted(name for name in shared if rows[0].loras[name] == family))
    others = {name: fam for row in rows for name, fam in row.loras.items() if fam != family}
    return {"loras": own, "other_loras": others}


def defaults_for(entry: ModelEntry | None) -> dict[str, Any]:
    """What a job for this model gets when it leaves a field out: the family's native size,
    steps and guidance (none: the platform's defaults, app.domain.jobs.DEFAULTS)."""
    if entry is None:
        return {}
    limits = entry.limits
    return {"width": limits["native_size"], "height": limits["native_size"],
            "steps": limits["default_steps"], "guidance": limits["default_guidance"]}


def check_params(params: JobParams, entry: ModelEntry) -> None:
    """The model family's limits, naming the field (422); the worker checks the same again."""
    limits = entry.limits
    if params.kind not in entry.kinds:
        raise JobRuleError("outside_model_limits", f"{entry.name} does not do {params.kind}; it does {', '.join(entry.kinds)}", "kind")
    for side in ("width", "height"):
        value = getattr(params, side)
        if value > limits["max_size"]:
            raise JobRuleError("outside_model_limits", f"{side} {value} is over {limits['max_size']}, the most {entry.name} takes", side)
        if value % limits["size_multiple"]:
            raise JobRuleError("outside_model_limits", f"{side} must be a multiple of {limits['size_multiple']} for {entry.name}", side)
    if params.steps > limits["max_steps"]:
        raise JobRuleError("outside_model_limits", f"steps {params.steps} is over {limits['max_steps']}, the most {entry.name} takes", "steps")
    if params.guidance > limits["max_guidance"]:
        raise JobRuleError("outside_model_limits", f"guidance {params.guidance:g} is over {limits['max_guidance']:g} for {entry.name}", "guidance")
    if params.negative_prompt and not limits["negative_prompt"]:
        raise JobRuleError("outside_model_limits", f"{entry.name} ({entry.family}) takes no negative prompt", "negative_prompt")
    if entry.schedulers is not None and params.scheduler not in entry.schedulers:
        raise JobRuleError("outside_model_limits", f"{entry.name} runs the schedulers {', '.join(entry.schedulers)}", "scheduler")
    check_loras(params, entry)


def check_loras(params: JobParams, entry: ModelEntry | None) -> None:
    """Each LoRA the job names must be one the workers offer for this model (its family's).
    No entry (no worker ever announced itself): there is no LoRA to name yet."""
    offered = entry.loras if entry is not None else ()
    for index, lora in enumerate(params.loras):
        name, where = lora["name"], f"loras[{index}].name"
        if name in offered:
            continue
        if entry is not None and name in entry.other_loras:
            raise JobRuleError("lora_wrong_family", f"LoRA {name!r} is for {entry.other_loras[name]}; "
                               f"{entry.name} is {entry.family}", where)
        model = entry.name if entry is not None else params.model
        raise JobRuleError("lora_unknown", f"{model} has no LoRA {name!r}; it offers {', '.join(offered) or 'none'} "
                           "(GET /api/v1/models lists them)", where)
