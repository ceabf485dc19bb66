"""Worker pools: a worker consumes its pool's queue only (inference.jobs for "default",
inference.jobs.<pool> otherwise), names its pool on its heartbeat, and a job for a pool waits in
that pool's queue until one of its workers takes it, a crashed attempt included."""
from __future__ import annotations

import signal
import threading
import time
import uuid

import pytest

from atelier_contracts import decode, encode
from atelier_inference.config import Settings
from atelier_inference.worker import Worker
from atelier_messaging.connection import connect
from atelier_messaging.publisher import Publisher, properties_for
from atelier_messaging.topology import EVENTS_EXCHANGE, JOBS_EXCHANGE, JOBS_QUEUE, dead_queue, job_routing_key, jobs_queue, retry_queue
from atelier_storage import FilesystemStorage

from .test_crash_safety_integration import spawn  # noqa: F401 - the fixture
from .test_worker_integration import collect, is_outcome, job_envelope

pytestmark = pytest.mark.integration


@pytest.fixture
def pool(amqp_url):
    """A pool of this test's own; its queues are removed afterwards."""
    name = f"t{uuid.uuid4().hex[:8]}"
    yield name
    connection = connect(amqp_url)
    try:
        channel = connection.channel()
        for queue in (jobs_queue(name), dead_queue(jobs_queue(name)), retry_queue(jobs_queue(name))):
            channel.queue_delete(queue)
    finally:
        connection.close()


@pytest.fixture
def pool_worker(amqp_url, tmp_path):
    started = []

    def start(name: str, loaded_model, **settings) -> Worker:
        worker = Worker(Settings(amqp_url=amqp_url, worker_name=name, heartbeat_every_s=0.5, **settings), loaded_model,
                        FilesystemStorage(tmp_path / "storage"))
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        started.append((worker, thread))
        consuming(amqp_url, jobs_queue(worker.settings.pool))
        return worker

    yield start
    for worker, thread in started:
        worker.stop(abort=True)
        thread.join(timeout=60)
        assert not thread.is_alive(), "the worker did not stop"


def consuming(amqp_url: str, queue: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = connect(amqp_url)
        try:
            if connection.channel().queue_declare(queue, passive=True).method.consumer_count:
                return
        except Exception:  # noqa: BLE001 - not declared yet
            pass
        finally:
            if connection.is_open:
                connection.close()
        time.sleep(0.2)
    raise AssertionError(f"nobody consumes {queue}")


def publish_to(amqp_url: str, job, pool: str) -> None:
    """As pre_inference's relay does: the job's envelope under the pool's routing key (the
    publisher declares the pool's queue if no worker of the pool ever did)."""
    publisher = Publisher(amqp_url)
    try:
        publisher.publish_raw(encode(job), exchange=JOBS_EXCHANGE, routing_key=job_routing_key(job.routing_key, pool),
                              properties=properties_for(job, priority=1))
    finally:
        publisher.close()


def queued(channel, queue: str) -> int:
    return channel.queue_declare(queue, passive=True).method.message_count


def started_by(events: list[dict], job) -> list[tuple[str, int]]:
    return [(e["data"]["worker"], e["data"]["attempt"]) for e in events
            if e["type"] == "inference.job.started" and e["data"]["job_id"] == job.data["job_id"]]


def test_each_pool_takes_only_its_own_jobs_and_names_itself_on_its_heartbeat(
        broker, pool, pool_worker, loaded, tiny_family_dir, amqp_url):
    connection, channel, events = broker
    beats = channel.queue_declare(queue="", exclusive=True).method.queue
    channel.queue_bind(queue=beats, exchange=EVENTS_EXCHANGE, routing_key="inference.worker.heartbeat.v3")
    pool_worker("small-0", loaded)
    pool_worker("large-0", None, pool=pool, model=str(tiny_family_dir("flux")), model_name="flux-large")
    flux = job_envelope(model="flux-large", guidance=3.5, negative_prompt="")
    plain = job_envelope()
    publish_to(amqp_url, flux, pool)
    publish_to(amqp_url, plain, "default")
    seen = collect(connection, channel, events, is_outcome, timeout=120)
    seen += collect(connection, channel, events, is_outcome, timeout=120)
    assert started_by(seen, flux) == [("large-0", 1)] and started_by(seen, plain) == [("small-0", 1)]
    assert [e["type"] for e in seen if is_outcome(e["type"])] == ["inference.job.succeeded"] * 2
    announced = {}
    deadline = time.monotonic() + 30
    while len(announced) < 2 and time.monotonic() < deadline:
        method, _props, body = channel.basic_get(beats, auto_ack=True)
        if method is None:
            connection.process_data_events(time_limit=0.1)
            continue
        beat = decode(body).data  # validated against the contract
        announced[beat["worker"]] = (beat["pool"], [m["name"] for m in beat["models"]])
    # The pool's worker serves its model under its own name, never as "default".
    assert announced == {"small-0": ("default", ["default"]), "large-0": (pool, ["flux-large"])}


def test_a_pools_job_waits_for_its_pool_and_survives_a_crash_there(broker, pool, pool_worker, loaded, spawn, amqp_url,
                                                                   tmp_path):
    """Scale from zero and crash safety, per pool: the default pool's worker is idle beside the
    queued job and never takes it; the pool's first worker is killed mid-job and the next one of
    the pool finishes it, once."""
    connection, channel, events = broker
    pool_worker("small-0", loaded)
    job = job_envelope(width=128, height=128, steps=150)
    publish_to(amqp_url, job, pool)
    time.sleep(1.0)
    assert queued(channel, jobs_queue(pool)) == 1 and queued(channel, JOBS_QUEUE) == 0
    first = spawn("large-1", ATELIER_POOL=pool)
    seen = collect(connection, channel, events, lambda t: t == "inference.job.progress", timeout=120)
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=30) == -signal.SIGKILL
    spawn("large-2", ATELIER_POOL=pool, ATELIER_PRELOAD_MODEL="0")
    seen += collect(connection, channel, events, is_outcome, timeout=300)
    assert started_by(seen, job) == [("large-1", 1), ("large-2", 2)]
    assert [e["type"] for e in seen if is_outcome(e["type"])] == ["inference.job.succeeded"]
    stored = sorted(p.name for p in (tmp_path / "storage" / "images" / job.data["job_id"]).iterdir())
    assert stored == ["0.png", "0.png.meta.json"]
    for queue in (jobs_queue(pool), dead_queue(jobs_queue(pool)), JOBS_QUEUE):
        assert queued(channel, queue) == 0, queue
