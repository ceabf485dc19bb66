"""The worker's metrics (inference_* in infra/monitoring/catalogue.toml) after real jobs with
the tiny model on the real broker."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY

from atelier_inference.config import Settings
from atelier_inference.model_holder import ModelHolder
from atelier_inference.worker import Worker
from atelier_storage import FilesystemStorage

from .test_worker_integration import collect, is_outcome, job_envelope, publish_job

pytestmark = pytest.mark.integration


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def snapshot():
    names = ("inference_queue_wait_seconds_count", "inference_model_load_seconds_count",
             "inference_step_duration_seconds_count", "inference_generation_seconds_count",
             "inference_batch_size_count", "inference_batch_size_sum", "inference_images_total",
             "inference_model_unloads_total")
    values = {name: sample(name) for name in names}
    for outcome in ("succeeded", "failed", "canceled"):
        values[f"jobs_{outcome}"] = sample("inference_jobs_total", outcome=outcome)
    return values


def wait_for(predicate, timeout_s=15.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_cold_job_shows_in_every_worker_metric_and_the_idle_unload_too(broker, amqp_url, loaded, tmp_path):
    connection, channel, events = broker
    # Cold: the holder loads on the first job, then unloads after 1 s idle.
    holder = ModelHolder(lambda: loaded, idle_unload_s=1.0, free_memory=lambda: None)
    worker = Worker(Settings(amqp_url=amqp_url, worker_name="metrics-worker"), holder,
                    FilesystemStorage(tmp_path / "storage"))
    assert sample("inference_model_loaded") == 0
    before = snapshot()
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        publish_job(amqp_url, job_envelope(steps=3, n=2))
        assert collect(connection, channel, events, is_outcome)[-1]["type"] == "inference.job.succeeded"
        publish_job(amqp_url, job_envelope(deadline=datetime.now(timezone.utc) - timedelta(seconds=1)))
        assert collect(connection, channel, events, is_outcome)[-1]["data"]["reason_code"] == "deadline_exceeded"
        assert wait_for(lambda: sample("inference_jobs_total", outcome="failed") - before["jobs_failed"] == 1)
        after_jobs = snapshot()
        assert wait_for(lambda: sample("inference_model_unloads_total") - before["inference_model_unloads_total"] == 1)
        assert sample("inference_model_loaded") == 0, "unloaded when idle"
    finally:
        worker.stop()
        thread.join(timeout=30)
    delta = {name: after_jobs[name] - before[name] for name in before}
    assert delta["jobs_succeeded"] == 1 and delta["jobs_failed"] == 1 and delta["jobs_canceled"] == 0
    assert delta["inference_queue_wait_seconds_count"] == 1, "only the job that started waited in the queue"
    assert delta["inference_model_load_seconds_count"] == 1, "one cold start"
    assert delta["inference_step_duration_seconds_count"] == 3
    assert delta["inference_generation_seconds_count"] == 2, "one observation per image"
    assert delta["inference_batch_size_count"] == 1 and delta["inference_batch_size_sum"] == 2
    assert delta["inference_images_total"] == 2


def test_gpu_metrics_exist_only_with_cuda():
    import torch

    from atelier_inference import metrics

    assert metrics.enable_gpu_metrics() == torch.cuda.is_available()
    names = {metric.name for metric in REGISTRY.collect()}
    assert ("inference_gpu_memory_bytes" in names) == torch.cuda.is_available()
