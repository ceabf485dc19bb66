"""Envelopes this service emits, and reading the ones it consumes."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from atelier_contracts import Envelope, make_envelope

PRODUCER = "pre_inference"
JOB_REQUESTED = "inference.job.requested"


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def job_requested(
    *, job_id: uuid.UUID, user_id: uuid.UUID, params: dict, priority: int, deadline_at: datetime, correlation_id: str | None
) -> Envelope:
    """make_envelope validates against the published schema, so a job the worker could not
    read fails here, inside the submit transaction, instead of in the worker."""
    return make_envelope(
        JOB_REQUESTED,
        # v2 only for a job with LoRAs: every other job stays v1, which a worker not yet upgraded runs.
        2 if params.get("loras") else 1,
        {
            "job_id": str(job_id),
            "user_id": str(user_id),
            "params": params,
            "priority": priority,
            "deadline_at": _iso(deadline_at),
        },
        producer=PRODUCER,
        correlation_id=correlation_id,
    )


def parse_time(value: str) -> datetime:
    """RFC 3339 from an event; a naive time is taken as UTC."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def job_accepted(*, job_id: uuid.UUID, user_id: uuid.UUID, api_key_id: str | None, kind: str, images: int, cost: float, accepted_at: datetime, correlation_id: str | None) -> Envelope:
    return make_envelope(
        "pre_inference.job.accepted", 1,
        {"job_id": str(job_id), "user_id": str(user_id), "api_key_id": api_key_id, "kind": kind, "images": images, "cost": cost, "accepted_at": _iso(accepted_at)},
        producer=PRODUCER, correlation_id=correlation_id,
    )


def job_finished(
    *, job_id: uuid.UUID, user_id: uuid.UUID, api_key_id: str | None, status: str, images: int, cost: float,
    charged_allowance: int, charged_credits: int, gpu_ms: float, finished_at: datetime,
) -> Envelope:
    """Usage for billing: what was finally charged (nothing for a failed or canceled job)."""
    return make_envelope(
        "pre_inference.job.finished", 1,
        {
            "job_id": str(job_id), "user_id": str(user_id), "api_key_id": api_key_id, "status": status, "images": images,
            "cost": cost, "charged_allowance": charged_allowance, "charged_credits": charged_credits, "gpu_ms": gpu_ms,
            "finished_at": _iso(finished_at),
        },
        producer=PRODUCER, correlation_id=str(job_id),
    )


def job_canceled(*, job_id: uuid.UUID, user_id: uuid.UUID, canceled_at: datetime) -> Envelope:
    return make_envelope(
        "pre_inference.job.canceled", 1,
        {"job_id": str(job_id), "user_id": str(user_id), "canceled_at": _iso(canceled_at)},
        producer=PRODUCER, correlation_id=str(job_id),
    )
