"""Unit: the job gauges' snapshot from the grouped query's rows, what the collector
exports from it, and the cache's freshness rule."""
from datetime import datetime, timedelta, timezone

from prometheus_client import CollectorRegistry

from app.api.job_gauges import JobGaugeCollector, JobSnapshot


def registry_with(snapshot: JobSnapshot, *, clock=lambda: 0.0) -> tuple[CollectorRegistry, JobGaugeCollector]:
    collector = JobGaugeCollector(engine=None, ttl_s=5.0, clock=clock)  # type: ignore[arg-type] - never queried here
    collector.snapshot = snapshot
    registry = CollectorRegistry()
    registry.register(collector)
    return registry, collector


def test_rows_become_live_counts_queue_depth_and_the_oldest_queued_job():
    now = datetime.now(timezone.utc)
    snapshot = JobSnapshot.from_rows([
        ("queued", 1, 3, now - timedelta(seconds=40)),
        ("queued", 5, 2, now - timedelta(seconds=90)),
        ("running", 5, 4, now - timedelta(seconds=900)),  # running jobs' age is not queue age
    ])
    registry, _ = registry_with(snapshot)
    assert registry.get_sample_value("pre_inference_live_jobs", {"status": "queued"}) == 5
    assert registry.get_sample_value("pre_inference_live_jobs", {"status": "running"}) == 4
    assert registry.get_sample_value("pre_inference_queue_depth", {"priority": "1"}) == 3
    assert registry.get_sample_value("pre_inference_queue_depth", {"priority": "5"}) == 2
    age = registry.get_sample_value("pre_inference_oldest_queued_age_seconds")
    assert 89 <= age < 120


def test_due_webhook_deliveries_are_counted_with_the_longest_wait():
    now = datetime.now(timezone.utc)
    registry, _ = registry_with(JobSnapshot.from_rows([], (3, now - timedelta(seconds=400))))
    assert registry.get_sample_value("pre_inference_webhook_deliveries_due") == 3
    assert 399 <= registry.get_sample_value("pre_inference_webhook_oldest_due_age_seconds") < 430


def test_an_empty_queue_reads_zero_not_nothing():
    registry, _ = registry_with(JobSnapshot.from_rows([]))
    assert registry.get_sample_value("pre_inference_webhook_deliveries_due") == 0
    assert registry.get_sample_value("pre_inference_webhook_oldest_due_age_seconds") == 0
    assert registry.get_sample_value("pre_inference_live_jobs", {"status": "queued"}) == 0
    assert registry.get_sample_value("pre_inference_live_jobs", {"status": "running"}) == 0
    assert registry.get_sample_value("pre_inference_oldest_queued_age_seconds") == 0


def test_the_snapshot_is_fresh_for_its_ttl_only():
    now = [100.0]
    _, collector = registry_with(JobSnapshot(), clock=lambda: now[0])
    assert not collector._fresh()  # never taken
    collector._taken_at = 100.0
    now[0] = 104.9
    assert collector._fresh()
    now[0] = 105.0
    assert not collector._fresh()
