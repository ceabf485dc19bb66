"""The RabbitMQ topology, declared idempotently by every process at start.

Queues and their bindings are listed here once, so that whichever process starts first
declares every queue: a message published before its consumer ever ran is kept, not
dropped as unroutable.
"""
from __future__ import annotations

from typing import Any

EVENTS_EXCHANGE = "atelier.events"
JOBS_EXCHANGE = "atelier.jobs"
DEAD_EXCHANGE = "atelier.dead"
JOBS_QUEUE = "inference.jobs"
JOB_MAX_PRIORITY = 10

# Event types that are work for someone rather than facts for everyone.
JOB_TYPES = frozenset({"inference.job.requested"})
# The versions of each job type the jobs queue takes: v2 adds LoRA adapters, and a job without
# them stays v1 so that a worker not yet upgraded still runs it.
JOB_VERSIONS = (1, 2)

# queue -> routing keys it is bound to on atelier.events
EVENT_QUEUES: dict[str, tuple[str, ...]] = {
    "auth.events": (
        "payments.subscription.activated.v1",
        "payments.subscription.canceled.v1",
        "payments.subscription.expired.v1",
    ),
    "payments.events": (
        "auth.user.registered.v1",
        "auth.user.deleted.v1",
    ),
    "pre_inference.events": (
        "auth.user.registered.v1",
        "auth.user.verified.v1",
        "auth.user.tier_changed.v1",
        "auth.user.deleted.v1",
        "auth.api_key.created.v1",
        "auth.api_key.revoked.v1",
        "payments.credits.granted.v1",
        "payments.refund.issued.v1",
        "inference.job.started.v1",
        "inference.job.progress.v1",
        "inference.job.progress.v2",
        "inference.job.succeeded.v1",
        "inference.job.failed.v1",
        "inference.worker.heartbeat.v1",  # the model catalogue
        "inference.worker.heartbeat.v2",  # ... with the workers' LoRA adapters
    ),
}


def exchange_for(event_type: str) -> str:
    return JOBS_EXCHANGE if event_type in JOB_TYPES else EVENTS_EXCHANGE


def must_be_routed(exchange: str) -> bool:
    """Work nobody would receive is an error (published ``mandatory``); a fact nobody
    subscribes to yet is not, and must not hold back the messages behind it."""
    return exchange != EVENTS_EXCHANGE


def retry_queue(queue: str) -> str:
    return f"{queue}.retry"


def dead_queue(queue: str) -> str:
    return f"{queue}.dead"


def _dead_lettered(queue: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"x-dead-letter-exchange": DEAD_EXCHANGE, "x-dead-letter-routing-key": queue, **(extra or {})}


def _declare_queue_family(channel: Any, queue: str, arguments: dict[str, Any] | None = None) -> None:
    """A work queue, its dead-letter queue and its retry queue (expired retries flow back)."""
    channel.queue_declare(queue=queue, durable=True, arguments=_dead_lettered(queue, arguments))
    channel.queue_declare(queue=dead_queue(queue), durable=True)
    channel.queue_bind(queue=dead_queue(queue), exchange=DEAD_EXCHANGE, routing_key=queue)
    channel.queue_declare(
        queue=retry_queue(queue),
        durable=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue},
    )


def declare_topology(channel: Any) -> None:
    """Idempotent; cheap enough to run at every connect."""
    channel.exchange_declare(exchange=EVENTS_EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(exchange=JOBS_EXCHANGE, exchange_type="direct", durable=True)
    channel.exchange_declare(exchange=DEAD_EXCHANGE, exchange_type="direct", durable=True)
    for queue, keys in EVENT_QUEUES.items():
        _declare_queue_family(channel, queue)
        for key in keys:
            channel.queue_bind(queue=queue, exchange=EVENTS_EXCHANGE, routing_key=key)
    _declare_queue_family(channel, JOBS_QUEUE, {"x-max-priority": JOB_MAX_PRIORITY})
    for job_type in JOB_TYPES:
        for version in JOB_VERSIONS:
            channel.queue_bind(queue=JOBS_QUEUE, exchange=JOBS_EXCHANGE, routing_key=f"{job_type}.v{version}")
