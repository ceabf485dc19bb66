"""Integration (a real worker-like process): with ATELIER_PROCESS=celery-worker and
ATELIER_METRICS_PORT set, config.celery picks prometheus_client's multiprocess mode before
anything imports it (prefork children then share one folder, wiped at start) and the
worker serves the task metrics on 127.0.0.1 at that port."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration
SERVICE_DIR = Path(__file__).resolve().parents[2]
WORKER = """
import time
import django
import config.celery  # what `celery -A config worker` imports first
django.setup()
from celery.signals import worker_init
from sandbox import services, tasks
services.deliver = lambda event_id: services.DELIVERED
tasks.deliver_webhook.apply(args=("evt_1",))
tasks.deliver_webhook.apply(args=("evt_2",))
worker_init.send(sender=None)
time.sleep(60)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_worker_serves_its_task_metrics_from_the_multiprocess_folder(tmp_path):
    port = free_port()
    stale = tmp_path / "prometheus" / "payments-worker" / "counter_1.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by an earlier run")
    env = {**{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
           "DJANGO_SETTINGS_MODULE": "config.settings.test", "ATELIER_PROCESS": "celery-worker",
           "ATELIER_METRICS_PORT": str(port), "ATELIER_STORAGE_DIR": str(tmp_path / "storage")}
    process = subprocess.Popen([sys.executable, "-c", WORKER], cwd=SERVICE_DIR, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "the worker's metrics port never opened"
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert 'celery_tasks_total{outcome="succeeded",task="sandbox.tasks.deliver_webhook"} 2.0' in body
    assert 'celery_task_duration_seconds_count{task="sandbox.tasks.deliver_webhook"} 2.0' in body
    assert not stale.exists() and list(stale.parent.glob("*.db"))  # wiped, then written by this run
