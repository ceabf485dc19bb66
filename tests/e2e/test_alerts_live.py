"""The alert rules fire on a live Prometheus watching the running platform (issue 11: "an
induced fault fires its alert in a test").

A private Prometheus (atelier_devkit.prometheus) scrapes every process of the session's
platform with prometheus.local.yml's jobs and labels and evaluates the real rule files, their
`for:` durations set to 0s and every interval to 1 s, so each fault shows within seconds.
The faults are induced on the shared platform and undone before each test ends: the poison
message is purged from its dead-letter queue (the session asserts that none is left), and
the stopped worker is resumed and finishes the job that waited for it. The broker outage
runs on a platform of its own (tests/conftest.py's platform_with_private_broker).
"""
from __future__ import annotations

import json
import os
import signal
import uuid
from pathlib import Path

import httpx
import pika
import psutil
import psycopg
import pytest

from .flows import eventually, sign_up, verified_user

pytestmark = pytest.mark.e2e

# Enough for a few scrape and evaluation rounds of 1 s, plus the consumers' queue polls (15 s).
ALERT_TIMEOUT_S = 40
POISONED_QUEUE = "payments.events"


@pytest.fixture(scope="module")
def prometheus_available() -> None:
    """Like the promtool checks: skipped with the reason where the binary is missing, except in CI."""
    from atelier_devkit.prometheus import prometheus_binary

    try:
        prometheus_binary()
    except FileNotFoundError as missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} (CI must run these)")
        pytest.skip(str(missing))


@pytest.fixture(scope="module")
def prometheus(prometheus_available, platform):
    from atelier_devkit.prometheus import private_prometheus

    with private_prometheus(platform["env"]) as prom:
        yield prom


@pytest.fixture(scope="module")
def client(platform):
    with httpx.Client(base_url=platform["base_url"], timeout=30) as c:
        yield c


def all_up(prom) -> list[dict] | None:
    targets = prom.targets()
    return targets if targets and all(t["health"] == "up" for t in targets) else None


def test_every_process_is_scraped_and_up(prometheus):
    from atelier_devkit.prometheus import JOB_PORTS

    targets = eventually(lambda: all_up(prometheus), "every target up",
                         timeout=ALERT_TIMEOUT_S, interval=0.5)
    assert {t["labels"]["job"] for t in targets} == set(JOB_PORTS)
    for target in targets:
        app, process = target["labels"]["job"].split("-")
        assert (target["labels"]["app"], target["labels"]["process"]) == (app, process), target["labels"]
    # With every target up, a rule round later nothing says a target is down (a first scrape
    # that raced a process's start may have fired it; it resolves on the next round).
    eventually(lambda: all_up(prometheus) and not prometheus.firing("AtelierTargetDown"),
               "AtelierTargetDown quiet with every target up", timeout=10, interval=0.5)


def publish_poison(amqp_url: str) -> str:
    """A body that is no envelope at all, straight into a consumer's queue: its contract check
    refuses it, so it is dead-lettered at once."""
    marker = uuid.uuid4().hex
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish("", POISONED_QUEUE, json.dumps({"poison": marker}).encode(),
                              pika.BasicProperties(delivery_mode=2, content_type="application/json"), mandatory=True)
    finally:
        connection.close()
    return marker


def purge_dead_letters(amqp_url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        return connection.channel().queue_purge(f"{queue}.dead").method.message_count
    finally:
        connection.close()


def test_a_poison_message_is_dead_lettered_and_fires_dead_letters(prometheus, platform):
    amqp_url = platform["env"]["ATELIER_AMQP_URL"]
    publish_poison(amqp_url)
    try:
        [alert] = eventually(
            lambda: [a for a in prometheus.firing("AtelierDeadLetters") if a["labels"].get("queue") == POISONED_QUEUE],
            f"AtelierDeadLetters firing for {POISONED_QUEUE}", timeout=ALERT_TIMEOUT_S, interval=0.5)
        assert alert["labels"] == {"alertname": "AtelierDeadLetters", "queue": POISONED_QUEUE, "severity": "warning"}
        assert float(alert["value"]) >= 1
    finally:
        # Restore: the session's platform fixture asserts that nothing is left dead-lettered.
        purge_dead_letters(amqp_url, POISONED_QUEUE)


def worker_processes(metrics_port: str) -> list[psutil.Process]:
    """The inference worker (the process serving its metrics port) and its children, not the
    respawn wrapper above it, which would otherwise notice nothing anyway."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == int(metrics_port) and conn.pid:
            worker = psutil.Process(conn.pid)
            return [worker, *worker.children(recursive=True)]
    pytest.fail(f"no process listens on the inference worker's metrics port {metrics_port}")


def test_queued_jobs_with_the_worker_stopped_fire_worker_absent(prometheus, platform, client):
    user = verified_user(client, Path(platform["env"]["ATELIER_MAIL_DIR"]), "alerts")
    stopped = worker_processes(platform["env"]["INFERENCE_METRICS_PORT"])
    for process in stopped:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        submitted = client.post("/api/v1/jobs", headers=user["headers"], json={
            "kind": "txt2img", "prompt": "waiting for a worker", "width": 128, "height": 128, "steps": 2})
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]
        [alert] = eventually(lambda: prometheus.firing("AtelierInferenceWorkerAbsent"),
                             "AtelierInferenceWorkerAbsent firing", timeout=ALERT_TIMEOUT_S, interval=0.5)
        assert alert["labels"] == {"alertname": "AtelierInferenceWorkerAbsent", "severity": "critical"}
        assert float(alert["value"]) >= 1
        # The stopped process no longer answers its scrapes either (that rule's group is
        # evaluated on its own schedule, so it may follow a round later).
        eventually(lambda: [a for a in prometheus.firing("AtelierTargetDown") if a["labels"].get("job") == "inference-worker"],
                   "AtelierTargetDown firing for inference-worker", timeout=10, interval=0.5)
    finally:
        for process in stopped:
            os.kill(process.pid, signal.SIGCONT)
    # Restored: the worker takes the job that waited, and the alert resolves.
    final = eventually(
        lambda: (j := client.get(f"/api/v1/jobs/{job_id}", headers=user["headers"]).json())["status"]
        in ("succeeded", "failed", "canceled") and j, "the waiting job finishing", timeout=180)
    assert final["status"] == "succeeded", final
    eventually(lambda: not prometheus.firing("AtelierInferenceWorkerAbsent"),
               "AtelierInferenceWorkerAbsent resolving", timeout=ALERT_TIMEOUT_S, interval=0.5)


@pytest.fixture(scope="module")
def outage(prometheus_available, platform_with_private_broker):
    """Asks for the binary first: no second platform is started where the test would skip."""
    from atelier_devkit.prometheus import private_prometheus

    with private_prometheus(platform_with_private_broker["env"]) as prom:
        yield platform_with_private_broker, prom


def stale_auth_outbox(prom) -> list[dict]:
    return [a for a in prom.firing("AtelierOutboxStale") if a["labels"].get("service") == "auth"]


def test_events_held_in_the_outbox_while_the_broker_is_down_fire_outbox_stale(outage):
    running, prom = outage
    env = running["env"]
    eventually(lambda: all_up(prom), "every target of the outage platform up", timeout=ALERT_TIMEOUT_S, interval=0.5)
    with httpx.Client(base_url=running["base_url"], timeout=30) as client, running["broker"].outage():
        sign_up(client, "alerts-outage")  # auth.user.registered waits in auth's outbox
        # The rule's threshold is two minutes of age, in its expression (only `for:` is
        # shortened here): backdating the held rows stands for an outage that long.
        with psycopg.connect(env["AUTH_DATABASE_URL"], autocommit=True) as conn:
            held = conn.execute(
                "UPDATE outbox SET created_at = created_at - interval '5 minutes' WHERE published_at IS NULL").rowcount
        assert held >= 1
        # The relay reads its gauges between reconnection attempts (at most 15 s apart).
        [alert] = eventually(lambda: stale_auth_outbox(prom), "AtelierOutboxStale firing for auth",
                             timeout=ALERT_TIMEOUT_S, interval=0.5)
        assert alert["labels"] == {"alertname": "AtelierOutboxStale", "service": "auth", "severity": "critical"}
        assert float(alert["value"]) > 120
    # The broker is back: the relay publishes what it held and the alert resolves.
    eventually(lambda: not stale_auth_outbox(prom), "AtelierOutboxStale resolving", timeout=ALERT_TIMEOUT_S, interval=0.5)
