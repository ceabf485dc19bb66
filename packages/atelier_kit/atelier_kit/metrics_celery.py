"""Celery task metrics of a service's worker (celery_tasks_total{task,outcome},
celery_task_duration_seconds{task}), recorded from Celery's signals, and the worker's
/metrics port.

The worker runs a prefork pool: tasks run in child processes, so their counts are written
to prometheus_client's multiprocess files (``prepare_worker_metrics``, called before
anything imports prometheus_client) and the parent's HTTP server adds them up. Without
ATELIER_METRICS_PORT nothing is served and the counters simply live in memory (tests).
"""
from __future__ import annotations

import logging
import os
import time

from atelier_kit.metrics_multiprocess import prepare_multiprocess_dir

log = logging.getLogger(__name__)
METRICS_PORT_ENV = "ATELIER_METRICS_PORT"
WORKER_PROCESS = "celery-worker"
# celery's trace states -> the catalogue's outcomes
OUTCOME_OF_STATE = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}
TASKS = DURATION = None  # made by install(), once per process


def serves_metrics(env=os.environ) -> bool:  # noqa: ANN001
    return bool(env.get(METRICS_PORT_ENV)) and env.get("ATELIER_PROCESS") == WORKER_PROCESS


def prepare_worker_metrics(process_name: str) -> None:
    """In the worker's main process, before prometheus_client is imported: pool children
    inherit the multiprocess folder (wiped here, so a restart starts from zero)."""
    if serves_metrics():
        prepare_multiprocess_dir(process_name)


def install() -> None:
    """Connects the signal handlers once per process (a second call changes nothing)."""
    global TASKS, DURATION
    if TASKS is not None:
        return
    # Imported here, after prepare_worker_metrics has had its chance to set the folder.
    from celery.signals import task_postrun, task_prerun, worker_init, worker_process_shutdown
    from prometheus_client import Counter, Histogram

    tasks = Counter("celery_tasks_total", "Celery task runs: succeeded, failed, retried", ["task", "outcome"])
    duration = Histogram("celery_task_duration_seconds", "Celery task run time", ["task"],
                         buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
    started: dict[str, float] = {}

    @task_prerun.connect(weak=False)
    def _prerun(task_id=None, **_) -> None:  # noqa: ANN001
        started[task_id] = time.perf_counter()

    @task_postrun.connect(weak=False)
    def _postrun(task_id=None, task=None, state=None, **_) -> None:  # noqa: ANN001
        # One place for every outcome: postrun carries the final state of this run
        # (SUCCESS, FAILURE or RETRY), so failures and retries are not counted twice.
        began = started.pop(task_id, None)
        name = getattr(task, "name", None) or "unknown"
        outcome = OUTCOME_OF_STATE.get(state or "")
        if outcome is not None:
            tasks.labels(name, outcome).inc()
        if began is not None:
            duration.labels(name).observe(time.perf_counter() - began)

    @worker_init.connect(weak=False)
    def _serve(sender=None, **_) -> None:  # noqa: ANN001
        # Every task the worker knows gets its series at once, at zero: a family without
        # samples is invisible in multiprocess mode, and alerts and dashboards want a 0.
        app = getattr(sender, "app", None)
        for name in sorted(getattr(app, "tasks", {}) or {}):
            if not name.startswith("celery."):
                for outcome in sorted(set(OUTCOME_OF_STATE.values())):
                    tasks.labels(name, outcome)
                duration.labels(name)
        if serves_metrics():
            start_metrics_server(int(os.environ[METRICS_PORT_ENV]))

    @worker_process_shutdown.connect(weak=False)
    def _child_gone(pid=None, **_) -> None:  # noqa: ANN001
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(pid or os.getpid())

    TASKS, DURATION = tasks, duration


def start_metrics_server(port: int) -> None:
    """Loopback only: the scraper runs beside it; nothing else needs these figures."""
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    start_http_server(port, addr="127.0.0.1", registry=registry)
    log.info("worker metrics on 127.0.0.1:%s", port)
