"""What the worker took off the queue, and how it groups jobs into one pipeline call."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from atelier_contracts import Envelope
from atelier_kit import tracing

from .jobs import batch_key


@dataclass
class Delivery:
    method: Any
    properties: Any
    body: bytes
    job: Envelope | None = None
    attempts: int = 1
    span: Any = None  # the job's span while it is being worked on (tracing on)

    @property
    def job_id(self) -> str:
        return self.job.data["job_id"]


def group_jobs(deliveries: list[Delivery], max_images: int) -> list[list[Delivery]]:
    """Compatible jobs together, in arrival order, each group at most max_images (a bigger job runs alone)."""
    groups: list[list[Delivery]] = []
    open_groups: dict[tuple, list[Delivery]] = {}
    for delivery in deliveries:
        params = delivery.job.data["params"]
        key = batch_key(params)
        group = open_groups.get(key) if key is not None else None
        if group is not None and sum(d.job.data["params"]["n"] for d in group) + params["n"] <= max_images:
            group.append(delivery)
            continue
        group = [delivery]
        groups.append(group)
        if key is not None:
            open_groups[key] = group
    return groups


def open_job_span(delivery: Delivery) -> None:
    """The job's span continues the trace its message carries; the job envelope is given
    that span's context, so every event built from it (events.*) is the span's child."""
    job = delivery.job
    delivery.span = tracing.open_span("inference.job", kind="consumer", traceparent=job.traceparent,
                                      attributes={"atelier.job_id": delivery.job_id, "atelier.attempt": delivery.attempts})
    if delivery.span is not None:
        delivery.job = replace(job, trace={"traceparent": tracing.traceparent_of(delivery.span)})


def close_job_span(delivery: Delivery, outcome: Envelope | None = None) -> None:
    failed = outcome is not None and outcome.type == "inference.job.failed"
    tracing.end_span(delivery.span, outcome.data.get("reason_code") if failed else None)
    delivery.span = None
