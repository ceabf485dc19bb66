"""The worker's events move jobs along exactly once, whatever the order or repetition."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from atelier_contracts import make_envelope
from atelier_messaging.publisher import Publisher
from atelier_messaging.sqlalchemy import SqlAlchemyUnitOfWork
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from app import consumers

pytestmark = pytest.mark.integration

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def factory(sync_engine):
    return sessionmaker(sync_engine, expire_on_commit=False)


@pytest.fixture
def job_id(db) -> uuid.UUID:
    job_id = uuid.uuid4()
    db.execute(
        text(
            "INSERT INTO jobs (id, user_id, tier, kind, params, priority, deadline_at) "
            "VALUES (:id, :user, 'free', 'txt2img', '{}'::jsonb, 1, now() + interval '10 minutes')"
        ),
        {"id": job_id, "user": uuid.uuid4()},
    )
    db.commit()
    return job_id


def deliver(factory, routing_key: str, data: dict, message_id: str | None = None):
    """What Consumer.handle does for one message: inbox claim and effect in one transaction."""
    event_type = routing_key.rsplit(".", 1)[0]
    envelope = make_envelope(event_type, 1, data, producer="inference", message_id=message_id)
    unit = SqlAlchemyUnitOfWork(factory)
    with unit.begin() as tx:
        if unit.claim(tx, envelope.id, consumers.QUEUE):
            consumers.HANDLERS[routing_key](envelope, tx)
    return envelope


def started(job_id, at=T0):
    return {"job_id": str(job_id), "worker": "w1", "attempt": 1, "started_at": iso(at)}


def succeeded(job_id, n=2):
    images = [{"key": f"jobs/{job_id}/{i}.png", "seed": 10 + i, "width": 64, "height": 64, "content_type": "image/png"} for i in range(n)]
    return {"job_id": str(job_id), "images": images, "timings_ms": {"total": 12.5}, "finished_at": iso(T0 + timedelta(seconds=30))}


def failed(job_id):
    return {"job_id": str(job_id), "reason_code": "out_of_memory", "message": "the GPU ran out of memory", "finished_at": iso(T0)}


def progress(job_id, step, total=20):
    return {"job_id": str(job_id), "step": step, "total_steps": total}


def job_row(db, job_id):
    db.expire_all()
    return db.execute(text("SELECT status, progress, started_at, finished_at, error_code FROM jobs WHERE id = :id"), {"id": job_id}).one()


def image_rows(db, job_id):
    return db.execute(text("SELECT position, key, seed, width, height, content_type FROM images WHERE job_id = :id ORDER BY position"), {"id": job_id}).all()


def test_happy_path(factory, db, job_id):
    deliver(factory, "inference.job.started.v1", started(job_id))
    assert job_row(db, job_id).status == "running"
    deliver(factory, "inference.job.progress.v1", progress(job_id, 10))
    assert job_row(db, job_id).progress == 0.5
    deliver(factory, "inference.job.succeeded.v1", succeeded(job_id))
    row = job_row(db, job_id)
    assert (row.status, row.progress, row.started_at, row.finished_at) == ("succeeded", 1.0, T0, T0 + timedelta(seconds=30))
    assert [(r.key, r.seed, r.content_type) for r in image_rows(db, job_id)] == [
        (f"jobs/{job_id}/0.png", 10, "image/png"), (f"jobs/{job_id}/1.png", 11, "image/png"),
    ]


def test_succeeded_twice_gives_one_set_of_images(factory, db, job_id):
    deliver(factory, "inference.job.succeeded.v1", succeeded(job_id))
    deliver(factory, "inference.job.succeeded.v1", succeeded(job_id))  # a new message id: not an inbox duplicate
    deliver(factory, "inference.job.succeeded.v1", succeeded(job_id, n=3))  # a retried worker with more output
    assert len(image_rows(db, job_id)) == 2


def test_late_started_after_succeeded_changes_nothing(factory, db, job_id):
    deliver(factory, "inference.job.succeeded.v1", succeeded(job_id))
    before = job_row(db, job_id)
    deliver(factory, "inference.job.started.v1", started(job_id))
    deliver(factory, "inference.job.progress.v1", progress(job_id, 3))
    deliver(factory, "inference.job.failed.v1", failed(job_id))
    assert job_row(db, job_id) == before and before.status == "succeeded"


def test_second_start_keeps_the_first_started_at(factory, db, job_id):
    deliver(factory, "inference.job.started.v1", started(job_id, T0))
    deliver(factory, "inference.job.started.v1", started(job_id, T0 + timedelta(minutes=1)))
    assert job_row(db, job_id).started_at == T0


def test_progress_only_while_running_and_never_backwards(factory, db, job_id):
    deliver(factory, "inference.job.progress.v1", progress(job_id, 5))
    assert job_row(db, job_id).progress == 0  # still queued
    deliver(factory, "inference.job.started.v1", started(job_id))
    deliver(factory, "inference.job.progress.v1", progress(job_id, 15))
    deliver(factory, "inference.job.progress.v1", progress(job_id, 5))
    deliver(factory, "inference.job.progress.v1", progress(job_id, 40))
    assert job_row(db, job_id).progress == 1.0  # clamped, and the late 5/20 did not undo 15/20


def test_failed_records_the_reason_and_blocks_success(factory, db, job_id):
    deliver(factory, "inference.job.failed.v1", failed(job_id))
    deliver(factory, "inference.job.succeeded.v1", succeeded(job_id))
    row = job_row(db, job_id)
    assert (row.status, row.error_code) == ("failed", "out_of_memory") and image_rows(db, job_id) == []


def test_events_for_unknown_jobs_are_ignored(factory, db):
    deliver(factory, "inference.job.succeeded.v1", succeeded(uuid.uuid4()))  # must not raise


def test_through_the_broker_a_redelivered_message_has_its_effect_once(factory, db, job_id, settings):
    consumer = consumers.build_consumer(factory)
    publisher = Publisher(settings.atelier_amqp_url)
    try:
        envelope = make_envelope("inference.job.succeeded", 1, succeeded(job_id), producer="inference")
        publisher.publish(envelope)
        publisher.publish(envelope)  # the same id twice: the inbox drops the second
        publisher.publish(make_envelope("inference.job.started", 1, started(job_id), producer="inference"))
    finally:
        publisher.close()
    assert consumer.drain(settings.atelier_amqp_url, idle_s=0.5, timeout_s=20) == 3
    assert job_row(db, job_id).status == "succeeded" and len(image_rows(db, job_id)) == 2
    inbox = db.execute(text("SELECT count(*) FROM inbox WHERE message_id = :id"), {"id": envelope.id}).scalar()
    assert inbox == 1


def test_the_aio_consumer_main_runs_has_the_same_effect_once(factory, db, job_id, settings):
    import asyncio

    consumer = consumers.build_aio_consumer(factory)
    publisher = Publisher(settings.atelier_amqp_url)
    try:
        envelope = make_envelope("inference.job.succeeded", 1, succeeded(job_id), producer="inference")
        publisher.publish(envelope)
        publisher.publish(envelope)
        publisher.publish(make_envelope("inference.job.started", 1, started(job_id), producer="inference"))
    finally:
        publisher.close()
    assert asyncio.run(consumer.drain(settings.atelier_amqp_url, idle_s=0.5, timeout_s=20)) == 3
    assert job_row(db, job_id).status == "succeeded" and len(image_rows(db, job_id)) == 2
    inbox = db.execute(text("SELECT count(*) FROM inbox WHERE message_id = :id"), {"id": envelope.id}).scalar()
    assert inbox == 1
