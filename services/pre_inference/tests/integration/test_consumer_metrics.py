"""Integration: pre_inference_jobs_finished_total{status,reason} counts each job once, when
the transaction that finished it commits (the worker's events, the sweeper's deadlines),
never for a duplicate event or a rolled-back transition."""
import uuid
from datetime import datetime, timezone

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from app.adapters import job_events
from app.consumer_metrics import count_finished_after_commit

from .test_consumers import deliver, failed, started, succeeded

pytestmark = pytest.mark.integration


def finished(status: str, reason: str) -> float:
    return REGISTRY.get_sample_value("pre_inference_jobs_finished_total", {"status": status, "reason": reason}) or 0.0


def new_job(db) -> uuid.UUID:
    job_id = uuid.uuid4()
    db.execute(text("INSERT INTO jobs (id, user_id, tier, kind, params, priority, deadline_at) "
                    "VALUES (:id, :user, 'free', 'txt2img', '{}'::jsonb, 1, now() + interval '10 minutes')"),
               {"id": job_id, "user": uuid.uuid4()})
    db.commit()
    return job_id


@pytest.fixture
def factory(sync_engine):
    factory = sessionmaker(sync_engine, expire_on_commit=False)
    count_finished_after_commit(factory)
    return factory


def test_terminal_transitions_are_counted_once_after_commit(factory, db):
    ok, oom, rolled_back = new_job(db), new_job(db), new_job(db)
    before = finished("succeeded", ""), finished("failed", "out_of_memory"), finished("failed", "timeout")
    deliver(factory, "inference.job.started.v1", started(ok))
    for _ in range(2):  # the second is a distinct but equivalent message (a worker retry)
        deliver(factory, "inference.job.succeeded.v1", succeeded(ok))
        deliver(factory, "inference.job.failed.v1", failed(oom))
    with factory() as session:
        with session.begin():
            assert job_events.mark_failed(session, rolled_back, "timeout", "test", datetime.now(timezone.utc))
            session.rollback()
    after = finished("succeeded", ""), finished("failed", "out_of_memory"), finished("failed", "timeout")
    assert [b - a for a, b in zip(before, after)] == [1, 1, 0]
