"""The worker's Prometheus metrics (``inference_*`` in infra/monitoring/catalogue.toml).

Nothing here may slow the GPU loop: every duration is a perf_counter difference the worker
measures anyway, observed after the fact, and nothing waits for the device (no
``torch.cuda.synchronize``). A per-step time is therefore the time between two step
callbacks as the host sees them. The GPU gauges exist only where CUDA does, so a CPU
worker shows no GPU series at all rather than misleading zeros.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger("atelier.inference.metrics")

JOB_OUTCOMES = ("succeeded", "failed", "canceled")

QUEUE_WAIT = Histogram(
    "inference_queue_wait_seconds", "From the job's request being published to the worker starting it",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
MODEL_LOAD = Histogram(
    "inference_model_load_seconds", "Cold starts: loading the model",
    buckets=(0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300),
)
STEP_DURATION = Histogram(
    "inference_step_duration_seconds", "One denoising step of a batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GENERATION = Histogram(
    "inference_generation_seconds", "Generation time of one image (batch time divided by its images)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120),
)
BATCH_SIZE = Histogram("inference_batch_size", "Images generated together", buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32))
IMAGES = Counter("inference_images", "Images generated and stored (rate() gives images per second)")
JOBS = Counter("inference_jobs", "Jobs ended by this worker: succeeded, failed, canceled", ["outcome"])
MODEL_LOADED = Gauge("inference_model_loaded", "1 while the model is in memory")
MODEL_UNLOADS = Counter("inference_model_unloads", "Idle unloads (scale to zero in place)")
for _outcome in JOB_OUTCOMES:  # every outcome shows from the first scrape, at 0
    JOBS.labels(outcome=_outcome)

_gpu_memory: Gauge | None = None
_gpu_utilization: Gauge | None = None


def job_outcome(result_type: str, reason_code: str | None) -> str:
    if result_type.endswith(".succeeded"):
        return "succeeded"
    return "canceled" if reason_code == "canceled" else "failed"


def count_job(outcome: str) -> None:
    JOBS.labels(outcome=outcome).inc()


def model_loaded(loaded: bool, load_s: float = 0.0) -> None:
    if load_s > 0:
        MODEL_LOAD.observe(load_s)
    MODEL_LOADED.set(1 if loaded else 0)


def model_unloaded() -> None:
    MODEL_UNLOADS.inc()
    MODEL_LOADED.set(0)


def batch_generated(images: int, generate_s: float) -> None:
    """One pipeline call made ``images`` images in ``generate_s`` (already measured)."""
    if images <= 0:
        return
    BATCH_SIZE.observe(images)
    per_image = generate_s / images
    for _ in range(images):
        GENERATION.observe(per_image)


class StepClock:
    """Times denoising steps from the progress callback; a step shared by a batch's jobs is
    reported once per job, and counted once. The first step includes the prompt encoding."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self._last_step: int | None = None

    def step(self, step: int) -> None:
        if step == self._last_step:
            return
        now = time.perf_counter()
        STEP_DURATION.observe(now - self._last)
        self._last, self._last_step = now, step


def enable_gpu_metrics() -> bool:
    """Registers the GPU gauges where CUDA is present; returns whether it is."""
    global _gpu_memory
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    if not torch.cuda.is_available():
        return False
    if _gpu_memory is None:
        _gpu_memory = Gauge("inference_gpu_memory_bytes", "CUDA memory allocated and reserved (absent on the CPU)", ["kind"])
    update_gpu_metrics()
    return True


def update_gpu_metrics() -> None:
    """Between batches only. memory_allocated/reserved read the caching allocator's counters
    (no device sync); utilization asks NVML, and its gauge is registered only once NVML has
    answered: a gauge without labels always shows a value, and a made-up 0 would mislead."""
    global _gpu_utilization
    if _gpu_memory is None:
        return
    import torch

    _gpu_memory.labels(kind="allocated").set(torch.cuda.memory_allocated())
    _gpu_memory.labels(kind="reserved").set(torch.cuda.memory_reserved())
    try:
        ratio = torch.cuda.utilization() / 100
    except Exception as exc:  # noqa: BLE001 - pynvml missing or the driver cannot tell
        log.debug("no GPU utilisation: %r", exc)
        return
    if _gpu_utilization is None:
        _gpu_utilization = Gauge("inference_gpu_utilization_ratio",
                                 "CUDA utilisation 0..1 where the driver reports it (absent on the CPU)")
    _gpu_utilization.set(ratio)


def generated_images(outcomes: list[Any]) -> int:
    return sum(len(getattr(outcome, "images", ())) for outcome in outcomes)
