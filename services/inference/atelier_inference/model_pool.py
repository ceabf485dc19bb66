"""The models one worker serves (ATELIER_MODEL as "default", plus ATELIER_MODELS), each in its
own ModelHolder: loaded on demand, unloaded when idle, and, under a memory budget, the least
recently used unloaded first to make room for the one a job needs.

The GPU thread loads, evicts and generates; the connection thread only reads (``snapshot``),
without taking a holder's lock, so a heartbeat never waits behind a load.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import DEFAULT_MODEL_NAME, Settings
from .families import ModelProfile
from .model_holder import ModelHolder
from .pipeline import LoadedPipeline, ModelLoadError, load_pipeline, profile_of, select_runtime

log = logging.getLogger("atelier.inference.model")
# Job `model` values that mean "the worker's default model" (older clients send "").
DEFAULT_ALIASES = ("", DEFAULT_MODEL_NAME)


@dataclass
class ServedModel:
    name: str
    location: str
    profile: ModelProfile
    holder: ModelHolder
    # Measured once loaded (weights and buffers); before that, the weight files' size on disk.
    size_bytes: int = 0


def weights_bytes(pipe: Any) -> int:
    """Bytes of the parameters and buffers of every torch module of a pipeline."""
    total = 0
    for module in getattr(pipe, "components", {}).values():
        for tensors in (getattr(module, "parameters", None), getattr(module, "buffers", None)):
            if callable(tensors):
                total += sum(t.numel() * t.element_size() for t in tensors())
    return total


def size_on_disk(location: str) -> int:
    path = Path(location)
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.suffix in (".safetensors", ".bin", ".ckpt") and f.is_file())
    return 0


class UnknownModel(LookupError):
    """No model of that name on this worker."""


class ModelPool:
    def __init__(self, models: list[ServedModel], *, budget_bytes: int = 0):
        if not models:
            raise ValueError("a worker serves at least one model")
        self.models = {model.name: model for model in models}
        self.default = models[0].name
        self.budget_bytes = budget_bytes

    def resolve(self, requested: str) -> ServedModel:
        """The model a job's `model` field names: its catalogue name, "default", or (as before
        catalogues) the default model's location or folder name."""
        if requested in DEFAULT_ALIASES:
            if self.default != DEFAULT_MODEL_NAME:
                # This worker's first model has a name of its own (a pool's, ATELIER_MODEL_NAME):
                # "default" is another pool's model, never silently this one.
                raise UnknownModel(f"this worker serves {', '.join(sorted(self.models))}, not the default model")
            return self.models[self.default]
        if requested in self.models:
            return self.models[requested]
        default = self.models[self.default]
        if requested in (default.location, default.location.rstrip("/").rsplit("/", 1)[-1]):
            return default
        raise UnknownModel(f"this worker serves {', '.join(sorted(self.models))}, not {requested!r}")

    def default_family(self) -> str:
        """The family a LoRA without a sidecar is taken for (atelier_inference.loras)."""
        return self.models[self.default].profile.family

    @property
    def is_loaded(self) -> bool:
        return any(model.holder.loaded_now for model in self.models.values())

    def is_loaded_for(self, requested: str) -> bool:
        try:
            return self.resolve(requested).holder.loaded_now
        except UnknownModel:
            return True  # nothing will load: the job fails at once, no "warming up"

    def get(self, requested: str) -> tuple[LoadedPipeline, float]:
        """GPU thread: the model's pipeline, loading it (after making room) if needed."""
        model = self.resolve(requested)
        if not model.holder.loaded_now:
            self._make_room(model)
        loaded, load_ms = model.holder.get()  # ModelLoadError: the worker fails the job (model_unavailable)
        if load_ms:
            model.size_bytes = weights_bytes(loaded.pipe) or model.size_bytes
        return loaded, load_ms

    def _make_room(self, incoming: ServedModel) -> None:
        if self.budget_bytes <= 0:
            return
        need = incoming.size_bytes or size_on_disk(incoming.location)
        loaded = sorted((m for m in self.models.values() if m is not incoming and m.holder.loaded_now),
                        key=lambda m: m.holder.last_used)
        while loaded and self.loaded_bytes() + need > self.budget_bytes:
            victim = loaded.pop(0)
            if victim.holder.unload():
                log.info("model %s unloaded to make room for %s (budget %d MiB)", victim.name, incoming.name,
                         self.budget_bytes // 2**20)

    def loaded_bytes(self) -> int:
        return sum(m.size_bytes for m in self.models.values() if m.holder.loaded_now)

    def touch(self, requested: str | None = None) -> None:
        try:
            self.resolve(requested if requested is not None else self.default).holder.touch()
        except UnknownModel:
            pass

    def maybe_unload(self) -> bool:
        """Idle unloads of every model (each after ATELIER_IDLE_UNLOAD_S without a job)."""
        return any([model.holder.maybe_unload() for model in self.models.values()])

    def snapshot(self) -> list[dict[str, Any]]:
        """Connection thread: each model as the heartbeat announces it (no lock taken)."""
        return [{"name": m.name, **m.profile.describe(), "loaded": m.holder.loaded_now} for m in self.models.values()]


def device_memory(device: str) -> tuple[int | None, int | None]:
    """(total, used) bytes of the device the models run on; (None, None) where unknown.
    CUDA: the driver's numbers (cudaMemGetInfo, no synchronisation); CPU: the machine's RAM."""
    try:
        if device.startswith("cuda"):
            import torch

            free, total = torch.cuda.mem_get_info(torch.device(device))
            return int(total), int(total - free)
        with open("/proc/meminfo") as handle:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in handle if line.split()[1].isdigit()}
        return info["MemTotal"], info["MemTotal"] - info.get("MemAvailable", info.get("MemFree", 0))
    except (OSError, KeyError, ValueError, RuntimeError, IndexError):
        return None, None


def holder_for(settings: Settings, loaded: LoadedPipeline | None = None, *, location: str | None = None,
               name: str = DEFAULT_MODEL_NAME) -> ModelHolder:
    def load() -> LoadedPipeline:
        pipeline = load_pipeline(location or settings.model_location, settings.device, compile_unet=settings.torch_compile,
                                 compile_cache_dir=settings.compile_cache_path)
        pipeline.name = name
        return pipeline

    return ModelHolder(load, loaded=loaded, idle_unload_s=settings.idle_unload_s)


def pool_for(settings: Settings, default: LoadedPipeline | ModelHolder | None = None) -> ModelPool:
    """Every model of ATELIER_MODEL / ATELIER_MODELS, the default one from ``default`` when given
    (preloaded, or a holder of the caller's). Families are read now: a model no family knows
    stops the worker at start, not at its first job."""
    served = []
    for name, location in settings.served_models.items():
        first = name == settings.model_name
        preloaded = default if first and isinstance(default, LoadedPipeline) else None
        if preloaded is not None:
            preloaded.name = name  # loaded before its name was known (the worker's preload)
        if first and isinstance(default, ModelHolder):
            holder = default
        else:
            holder = holder_for(settings, preloaded, location=location, name=name)
        served.append(ServedModel(name, location, preloaded.profile if preloaded else profile_of(location), holder,
                                  size_bytes=weights_bytes(preloaded.pipe) if preloaded else 0))
    return ModelPool(served, budget_bytes=settings.model_memory_budget_mb * 2**20)


def device_name(requested: str | None) -> str:
    """The device the models run on, as the heartbeat names it."""
    import torch

    try:
        return select_runtime(requested, torch.cuda.is_available())[0]
    except ModelLoadError:
        return (requested or "cpu")[:64]
