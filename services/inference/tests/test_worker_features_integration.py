"""Batching, cancellation and scale-to-zero, against the real RabbitMQ (the worker on a thread)."""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from atelier_contracts import make_envelope
from atelier_inference.config import Settings
from atelier_inference.model_holder import ModelHolder
from atelier_inference.pipeline import load_pipeline
from atelier_inference.worker import Worker
from atelier_messaging.publisher import Publisher
from atelier_messaging.topology import JOBS_QUEUE, dead_queue
from atelier_storage import FilesystemStorage

from .test_worker_integration import collect, is_outcome, job_envelope, publish_job, wait_for_consumer

pytestmark = pytest.mark.integration


@pytest.fixture
def run_worker(amqp_url, loaded, tmp_path):
    started = []

    def start(model=None, **overrides) -> tuple[Worker, FilesystemStorage]:
        storage = FilesystemStorage(tmp_path / "storage")
        settings = Settings(amqp_url=amqp_url, worker_name="feature-worker", **overrides)
        worker = Worker(settings, model or loaded, storage)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        started.append((worker, thread))
        wait_for_consumer(amqp_url)
        return worker, storage

    yield start
    for worker, thread in started:
        worker.stop(abort=True)
        thread.join(timeout=60)
        assert not thread.is_alive(), "the worker did not stop"


def outcomes_for(connection, channel, queue, job_ids, timeout=120.0):
    """Every event until each job has an outcome; returns {job_id: [events]}."""
    seen: dict[str, list[dict]] = {job_id: [] for job_id in job_ids}
    done: set[str] = set()
    deadline = time.monotonic() + timeout
    while done != set(job_ids):
        assert time.monotonic() < deadline, f"timed out; outcomes for {len(done)} of {len(job_ids)}"
        batch = collect(connection, channel, queue, lambda t: True, timeout=deadline - time.monotonic())
        for event in batch:
            seen[event["data"]["job_id"]].append(event)
            if is_outcome(event["type"]):
                done.add(event["data"]["job_id"])
    return seen


def cancel(amqp_url, job):
    envelope = make_envelope("pre_inference.job.canceled", 1,
                             {"job_id": job.data["job_id"], "user_id": job.data["user_id"],
                              "canceled_at": "2026-11-23T18:00:00Z"},
                             producer="pre_inference", correlation_id="req-cancel")
    publisher = Publisher(amqp_url)
    try:
        publisher.publish(envelope)
    finally:
        publisher.close()


def test_a_compatible_backlog_runs_as_one_batch(broker, run_worker, amqp_url, monkeypatch):
    import atelier_inference.worker as worker_module

    monkeypatch.setattr(worker_module, "PROGRESS_EVERY_S", 0.0)  # progress every loop turn (see below)
    connection, channel, events = broker
    batchable = [job_envelope(prompt=f"prompt {i}", seed=10 * i, n=1 + i % 2, steps=3) for i in range(3)]
    other = job_envelope(steps=2)
    for job in [*batchable, other]:
        publish_job(amqp_url, job)
    run_worker(max_batch=8, batch_window_ms=50)
    seen = outcomes_for(connection, channel, events, [j.data["job_id"] for j in [*batchable, other]])
    for job in batchable:
        types = [e["type"] for e in seen[job.data["job_id"]]]
        assert types[0] == "inference.job.started" and types.count("inference.job.succeeded") == 1, types
        result = seen[job.data["job_id"]][-1]["data"]
        assert result["timings_ms"]["batch_jobs"] == 3
        params = job.data["params"]
        assert [i["seed"] for i in result["images"]] == [params["seed"] + k for k in range(params["n"])]
        steps = [e["data"]["step"] for e in seen[job.data["job_id"]] if e["type"] == "inference.job.progress"]
        # Each job of the batch reports its steps; the last may be superseded by the outcome.
        assert steps and steps == sorted(steps) and steps[-1] <= 3
    alone = seen[other.data["job_id"]][-1]
    assert alone["type"] == "inference.job.succeeded" and "batch_jobs" not in alone["data"]["timings_ms"]
    assert channel.queue_declare(JOBS_QUEUE, passive=True).method.message_count == 0


def test_a_finished_batch_is_settled_at_once_not_at_the_next_progress_tick(broker, run_worker, amqp_url, monkeypatch):
    """The generation thread wakes the connection thread when a batch ends. With the progress
    tick stretched to a minute, a job that used to wait for that tick still ends in seconds."""
    import atelier_inference.worker as worker_module

    monkeypatch.setattr(worker_module, "PROGRESS_EVERY_S", 60.0)
    connection, channel, events = broker
    run_worker()
    for _ in range(2):  # two in a row: the loop goes back to waiting and is woken again
        job = job_envelope(steps=2)
        publish_job(amqp_url, job)
        seen = collect(connection, channel, events, is_outcome, timeout=30)  # half the tick
        assert seen[-1]["type"] == "inference.job.succeeded", seen[-1]


def test_progress_still_pending_when_a_job_ends_is_not_sent_before_its_outcome(broker, run_worker, amqp_url, monkeypatch):
    """The outcome says more than the last step: sending that step first would cost the
    consumer a transaction and every stream an update before the client hears the job ended."""
    import atelier_inference.worker as worker_module

    monkeypatch.setattr(worker_module, "PROGRESS_EVERY_S", 60.0)  # no progress tick during the job
    connection, channel, events = broker
    run_worker()
    job = job_envelope(steps=3)
    publish_job(amqp_url, job)
    seen = collect(connection, channel, events, is_outcome, timeout=30)
    assert [e["type"] for e in seen] == ["inference.job.started", "inference.job.succeeded"]


def test_a_running_job_stops_at_its_next_step_when_canceled(broker, run_worker, amqp_url):
    connection, channel, events = broker
    _worker, storage = run_worker()
    job = job_envelope(width=128, height=128, steps=150)
    publish_job(amqp_url, job)
    seen = collect(connection, channel, events, lambda t: t == "inference.job.progress", timeout=60)
    cancel(amqp_url, job)
    seen += collect(connection, channel, events, is_outcome, timeout=60)
    assert seen[-1]["type"] == "inference.job.failed" and seen[-1]["data"]["reason_code"] == "canceled"
    last_step = max(e["data"]["step"] for e in seen if e["type"] == "inference.job.progress")
    assert last_step < 150
    assert not storage.exists(f"images/{job.data['job_id']}/0.png")
    assert channel.queue_declare(JOBS_QUEUE, passive=True).method.message_count == 0


def test_a_job_canceled_before_it_starts_is_skipped(broker, run_worker, amqp_url):
    connection, channel, events = broker
    _worker, storage = run_worker()
    job = job_envelope()
    cancel(amqp_url, job)
    time.sleep(0.5)  # the cancellation reaches the worker's own queue first
    publish_job(amqp_url, job)
    seen = collect(connection, channel, events, is_outcome)
    assert [e["type"] for e in seen] == ["inference.job.failed"]
    assert seen[0]["data"]["reason_code"] == "canceled"
    assert channel.queue_declare(JOBS_QUEUE, passive=True).method.message_count == 0
    assert channel.queue_declare(dead_queue(JOBS_QUEUE), passive=True).method.message_count == 0


def test_idle_worker_unloads_and_the_next_job_shows_warming_up(broker, run_worker, amqp_url, tiny_model_dir):
    connection, channel, events = broker
    holder = ModelHolder(lambda: load_pipeline(str(tiny_model_dir), "cpu"), idle_unload_s=0.5)
    run_worker(model=holder)
    first = job_envelope()
    publish_job(amqp_url, first)
    seen = collect(connection, channel, events, is_outcome)
    assert seen[-1]["type"] == "inference.job.succeeded"
    assert seen[-1]["data"]["timings_ms"]["load"] > 0  # the holder started cold
    deadline = time.monotonic() + 30
    while (state := holder.state()).loaded:
        assert time.monotonic() < deadline, "the idle model was never unloaded"
        time.sleep(0.1)
    assert state.unloads == 1
    second = job_envelope(steps=2)
    publish_job(amqp_url, second)
    seen = collect(connection, channel, events, is_outcome)
    assert [e["type"] for e in seen[:2]] == ["inference.job.started", "inference.job.progress"]
    assert seen[1]["data"] == {"job_id": second.data["job_id"], "step": 0, "total_steps": 2, "phase": "loading"}
    assert all(e["data"]["phase"] == "generating" for e in seen[2:] if e["type"] == "inference.job.progress")
    assert seen[-1]["type"] == "inference.job.succeeded" and seen[-1]["data"]["timings_ms"]["load"] > 0
    assert holder.state().loads == 2


def test_a_warm_worker_reports_no_load_time(broker, run_worker, amqp_url):
    connection, channel, events = broker
    run_worker()
    publish_job(amqp_url, job_envelope())
    seen = collect(connection, channel, events, is_outcome)
    assert seen[-1]["data"]["timings_ms"]["load"] == 0
    assert not any(e["type"] == "inference.job.progress" and e["data"]["phase"] == "loading" for e in seen)
    assert uuid.UUID(seen[-1]["data"]["job_id"])


def test_img2img_and_inpaint_jobs_through_the_broker(broker, run_worker, amqp_url, monkeypatch):
    import atelier_inference.worker as worker_module

    monkeypatch.setattr(worker_module, "PROGRESS_EVERY_S", 0.0)  # progress every loop turn: its total_steps is checked
    import io

    from PIL import Image

    connection, channel, events = broker
    _worker, storage = run_worker()
    for key, image in (("uploads/u1/init.png", Image.new("RGB", (96, 80), (200, 40, 40))),
                       ("uploads/u1/mask.png", Image.new("L", (96, 80), 255))):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        storage.put_bytes(key, buffer.getvalue(), content_type="image/png")
    img2img = job_envelope(kind="img2img", init_image_key="uploads/u1/init.png", mask_key=None, strength=0.5, steps=4)
    inpaint = job_envelope(kind="inpaint", init_image_key="uploads/u1/init.png", mask_key="uploads/u1/mask.png", steps=2)
    missing = job_envelope(kind="img2img", init_image_key="uploads/u1/nope.png", mask_key=None, strength=0.5)
    for job in (img2img, inpaint, missing):
        publish_job(amqp_url, job)
    seen = outcomes_for(connection, channel, events, [j.data["job_id"] for j in (img2img, inpaint, missing)])
    for job in (img2img, inpaint):
        outcome = seen[job.data["job_id"]][-1]
        assert outcome["type"] == "inference.job.succeeded", outcome
        image = outcome["data"]["images"][0]
        assert (image["width"], image["height"]) == (64, 64)
        assert storage.read_meta(image["key"])["metadata"]["params"]["init_image_key"] == "uploads/u1/init.png"
    steps = [e["data"]["total_steps"] for e in seen[img2img.data["job_id"]] if e["type"] == "inference.job.progress"]
    assert steps and set(steps) == {2}  # strength 0.5 of 4 steps
    failure = seen[missing.data["job_id"]][-1]
    assert failure["type"] == "inference.job.failed" and failure["data"]["reason_code"] == "input_missing"
