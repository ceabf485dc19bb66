"""Routing to worker pools: a job goes to the queue of a pool that serves its model (heartbeat
v3 names each worker's pool), or, while that pool is at zero, to the one PRE_INFERENCE_MODEL_POOLS
names; its queue position counts only the jobs ahead of it in that queue."""
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from .helpers import deliver, iso
from .test_model_catalogue import JOB, SCHNELL, SD1, age, auth

pytestmark = pytest.mark.integration
FLUX_JOB = {**JOB, "model": "flux-schnell", "guidance": 0.0}


@pytest.fixture
def factory(sync_engine):
    return sessionmaker(sync_engine, expire_on_commit=False)


@pytest.fixture(autouse=True)
def empty_catalogue(db):
    db.execute(text("DELETE FROM model_catalogue"))
    db.commit()
    yield
    db.execute(text("DELETE FROM model_catalogue"))
    db.commit()


@pytest.fixture
def pool():
    """A pool name of this test's own: queue positions count only its jobs."""
    return f"large-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def routing(app):
    """Sets PRE_INFERENCE_MODEL_POOLS and admits unserved models (a scaled-to-zero cluster)."""
    settings = app.state.settings

    def configure(model_pools: str, admit: bool = True) -> None:
        settings.pre_inference_model_pools = model_pools
        settings.pre_inference_admit_unserved_models = admit

    yield configure
    configure("", False)


def heartbeat(factory, models, *, worker, pool=None, version=3):
    data = {"worker": worker, "device": "cuda", "interval_s": 10,
            "memory": {"total_bytes": None, "used_bytes": None, "models_bytes": 0, "budget_bytes": None},
            "models": models, "sent_at": iso(datetime.now(timezone.utc))}
    if pool is not None:
        data["pool"] = pool
    return deliver(factory, f"inference.worker.heartbeat.v{version}", data, producer="inference")


async def submit(client, make_token, body):
    response = await client.post("/api/v1/jobs", json=body, headers=auth(make_token()))
    assert response.status_code == 202, response.text
    return response.json()


def sent_to(db, job_id: str) -> tuple[str, str, str]:
    """(exchange, routing key) of the job's inference.job.requested in the outbox, and jobs.pool."""
    exchange, key = db.execute(text(
        "SELECT exchange, routing_key FROM outbox WHERE exchange = 'atelier.jobs' AND body::jsonb->'data'->>'job_id' = :id"
    ), {"id": job_id}).one()
    pool = db.execute(text("SELECT pool FROM jobs WHERE id = :id"), {"id": job_id}).scalar_one()
    return exchange, key, pool


async def test_jobs_go_to_the_pool_whose_workers_serve_their_model(client, make_token, factory, db, pool):
    heartbeat(factory, [SD1], worker="small-0", version=2)  # before pools: the pool "default"
    heartbeat(factory, [SCHNELL], worker="large-0", pool=pool)
    flux = await submit(client, make_token, FLUX_JOB)
    plain = await submit(client, make_token, JOB)
    assert sent_to(db, flux["id"]) == ("atelier.jobs", f"inference.job.requested.v1.{pool}", pool)
    assert sent_to(db, plain["id"]) == ("atelier.jobs", "inference.job.requested.v1", "default")


async def test_the_queue_position_counts_only_the_jobs_of_the_same_pool(client, make_token, factory, db, pool):
    heartbeat(factory, [SD1], worker="small-0", pool="default")
    heartbeat(factory, [SCHNELL], worker="large-0", pool=pool)
    await submit(client, make_token, JOB)  # ahead in time, but in the other queue
    first = await submit(client, make_token, FLUX_JOB)
    second = await submit(client, make_token, FLUX_JOB)
    assert (first["queue_position"], second["queue_position"]) == (0, 1)
    token = make_token()
    third = await submit(client, lambda: token, FLUX_JOB)
    response = await client.get(f"/api/v1/jobs/{third['id']}", headers=auth(token))
    assert response.json()["queue_position"] == 2


async def test_a_pool_with_the_model_loaded_is_preferred(client, make_token, factory, db, pool):
    other = f"{pool}-b"
    heartbeat(factory, [{**SCHNELL, "loaded": False}], worker="cold-0", pool=other)
    heartbeat(factory, [{**SCHNELL, "loaded": False}], worker="cold-1", pool=other)
    heartbeat(factory, [{**SCHNELL, "loaded": True}], worker="warm-0", pool=pool)
    job = await submit(client, make_token, FLUX_JOB)
    assert sent_to(db, job["id"])[2] == pool


async def test_at_zero_workers_the_configured_pool_wins_then_the_last_one_that_served(
        client, make_token, factory, db, pool, routing):
    heartbeat(factory, [SCHNELL], worker="gone-0", pool=pool)
    age(db, "gone-0", 3600)
    routing("")  # admitted, nothing configured: where it was served last
    job = await submit(client, make_token, FLUX_JOB)
    assert sent_to(db, job["id"])[2] == pool
    routing(f"flux-schnell={pool}-new,other=x")
    job = await submit(client, make_token, FLUX_JOB)
    assert sent_to(db, job["id"])[2] == f"{pool}-new"


async def test_a_configured_model_no_worker_announced_yet_starts_its_pool(client, make_token, factory, db, pool, routing):
    heartbeat(factory, [SD1], worker="small-0", pool="default")
    routing(f"flux-schnell={pool}", admit=False)
    response = await client.post("/api/v1/jobs", json=FLUX_JOB, headers=auth(make_token()))
    assert response.status_code == 422 and response.json()["error"]["code"] == "model_unknown"
    routing(f"flux-schnell={pool}")
    job = await submit(client, make_token, FLUX_JOB)
    assert sent_to(db, job["id"])[2] == pool
    # A model neither served nor configured stays unknown, admitted or not.
    response = await client.post("/api/v1/jobs", json={**JOB, "model": "sd9000"}, headers=auth(make_token()))
    assert response.status_code == 422 and response.json()["error"]["code"] == "model_unknown"


async def test_the_catalogue_keeps_each_workers_pool(factory, db, pool):
    heartbeat(factory, [SD1], worker="old-0", version=1)
    heartbeat(factory, [SCHNELL], worker="new-0", pool=pool)
    rows = dict(db.execute(text("SELECT worker, pool FROM model_catalogue")).all())
    assert rows == {"old-0": "default", "new-0": pool}
