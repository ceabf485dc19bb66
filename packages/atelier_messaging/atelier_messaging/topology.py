"""The RabbitMQ topology, declared idempotently by every process at start.

Queues and their bindings are listed here once, so that whichever process starts first
declares every queue: a message published before its consumer ever ran is kept, not
dropped as unroutable.
"""
from __future__ import annotations

import os
import re
from typing import Any, Iterable, Mapping

EVENTS_EXCHANGE = "atelier.events"
JOBS_EXCHANGE = "atelier.jobs"
DEAD_EXCHANGE = "atelier.dead"
JOBS_QUEUE = "inference.jobs"
JOB_MAX_PRIORITY = 10

# Worker pools: each pool of workers (a GPU class, a set of models) has its own jobs queue, so
# that a FLUX job waits for the pool that serves FLUX and scales that pool, never another.
# The default pool keeps the original names (`inference.jobs`, keys without a suffix), so a
# platform with one pool is what it always was. A pool's name is a DNS label (it names
# Kubernetes objects too); "dead" and "retry" would collide with the queue family's names.
DEFAULT_POOL = "default"
_POOL_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_RESERVED_POOLS = frozenset({"dead", "retry"})

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
        "inference.worker.heartbeat.v3",  # ... and their pools (where a model's jobs go)
    ),
}


# The gateway's revocations (API keys, tier changes, sessions). Their effects live in the Redis
# that every gateway process shares, so one durable queue serves them all: each message is
# applied once, by whichever process takes it, and is kept while no gateway runs or the broker
# restarts. A message is of no use once every token it could end has expired (access tokens
# live 15 minutes); the TTL bounds the queue of a platform that runs no gateway.
REVOCATIONS_QUEUE = "gateway.revocations"
REVOCATION_KEYS = ("auth.api_key.revoked.v1", "auth.user.tier_changed.v1", "auth.session.revoked.v1")
REVOCATIONS_TTL_MS = 60 * 60 * 1000


def valid_pool(name: str) -> bool:
    return isinstance(name, str) and bool(_POOL_NAME.match(name)) and name not in _RESERVED_POOLS


# The deployment's pools besides "default" ("large,small"), for the tools that look at every
# queue (dead letters): a queue is not discoverable over AMQP.
WORKER_POOLS_ENV = "ATELIER_WORKER_POOLS"


def worker_pools(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The pools ATELIER_WORKER_POOLS names, "default" left out; ValueError on a bad name."""
    value = (os.environ if environ is None else environ).get(WORKER_POOLS_ENV, "")
    names = [name.strip() for name in value.split(",") if name.strip()]
    for name in names:
        _checked_pool(name)
    return tuple(dict.fromkeys(name for name in names if name != DEFAULT_POOL))


def _checked_pool(pool: str) -> str:
    if not valid_pool(pool):
        raise ValueError(f"{pool!r} is not a worker pool name (lowercase letters, digits and '-', at most 32)")
    return pool


def jobs_queue(pool: str = DEFAULT_POOL) -> str:
    """The queue a pool's workers consume."""
    return JOBS_QUEUE if _checked_pool(pool) == DEFAULT_POOL else f"{JOBS_QUEUE}.{pool}"


def job_routing_key(routing_key: str, pool: str = DEFAULT_POOL) -> str:
    """The key on atelier.jobs that reaches ``pool``'s queue, for a job's own routing key
    (``inference.job.requested.v2``)."""
    return routing_key if _checked_pool(pool) == DEFAULT_POOL else f"{routing_key}.{pool}"


def pool_of_routing_key(routing_key: str) -> str | None:
    """The pool a key on atelier.jobs is for; None for a key that is not a job's."""
    for job_type in JOB_TYPES:
        for version in JOB_VERSIONS:
            base = f"{job_type}.v{version}"
            if routing_key == base:
                return DEFAULT_POOL
            if routing_key.startswith(base + ".") and valid_pool(routing_key[len(base) + 1:]):
                return routing_key[len(base) + 1:]
    return None


def is_jobs_queue(queue: str) -> bool:
    """``inference.jobs`` or a pool's ``inference.jobs.<pool>``."""
    return queue == JOBS_QUEUE or (queue.startswith(JOBS_QUEUE + ".") and valid_pool(queue[len(JOBS_QUEUE) + 1:]))


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


def declare_pool(channel: Any, pool: str) -> None:
    """A pool's jobs queue (with its dead-letter and retry queues) and its bindings."""
    queue = jobs_queue(pool)
    _declare_queue_family(channel, queue, {"x-max-priority": JOB_MAX_PRIORITY})
    for job_type in JOB_TYPES:
        for version in JOB_VERSIONS:
            channel.queue_bind(queue=queue, exchange=JOBS_EXCHANGE, routing_key=job_routing_key(f"{job_type}.v{version}", pool))


def declare_topology(channel: Any, pools: Iterable[str] = ()) -> None:
    """Idempotent; cheap enough to run at every connect. The default pool's queue always; other
    pools' where the caller knows them (a worker its own, a publisher those it routes to)."""
    channel.exchange_declare(exchange=EVENTS_EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(exchange=JOBS_EXCHANGE, exchange_type="direct", durable=True)
    channel.exchange_declare(exchange=DEAD_EXCHANGE, exchange_type="direct", durable=True)
    for queue, keys in EVENT_QUEUES.items():
        _declare_queue_family(channel, queue)
        for key in keys:
            channel.queue_bind(queue=queue, exchange=EVENTS_EXCHANGE, routing_key=key)
    channel.queue_declare(queue=REVOCATIONS_QUEUE, durable=True, arguments={"x-message-ttl": REVOCATIONS_TTL_MS})
    for key in REVOCATION_KEYS:
        channel.queue_bind(queue=REVOCATIONS_QUEUE, exchange=EVENTS_EXCHANGE, routing_key=key)
    for pool in dict.fromkeys([DEFAULT_POOL, *pools]):
        declare_pool(channel, pool)
