"""Unit: Celery's signals feed celery_tasks_total{task,outcome} and
celery_task_duration_seconds{task}; the worker serves them only when asked for a port."""
import pytest
from prometheus_client import REGISTRY

from atelier_kit import metrics_celery
from sandbox import services, tasks

TASK = "sandbox.tasks.deliver_webhook"


def runs(outcome: str) -> float:
    return REGISTRY.get_sample_value("celery_tasks_total", {"task": TASK, "outcome": outcome}) or 0.0


def timed() -> float:
    return REGISTRY.get_sample_value("celery_task_duration_seconds_count", {"task": TASK}) or 0.0


def test_successes_retries_and_failures_are_counted_and_timed(monkeypatch):
    answers = iter([services.RETRY, services.DELIVERED])
    monkeypatch.setattr(services, "deliver", lambda event_id: next(answers))
    before = {o: runs(o) for o in ("succeeded", "retried", "failed")}
    timed_before = timed()
    assert tasks.deliver_webhook.apply(args=("evt_1",)).get() == services.DELIVERED

    def broken(event_id):
        raise RuntimeError("the sandbox is down")
    monkeypatch.setattr(services, "deliver", broken)
    assert tasks.deliver_webhook.apply(args=("evt_2",)).failed()
    assert runs("retried") - before["retried"] == 1
    assert runs("succeeded") - before["succeeded"] == 1
    assert runs("failed") - before["failed"] == 1
    assert timed() - timed_before == 3


@pytest.mark.parametrize("env,serves", [
    ({"ATELIER_METRICS_PORT": "9187", "ATELIER_PROCESS": "celery-worker"}, True),
    ({"ATELIER_METRICS_PORT": "9187", "ATELIER_PROCESS": "celery-beat"}, False),
    ({"ATELIER_PROCESS": "celery-worker"}, False),
])
def test_only_the_worker_with_a_port_serves_metrics(env, serves):
    assert metrics_celery.serves_metrics(env) is serves
