"""The worker against the real RabbitMQ, on a vhost of its own (atelier_devkit)."""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pika
import pika.exceptions
import pytest

from atelier_contracts import make_envelope
from atelier_inference.config import Settings
from atelier_inference.worker import Worker
from atelier_messaging.connection import connect
from atelier_messaging.publisher import Publisher
from atelier_messaging.topology import EVENTS_EXCHANGE, JOBS_EXCHANGE, JOBS_QUEUE, dead_queue
from atelier_storage import FilesystemStorage

from .conftest import job_params

pytestmark = pytest.mark.integration
JOB_KEY = "inference.job.requested.v1"


@pytest.fixture
def start_worker(amqp_url, loaded, tmp_path):
    started = []

    def start() -> tuple[Worker, FilesystemStorage]:
        storage = FilesystemStorage(tmp_path / "storage")
        settings = Settings(amqp_url=amqp_url, max_job_attempts=3, worker_name="test-worker")
        worker = Worker(settings, loaded, storage)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        started.append((worker, thread))
        return worker, storage

    yield start
    for worker, thread in started:
        worker.stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the worker did not stop"


def job_envelope(**overrides):
    deadline = overrides.pop("deadline", datetime.now(timezone.utc) + timedelta(minutes=10))
    data = {"job_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "priority": 1,
            "deadline_at": deadline.isoformat().replace("+00:00", "Z"), "params": job_params(**overrides)}
    return make_envelope("inference.job.requested", 1, data, producer="pre_inference", correlation_id="req-test")


def publish_job(amqp_url, envelope, headers=None):
    publisher = Publisher(amqp_url)
    try:
        publisher.publish(envelope, priority=1, headers=headers)
    finally:
        publisher.close()


def collect(connection, channel, queue, until, timeout=60.0):
    """Events for one job, in order, until `until(type)` is true."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, _props, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            connection.process_data_events(time_limit=0.1)
            continue
        event = json.loads(body)
        seen.append(event)
        if until(event["type"]):
            return seen
    raise AssertionError(f"timed out; saw {[e['type'] for e in seen]}")


def get_dead(connection, channel, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, props, body = channel.basic_get(dead_queue(JOBS_QUEUE), auto_ack=True)
        if method is not None:
            return props, body
        connection.process_data_events(time_limit=0.1)
    raise AssertionError("nothing was dead-lettered")


def is_outcome(event_type):
    return event_type in {"inference.job.succeeded", "inference.job.failed"}


def test_job_runs_to_stored_images_with_progress(broker, start_worker, amqp_url, monkeypatch):
    import atelier_inference.worker as worker_module

    # Progress every loop turn: a tiny job ends before the default tick, and what is still
    # pending when it ends is superseded by its outcome (never sent).
    monkeypatch.setattr(worker_module, "PROGRESS_EVERY_S", 0.0)
    connection, channel, events = broker
    _worker, storage = start_worker()
    job = job_envelope(steps=3, width=128, height=96, n=2)
    publish_job(amqp_url, job)

    seen = collect(connection, channel, events, is_outcome)
    types = [e["type"] for e in seen]
    assert types[0] == "inference.job.started" and types[-1] == "inference.job.succeeded"
    assert seen[0]["data"]["attempt"] == 1 and seen[0]["data"]["worker"] == "test-worker"
    assert "inference.job.progress" in types
    for event in seen:
        assert event["data"]["job_id"] == job.data["job_id"] and event["correlation_id"] == "req-test"
    progress = [e["data"] for e in seen if e["type"] == "inference.job.progress"]
    assert all(p["total_steps"] == 3 and 1 <= p["step"] <= 3 for p in progress)
    result = seen[-1]["data"]
    assert [(i["seed"], i["width"], i["height"]) for i in result["images"]] == [(1234, 128, 96), (1235, 128, 96)]
    for image in result["images"]:
        assert storage.path_for(image["key"]).read_bytes().startswith(b"\x89PNG")
    assert {"load", "generate", "store", "queue"} <= result["timings_ms"].keys()
    # acked only after the outcome: nothing is left on the queue
    assert channel.queue_declare(JOBS_QUEUE, passive=True).method.message_count == 0


def test_invalid_job_is_dead_lettered(broker, start_worker):
    connection, channel, events = broker
    start_worker()
    channel.basic_publish(JOBS_EXCHANGE, JOB_KEY, b'{"type": "inference.job.requested", "data": {}}',
                          pika.BasicProperties(delivery_mode=2))
    _props, body = get_dead(connection, channel)
    assert json.loads(body)["data"] == {}
    assert channel.basic_get(events, auto_ack=True)[0] is None  # no outcome for a message with no job


def test_failed_job_reports_a_reason(broker, start_worker, amqp_url):
    connection, channel, events = broker
    start_worker()
    job = job_envelope(kind="inpaint")
    publish_job(amqp_url, job)
    seen = collect(connection, channel, events, is_outcome)
    assert seen[-1]["type"] == "inference.job.failed"
    assert seen[-1]["data"]["reason_code"] == "invalid_params"


def test_job_past_its_deadline_is_not_run(broker, start_worker, amqp_url):
    connection, channel, events = broker
    start_worker()
    publish_job(amqp_url, job_envelope(deadline=datetime.now(timezone.utc) - timedelta(seconds=1)))
    seen = collect(connection, channel, events, is_outcome)
    assert [e["type"] for e in seen] == ["inference.job.failed"]
    assert seen[0]["data"]["reason_code"] == "deadline_exceeded"


def make_redelivered(amqp_url, envelope, attempts):
    """What a worker dying mid-job leaves behind: the job back on the queue, flagged redelivered."""
    publish_job(amqp_url, envelope, headers={"x-atelier-attempts": attempts})
    connection = connect(amqp_url)
    channel = connection.channel()
    for _ in range(100):
        method, _props, _body = channel.basic_get(JOBS_QUEUE, auto_ack=False)
        if method is not None:
            break
        connection.process_data_events(time_limit=0.05)
    assert method is not None and not method.redelivered
    connection.close()  # unacked: the broker requeues it as redelivered


def test_interrupted_job_is_retried_with_its_attempt_counted(broker, start_worker, amqp_url):
    connection, channel, events = broker
    job = job_envelope()
    make_redelivered(amqp_url, job, attempts=1)
    start_worker()
    seen = collect(connection, channel, events, is_outcome)
    assert seen[0]["type"] == "inference.job.started" and seen[0]["data"]["attempt"] == 2
    assert seen[-1]["type"] == "inference.job.succeeded"


def test_job_over_the_attempt_limit_fails_as_worker_crashed(broker, start_worker, amqp_url):
    connection, channel, events = broker
    job = job_envelope()
    make_redelivered(amqp_url, job, attempts=3)
    start_worker()
    seen = collect(connection, channel, events, is_outcome)
    assert [e["type"] for e in seen] == ["inference.job.failed"]
    assert seen[0]["data"]["reason_code"] == "worker_crashed" and seen[0]["data"]["job_id"] == job.data["job_id"]
    props, body = get_dead(connection, channel)
    assert json.loads(body)["id"] == job.id and props.headers["x-atelier-attempts"] == 3


def test_entry_point_finishes_the_current_job_on_sigterm(broker, amqp_url, tiny_model_dir, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    connection, channel, events = broker
    env = {**os.environ, "ATELIER_AMQP_URL": amqp_url, "ATELIER_MODEL": str(tiny_model_dir),
           "ATELIER_STORAGE_DIR": str(tmp_path / "storage"), "ATELIER_WORKER_NAME": "subprocess-worker"}
    process = subprocess.Popen([sys.executable, "-m", "atelier_inference"], cwd=Path(__file__).parents[1], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Many cheap steps: long enough (seconds on a CPU) that SIGTERM lands mid-job.
        job = job_envelope(width=128, height=128, steps=100)
        publish_job(amqp_url, job)
        seen = collect(connection, channel, events, lambda t: t == "inference.job.started", timeout=120)
        process.send_signal(signal.SIGTERM)
        seen += collect(connection, channel, events, is_outcome, timeout=120)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    output = process.stdout.read()
    assert seen[-1]["type"] == "inference.job.succeeded", output
    assert (tmp_path / "storage" / "images" / job.data["job_id"] / "0.png").is_file()
    logs = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    messages = [entry["message"] for entry in logs]
    assert any("cold start" in m for m in messages)
    signaled = next(i for i, m in enumerate(messages) if m.startswith("signal"))
    assert signaled < messages.index("job succeeded"), "SIGTERM should land while the job runs"
    assert any("worker stopped after 1 job" in entry["message"] for entry in logs)
    assert all(entry["service"] == "inference" and entry["process"] == "worker" and "time" in entry for entry in logs)


def wait_for_consumer(amqp_url, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = connect(amqp_url)
        try:
            if connection.channel().queue_declare(JOBS_QUEUE, passive=True).method.consumer_count:
                return
        finally:
            connection.close()
        time.sleep(0.2)
    raise AssertionError("the worker never started consuming")


def test_worker_reconnects_when_the_broker_drops_it(broker, start_worker, amqp_url):
    import subprocess

    connection, channel, events = broker
    start_worker()
    wait_for_consumer(amqp_url)
    vhost = amqp_url.rsplit("/", 1)[-1]
    subprocess.run(["rabbitmqctl", "-q", "close_all_connections", "-p", vhost, "test: broker restart"],
                   check=True, capture_output=True, timeout=60)
    # The test's own connection went too: catch events on a fresh one.
    connection = connect(amqp_url)
    channel = connection.channel()
    events = channel.queue_declare(queue="", exclusive=True).method.queue
    channel.queue_bind(queue=events, exchange=EVENTS_EXCHANGE, routing_key="inference.job.#")
    try:
        wait_for_consumer(amqp_url)
        job = job_envelope()
        publish_job(amqp_url, job)
        seen = collect(connection, channel, events, is_outcome)
        assert seen[-1]["type"] == "inference.job.succeeded" and seen[-1]["data"]["job_id"] == job.data["job_id"]
    finally:
        connection.close()


@pytest.mark.parametrize("previews", [True, False])
def test_progress_carries_a_preview_of_the_first_image_unless_turned_off(broker, amqp_url, loaded, tmp_path, monkeypatch, previews):
    import base64

    import atelier_inference.worker as worker_module

    monkeypatch.setattr(worker_module, "PROGRESS_EVERY_S", 0.0)  # progress every loop turn
    connection, channel, events = broker
    settings = Settings(amqp_url=amqp_url, worker_name="test-worker", previews=previews)
    worker = Worker(settings, loaded, FilesystemStorage(tmp_path / "storage"))
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        job = job_envelope(steps=12, width=128, height=128)
        publish_job(amqp_url, job)
        seen = collect(connection, channel, events, is_outcome)
    finally:
        worker.stop()
        thread.join(timeout=30)
    progress = [e for e in seen if e["type"] == "inference.job.progress"]
    assert progress and all(e["version"] == 2 for e in progress)
    shown = [e["data"]["preview"] for e in progress if "preview" in e["data"]]
    if not previews:
        assert shown == []
        return
    assert shown, "a 12-step job publishes at least one preview"
    for url in shown:
        assert url.startswith("data:image/jpeg;base64,") and len(url) <= 16384
        assert base64.b64decode(url.split(",", 1)[1])[:2] == b"\xff\xd8"
