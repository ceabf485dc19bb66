"""Prometheus metrics of the relays and consumers (names, types and labels as listed in
infra/monitoring/catalogue.toml).

Families live in the default registry, so a process serves them with
``atelier_kit.metrics.serve_metrics_from_env()``. A labelled family shows in a scrape only
once it has a child, so relays and consumers create their known children when they are
built (``init_*`` below): dashboards and the e2e check then see every family from the start.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from .topology import EVENTS_EXCHANGE, JOBS_EXCHANGE, dead_queue

log = logging.getLogger("atelier.messaging.metrics")

CONSUMER_OUTCOMES = ("handled", "duplicate", "retried", "dead_lettered")
# How often a consumer asks the broker and the database how big its queues and inbox are.
POLL_INTERVAL_S = 15.0

OUTBOX_BACKLOG = Gauge("atelier_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge("atelier_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row (0 when none)", ["service"])
RELAY_PUBLISHED = Counter("atelier_relay_published", "Messages the relay published and the broker confirmed", ["service", "exchange"])
RELAY_PUBLISH_DURATION = Histogram("atelier_relay_publish_duration_seconds", "Time to publish one batch and have it confirmed", ["service"])

CONSUMER_MESSAGES = Counter("atelier_consumer_messages", "Messages taken, by outcome: handled, duplicate, retried, dead_lettered", ["service", "queue", "outcome"])
CONSUMER_LAG = Histogram(
    "atelier_consumer_lag_seconds", "From the event's occurred_at to its effect committed", ["service", "queue"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
QUEUE_MESSAGES = Gauge("atelier_queue_messages", "Messages ready in the consumer's queue (polled)", ["queue"])
DEAD_LETTER_MESSAGES = Gauge("atelier_dead_letter_messages", "Messages in the queue's dead-letter queue (polled)", ["queue"])
INBOX_ROWS = Gauge("atelier_inbox_rows", "Rows in the consumer's inbox (polled)", ["service"])

# One statement for both outbox gauges; the partial index outbox_pending keeps it cheap.
OUTBOX_STATS_SQL = (
    "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) "
    "FROM outbox WHERE published_at IS NULL"
)
# Exact while the inbox is small; past that the planner's estimate (a count(*) of millions of
# rows every poll would cost more than the number is worth).
INBOX_ROWS_SQL = (
    "SELECT CASE WHEN c.reltuples > 100000 THEN c.reltuples::bigint ELSE (SELECT count(*) FROM inbox) END "
    "FROM pg_class c WHERE c.oid = 'inbox'::regclass"
)


def init_relay(service: str) -> None:
    for exchange in (EVENTS_EXCHANGE, JOBS_EXCHANGE):
        RELAY_PUBLISHED.labels(service=service, exchange=exchange)
    RELAY_PUBLISH_DURATION.labels(service=service)
    OUTBOX_BACKLOG.labels(service=service)
    OUTBOX_OLDEST_AGE.labels(service=service)


def observe_outbox(service: str, conn: Any) -> None:
    """Refresh the outbox gauges from one query (the relay calls it once per poll cycle)."""
    backlog, oldest_age_s = conn.execute(OUTBOX_STATS_SQL).fetchone()
    OUTBOX_BACKLOG.labels(service=service).set(backlog)
    OUTBOX_OLDEST_AGE.labels(service=service).set(float(oldest_age_s))


def init_consumer(service: str, queue: str) -> None:
    for outcome in CONSUMER_OUTCOMES:
        CONSUMER_MESSAGES.labels(service=service, queue=queue, outcome=outcome)
    CONSUMER_LAG.labels(service=service, queue=queue)
    QUEUE_MESSAGES.labels(queue=queue)
    DEAD_LETTER_MESSAGES.labels(queue=queue)
    INBOX_ROWS.labels(service=service)


def count_message(service: str, queue: str, outcome: str, n: int = 1) -> None:
    if n:
        CONSUMER_MESSAGES.labels(service=service, queue=queue, outcome=outcome).inc(n)


def _epoch(iso_time: str) -> float:
    parsed = datetime.fromisoformat(iso_time.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def observe_lag(service: str, queue: str, occurred_at: str, committed_at: float | None = None) -> None:
    try:
        occurred = _epoch(occurred_at)
    except (AttributeError, TypeError, ValueError):
        return
    lag = max(0.0, (committed_at if committed_at is not None else time.time()) - occurred)
    CONSUMER_LAG.labels(service=service, queue=queue).observe(lag)


class QueuePoller:
    """Polls the sizes of a consumer's queue, its dead-letter queue and its inbox, at most every
    ``interval_s``, on the consumer's own connection (pika is not thread-safe) and between
    messages, so it never holds one up. A passive declare answers from the broker's memory."""

    def __init__(self, service: str, queue: str, unit_of_work: Any, interval_s: float = POLL_INTERVAL_S):
        self.service = service
        self.queue = queue
        self.unit_of_work = unit_of_work
        self.interval_s = interval_s
        self._channel: Any = None
        self._next_poll = 0.0

    def maybe_poll(self, connection: Any) -> None:
        if time.monotonic() >= self._next_poll:
            self.poll(connection)

    def poll(self, connection: Any) -> None:
        self._next_poll = time.monotonic() + self.interval_s
        self._poll_queues(connection)
        self._poll_inbox()

    def _poll_queues(self, connection: Any) -> None:
        import pika.exceptions

        try:
            # A channel of its own: a failed passive declare closes the channel it ran on,
            # and that must never be the one the messages arrive on.
            if self._channel is None or not self._channel.is_open or self._channel.connection is not connection:
                self._channel = connection.channel()
            ready = self._channel.queue_declare(self.queue, passive=True).method.message_count
            dead = self._channel.queue_declare(dead_queue(self.queue), passive=True).method.message_count
        except pika.exceptions.ChannelClosed as exc:
            log.warning("cannot read the size of %s: %s", self.queue, exc)
            self._channel = None
            return
        QUEUE_MESSAGES.labels(queue=self.queue).set(ready)
        DEAD_LETTER_MESSAGES.labels(queue=self.queue).set(dead)

    def _poll_inbox(self) -> None:
        count_inbox = getattr(self.unit_of_work, "count_inbox", None)
        if count_inbox is None:
            return
        try:
            INBOX_ROWS.labels(service=self.service).set(count_inbox(INBOX_ROWS_SQL))
        except Exception as exc:  # noqa: BLE001 - a metric must never stop the consumer
            log.warning("cannot count the inbox of %s: %r", self.service, exc)
