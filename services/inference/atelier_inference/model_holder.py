"""Keeps the pipeline loaded while there is work, unloads it when idle (scale to zero in place).

The worker process stays up and connected; only the weights go. The next job pays a cold
start, which the worker measures and reports (progress phase "loading", timings_ms.load).
"""
from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from .pipeline import LoadedPipeline

log = logging.getLogger("atelier.inference.model")


def free_accelerator_memory() -> None:
    gc.collect()
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency; keep unloading safe anyway
        return
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.ipc_collect()


@dataclass(frozen=True)
class HolderState:
    """One consistent reading of the holder, taken under its lock."""
    loaded: bool
    loads: int
    unloads: int


class ModelHolder:
    def __init__(self, loader: Callable[[], LoadedPipeline], *, loaded: LoadedPipeline | None = None,
                 idle_unload_s: float = 300.0, clock: Callable[[], float] = time.monotonic,
                 free_memory: Callable[[], None] = free_accelerator_memory):
        self._loader = loader
        self._loaded = loaded
        self._idle_unload_s = idle_unload_s
        self._clock = clock
        self._free_memory = free_memory
        self._last_used = clock()
        self._lock = threading.Lock()
        self.loads = 0 if loaded is None else 1
        self.unloads = 0

    @property
    def is_loaded(self) -> bool:
        with self._lock:
            return self._loaded is not None

    @property
    def loaded_now(self) -> bool:
        """Without the lock, which a load holds for seconds: for the connection thread's heartbeat,
        which must never wait for the GPU thread (reading one reference is atomic)."""
        return self._loaded is not None

    @property
    def last_used(self) -> float:
        return self._last_used

    def state(self) -> HolderState:
        """Whether the model is loaded and the load/unload counts, read together: reading them
        one by one from another thread could see the model gone before the unload is counted."""
        with self._lock:
            return HolderState(self._loaded is not None, self.loads, self.unloads)

    def get(self) -> tuple[LoadedPipeline, float]:
        """The pipeline, loading it if needed; the second value is the load time in ms (0 when warm)."""
        with self._lock:
            self._last_used = self._clock()
            if self._loaded is not None:
                return self._loaded, 0.0
            started = time.perf_counter()
            loaded = self._loader()
            # Counted before it is published, so a lock-free reader never sees it loaded but uncounted.
            self.loads += 1
            self._loaded = loaded
            load_ms = (time.perf_counter() - started) * 1000
            self._last_used = self._clock()
            log.info("cold start: model ready in %.0f ms", load_ms)
            return self._loaded, load_ms

    def touch(self) -> None:
        self._last_used = self._clock()

    def maybe_unload(self) -> bool:
        """Unload when idle for idle_unload_s (0 disables). Call only between jobs."""
        with self._lock:
            if self._loaded is None or self._idle_unload_s <= 0:
                return False
            idle = self._clock() - self._last_used
            if idle < self._idle_unload_s:
                return False
            self._drop()
        self._free_memory()
        log.info("model unloaded after %.0f s idle", idle)
        return True

    def unload(self) -> bool:
        """Unload now (another model needs the memory); on the GPU thread, between jobs."""
        with self._lock:
            if self._loaded is None:
                return False
            self._drop()
        self._free_memory()
        return True

    def _drop(self) -> None:
        # Counted before the reference is dropped (see state()); then collect: the weights
        # (and their CUDA blocks) go with it.
        self.unloads += 1
        self._loaded = None
