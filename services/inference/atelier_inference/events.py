"""The events the worker publishes, built and validated against their contracts."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from atelier_contracts import Envelope, make_envelope

PRODUCER = "inference"
# Every event about a job carries the job message's trace context (the worker's own span for
# the job when tracing is on here), so the outcome continues the trace of the request.
ATTEMPTS_HEADER = "x-atelier-attempts"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def attempts_of(headers: dict[str, Any] | None) -> int:
    """Attempts already begun on this job; a message without the header is on its first."""
    try:
        return max(1, int((headers or {}).get(ATTEMPTS_HEADER, 1)))
    except (TypeError, ValueError):
        return 1


def started(job: Envelope, *, worker: str, attempt: int) -> Envelope:
    return make_envelope(
        "inference.job.started", 1,
        {"job_id": job.data["job_id"], "worker": worker[:128], "attempt": attempt, "started_at": now_iso()},
        producer=PRODUCER, correlation_id=job.correlation_id, trace=job.trace,
    )


def progress(job: Envelope, step: int, total_steps: int, *, phase: str = "generating",
             preview: str | None = None) -> Envelope:
    """phase "loading" (with step 0) while a cold worker loads the model: the user sees "warming up".
    ``preview``: a small JPEG data URL of the job's first image (atelier_inference.preview)."""
    data: dict[str, Any] = {"job_id": job.data["job_id"], "step": step, "total_steps": max(1, total_steps), "phase": phase}
    if preview is not None:
        data["preview"] = preview
    return make_envelope("inference.job.progress", 2, data,
                         producer=PRODUCER, correlation_id=job.correlation_id, trace=job.trace)


def succeeded(job: Envelope, images: list[dict[str, Any]], timings_ms: dict[str, float]) -> Envelope:
    return make_envelope(
        "inference.job.succeeded", 1,
        {"job_id": job.data["job_id"], "images": images, "timings_ms": timings_ms, "finished_at": now_iso()},
        producer=PRODUCER, correlation_id=job.correlation_id, trace=job.trace,
    )


def failed(job: Envelope, reason_code: str, message: str) -> Envelope:
    return make_envelope(
        "inference.job.failed", 1,
        {"job_id": job.data["job_id"], "reason_code": reason_code, "message": message[:2000], "finished_at": now_iso()},
        producer=PRODUCER, correlation_id=job.correlation_id, trace=job.trace,
    )


def heartbeat(*, worker: str, pool: str, device: str, interval_s: float, memory: dict[str, int | None],
              models: list[dict[str, Any]], loras: list[dict[str, str]] | None = None) -> Envelope:
    """What this worker serves now (the model catalogue of pre_inference is built from these).
    v2 added ``loras`` (each LoRA of ATELIER_LORA_DIR and the family it applies to); v3 the
    worker's pool, where pre_inference routes the jobs for its models."""
    data: dict[str, Any] = {"worker": worker[:128], "device": device[:64], "pool": pool, "interval_s": interval_s,
                            "memory": memory, "models": models, "sent_at": now_iso()}
    if loras:
        data["loras"] = loras
    return make_envelope("inference.worker.heartbeat", 3, data, producer=PRODUCER, correlation_id=f"worker-{worker}"[:128])
