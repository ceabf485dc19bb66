"""Scrape-time gauges of the job table: pre_inference_live_jobs{status},
pre_inference_queue_depth{priority}, pre_inference_oldest_queued_age_seconds; and of the jobs'
webhook deliveries: pre_inference_webhook_deliveries_due, pre_inference_webhook_oldest_due_age_seconds.

One grouped query over the live jobs and one over the due deliveries (partial indexes keep both small), run at
most once per ``ttl_s`` however many scrapes arrive: concurrent scrapes share one refresh
under a lock, and later ones within the TTL read the cached snapshot, so a scrape storm
cannot load the database. The query runs in the async /metrics handler (``refresh``); the
collector's ``collect`` only formats the snapshot, as prometheus_client calls it
synchronously.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.lifecycle import QUEUED, RUNNING

LIVE_JOBS_SQL = text(
    "SELECT status, priority, count(*) AS jobs, min(created_at) AS oldest FROM jobs "
    "WHERE status IN ('queued', 'running') GROUP BY status, priority"
)
# Deliveries due that no deliverer holds: a claim moves next_attempt_at a lease ahead, so with
# a deliverer running a due delivery waits a poll interval at most. One that waits minutes means
# no deliverer runs (or too few for the load): a platform fault, unlike a receiver that is down,
# whose deliveries are rescheduled, not left due.
DUE_WEBHOOKS_SQL = text(
    "SELECT count(*), min(d.next_attempt_at) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id "
    "WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.disabled_at IS NULL"
)


@dataclass(frozen=True)
class JobSnapshot:
    live: dict[str, int] = field(default_factory=lambda: {QUEUED: 0, RUNNING: 0})
    queued_by_priority: dict[int, int] = field(default_factory=dict)
    oldest_queued_at: datetime | None = None
    webhooks_due: int = 0
    oldest_due_webhook_at: datetime | None = None

    @classmethod
    def from_rows(cls, rows, due_webhooks: tuple[int, datetime | None] = (0, None)) -> "JobSnapshot":  # noqa: ANN001 - (status, priority, jobs, oldest) rows
        live = {QUEUED: 0, RUNNING: 0}
        by_priority: dict[int, int] = {}
        oldest: datetime | None = None
        for status, priority, jobs, oldest_at in rows:
            live[status] = live.get(status, 0) + jobs
            if status == QUEUED:
                by_priority[priority] = by_priority.get(priority, 0) + jobs
                oldest = oldest_at if oldest is None or oldest_at < oldest else oldest
        return cls(live, by_priority, oldest, *due_webhooks)


class JobGaugeCollector(Collector):
    def __init__(self, engine: AsyncEngine, *, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.engine = engine
        self.ttl_s = ttl_s
        self.clock = clock
        self.snapshot = JobSnapshot()
        self.queries = 0
        self._taken_at: float | None = None
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return self._taken_at is not None and self.clock() - self._taken_at < self.ttl_s

    async def refresh(self) -> JobSnapshot:
        if self._fresh():
            return self.snapshot
        async with self._lock:
            if self._fresh():  # another scrape refreshed it while this one waited
                return self.snapshot
            async with self.engine.connect() as conn:
                rows = (await conn.execute(LIVE_JOBS_SQL)).all()
                due_webhooks = tuple((await conn.execute(DUE_WEBHOOKS_SQL)).one())
            self.queries += 1
            self.snapshot = JobSnapshot.from_rows(rows, due_webhooks)
            self._taken_at = self.clock()
        return self.snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = self.snapshot
        live = GaugeMetricFamily("pre_inference_live_jobs", "Jobs queued or running now (polled from the database)",
                                 labels=["status"])
        for status, jobs in sorted(snapshot.live.items()):
            live.add_metric([status], jobs)
        yield live
        depth = GaugeMetricFamily("pre_inference_queue_depth", "Queued jobs by priority (polled from the database)",
                                  labels=["priority"])
        for priority, jobs in sorted(snapshot.queued_by_priority.items()):
            depth.add_metric([str(priority)], jobs)
        yield depth
        yield GaugeMetricFamily("pre_inference_oldest_queued_age_seconds", "Age of the oldest queued job (0 when none)",
                                value=_age_s(snapshot.oldest_queued_at))
        yield GaugeMetricFamily("pre_inference_webhook_deliveries_due",
                                "Webhook deliveries due and held by no deliverer (polled from the database)",
                                value=snapshot.webhooks_due)
        yield GaugeMetricFamily("pre_inference_webhook_oldest_due_age_seconds",
                                "How long the longest-waiting due webhook delivery has waited for a deliverer (0 when none)",
                                value=_age_s(snapshot.oldest_due_webhook_at))


def _age_s(since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (datetime.now(timezone.utc) - since).total_seconds())
