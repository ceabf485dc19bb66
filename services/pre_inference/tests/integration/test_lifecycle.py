"""Cancel, the sweeper, live job state (phase, step, queue position)."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from atelier_contracts import decode
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from app.sweeper import sweep_once

from .helpers import deliver, iso

pytestmark = pytest.mark.integration
JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk"}


@pytest.fixture
def factory(sync_engine):
    return sessionmaker(sync_engine, expire_on_commit=False)


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def events_for(db, job_id, routing_key):
    rows = db.execute(
        text("SELECT body FROM outbox WHERE routing_key = :rk AND body::jsonb -> 'data' ->> 'job_id' = :id"), {"rk": routing_key, "id": str(job_id)}
    ).scalars()
    return [decode(r).data for r in rows]


def allowance_used(db, user):
    db.expire_all()
    return db.execute(text("SELECT allowance_used FROM accounts WHERE user_id = :u"), {"u": user}).scalar()


async def submit(client, token, **body):
    response = await client.post("/api/v1/jobs", json={**JOB, **body}, headers=auth(token))
    assert response.status_code == 202, response.text
    return response.json()


async def test_cancel_a_queued_job_returns_its_reservation(client, make_token, db):
    user = uuid.uuid4()
    token = make_token(sub=str(user))
    job = await submit(client, token, n=2)
    assert allowance_used(db, user) == 2
    response = await client.delete(f"/api/v1/jobs/{job['id']}", headers=auth(token))
    assert response.status_code == 202 and response.json()["status"] == "canceled" and response.json()["phase"] == "canceled"
    assert allowance_used(db, user) == 0
    assert [e["status"] for e in events_for(db, job["id"], "pre_inference.job.finished.v1")] == ["canceled"]
    assert len(events_for(db, job["id"], "pre_inference.job.canceled.v1")) == 1
    again = await client.delete(f"/api/v1/jobs/{job['id']}", headers=auth(token))
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_finished"
    # the freed concurrency slot (free: 1) can be used again
    await submit(client, token)


async def test_cancel_a_running_job_and_the_late_outcome_changes_nothing(client, make_token, db, factory):
    token = make_token(tier="pro")
    job = await submit(client, token)
    deliver(factory, "inference.job.started.v1", {"job_id": job["id"], "worker": "w", "attempt": 1, "started_at": iso(datetime.now(timezone.utc))}, producer="inference")
    response = await client.delete(f"/api/v1/jobs/{job['id']}", headers=auth(token))
    assert response.status_code == 202 and response.json()["status"] == "canceled"
    images = [{"key": f"jobs/{job['id']}/0.png", "seed": 1, "width": 64, "height": 64, "content_type": "image/png"}]
    deliver(factory, "inference.job.succeeded.v1", {"job_id": job["id"], "images": images, "timings_ms": {}, "finished_at": iso(datetime.now(timezone.utc))}, producer="inference")
    after = (await client.get(f"/api/v1/jobs/{job['id']}", headers=auth(token))).json()
    assert after["status"] == "canceled" and after["images"] == []
    assert len(events_for(db, job["id"], "pre_inference.job.finished.v1")) == 1


async def test_cancel_someone_elses_job_is_not_found(client, make_token):
    job = await submit(client, make_token())
    response = await client.delete(f"/api/v1/jobs/{job['id']}", headers=auth(make_token()))
    assert response.status_code == 404


async def test_sweeper_fails_overdue_jobs_once_and_returns_reservations(client, make_token, db, factory):
    queued_user, running_user = uuid.uuid4(), uuid.uuid4()
    queued = await submit(client, make_token(sub=str(queued_user)))
    running = await submit(client, make_token(sub=str(running_user)))
    fresh = await submit(client, make_token())
    deliver(factory, "inference.job.started.v1", {"job_id": running["id"], "worker": "w", "attempt": 1, "started_at": iso(datetime.now(timezone.utc))}, producer="inference")
    db.execute(text("UPDATE jobs SET deadline_at = now() - interval '1 second' WHERE id = :id"), {"id": queued["id"]})
    db.execute(text("UPDATE jobs SET time_limit_at = now() - interval '1 second' WHERE id = :id"), {"id": running["id"]})
    db.commit()
    later = datetime.now(timezone.utc) + timedelta(seconds=1)
    first = sweep_once(factory, later)
    assert first["deadline_exceeded"] >= 1 and first["timeout"] >= 1
    assert sweep_once(factory, later) == {"deadline_exceeded": 0, "timeout": 0}
    db.expire_all()
    rows = dict(db.execute(text("SELECT id::text, coalesce(error_code, status) FROM jobs WHERE id IN (:a, :b, :c)"), {"a": queued["id"], "b": running["id"], "c": fresh["id"]}).all())
    assert rows == {queued["id"]: "deadline_exceeded", running["id"]: "timeout", fresh["id"]: "queued"}
    assert allowance_used(db, queued_user) == 0 and allowance_used(db, running_user) == 0
    for job in (queued, running):
        assert [e["status"] for e in events_for(db, job["id"], "pre_inference.job.finished.v1")] == ["failed"]


async def test_phase_step_and_queue_position(client, make_token, factory):
    token = make_token(tier="partner")
    ids = [(await submit(client, token))["id"] for _ in range(3)]
    positions = [(await client.get(f"/api/v1/jobs/{i}", headers=auth(token))).json()["queue_position"] for i in ids]
    assert positions[0] < positions[1] < positions[2]
    deliver(factory, "inference.job.started.v1", {"job_id": ids[0], "worker": "w", "attempt": 1, "started_at": iso(datetime.now(timezone.utc))}, producer="inference")
    deliver(factory, "inference.job.progress.v1", {"job_id": ids[0], "step": 0, "total_steps": 20, "phase": "loading"}, producer="inference")
    job = (await client.get(f"/api/v1/jobs/{ids[0]}", headers=auth(token))).json()
    assert (job["phase"], job["queue_position"], job["step"], job["total_steps"]) == ("warming_up", None, 0, 20)
    assert (await client.get(f"/api/v1/jobs/{ids[1]}", headers=auth(token))).json()["queue_position"] == positions[1] - 1
    deliver(factory, "inference.job.progress.v1", {"job_id": ids[0], "step": 5, "total_steps": 20}, producer="inference")
    job = (await client.get(f"/api/v1/jobs/{ids[0]}", headers=auth(token))).json()
    assert (job["phase"], job["step"], job["progress"]) == ("running", 5, 0.25)
