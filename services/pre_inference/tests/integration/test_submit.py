"""POST /api/v1/jobs: the job row and its outbox message are written together, once."""
import asyncio
import json
import uuid

import pytest
from atelier_contracts import decode
from sqlalchemy import text

pytestmark = pytest.mark.integration

JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk"}


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def outbox_for(db, job_id: str, routing_key: str = "inference.job.requested.v1") -> list:
    return db.execute(
        text("SELECT exchange, routing_key, priority, body FROM outbox WHERE body::jsonb -> 'data' ->> 'job_id' = :id AND routing_key = :rk"),
        {"id": job_id, "rk": routing_key},
    ).all()


async def test_submit_writes_the_job_and_exactly_one_valid_outbox_message(client, make_token, db):
    user_id = str(uuid.uuid4())
    response = await client.post("/api/v1/jobs", json={**JOB, "width": 256, "height": 384}, headers=auth(make_token(sub=user_id, tier="pro")))

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued" and body["progress"] == 0 and body["images"] == []
    assert response.headers["location"] == f"/api/v1/jobs/{body['id']}"
    params = body["params"]
    assert (params["width"], params["height"], params["steps"], params["n"], params["model"]) == (256, 384, 20, 1, "default")
    assert 0 <= params["seed"] <= 2**32 - 1

    row = db.execute(text("SELECT user_id::text, status, params, priority, tier FROM jobs WHERE id = :id"), {"id": body["id"]}).one()
    assert row.user_id == user_id and row.status == "queued" and row.params == params and row.priority == 5

    messages = outbox_for(db, body["id"])
    assert len(messages) == 1
    exchange, routing_key, priority, raw = messages[0]
    envelope = decode(raw)  # validates envelope and payload against the contract
    assert (exchange, routing_key, priority) == ("atelier.jobs", "inference.job.requested.v1", 5)
    assert envelope.data["user_id"] == user_id and envelope.data["params"] == params and envelope.data["priority"] == 5
    (exchange, _, _, raw), = outbox_for(db, body["id"], "pre_inference.job.accepted.v1")
    accepted = decode(raw)
    assert exchange == "atelier.events" and accepted.data["images"] == 1 and accepted.data["cost"] == 1.0


async def test_free_tier_gets_low_priority_and_the_seed_it_asked_for(client, make_token, db):
    response = await client.post("/api/v1/jobs", json={**JOB, "seed": 1234}, headers=auth(make_token(tier="free")))
    assert response.status_code == 202
    assert response.json()["params"]["seed"] == 1234
    (_, _, priority, raw), = outbox_for(db, response.json()["id"])
    assert priority == 1 and json.loads(raw)["data"]["params"]["seed"] == 1234


async def test_retry_with_the_same_idempotency_key_returns_the_same_job(client, make_token, db):
    token = make_token()
    headers = auth(token, **{"Idempotency-Key": "submit-1"})
    first = await client.post("/api/v1/jobs", json=JOB, headers=headers)
    second = await client.post("/api/v1/jobs", json=JOB, headers=headers)

    assert first.status_code == 202 and second.status_code == 200
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert len(outbox_for(db, first.json()["id"])) == 1


async def test_the_same_key_from_another_user_is_another_job(client, make_token):
    headers = {"Idempotency-Key": "shared-key"}
    mine = await client.post("/api/v1/jobs", json=JOB, headers=auth(make_token(), **headers))
    theirs = await client.post("/api/v1/jobs", json=JOB, headers=auth(make_token(), **headers))
    assert mine.status_code == theirs.status_code == 202
    assert mine.json()["id"] != theirs.json()["id"]


async def test_reusing_a_key_for_a_different_request_is_a_conflict(client, make_token):
    token = make_token()
    headers = auth(token, **{"Idempotency-Key": "k-2"})
    assert (await client.post("/api/v1/jobs", json=JOB, headers=headers)).status_code == 202
    response = await client.post("/api/v1/jobs", json={**JOB, "prompt": "something else"}, headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"


async def test_concurrent_submits_with_one_key_make_one_job(client, make_token, db):
    user_id = str(uuid.uuid4())
    headers = auth(make_token(sub=user_id), **{"Idempotency-Key": "race"})
    responses = await asyncio.gather(*(client.post("/api/v1/jobs", json=JOB, headers=headers) for _ in range(4)))

    assert sorted(r.status_code for r in responses) == [200, 200, 200, 202]
    assert len({r.json()["id"] for r in responses}) == 1
    assert db.execute(text("SELECT count(*) FROM jobs WHERE user_id = :u"), {"u": user_id}).scalar() == 1
    assert len(outbox_for(db, responses[0].json()["id"])) == 1


async def test_a_refused_submit_writes_nothing(client, make_token, db):
    user_id = str(uuid.uuid4())
    response = await client.post("/api/v1/jobs", json={**JOB, "kind": "img2img"}, headers=auth(make_token(sub=user_id)))
    assert response.status_code == 422 and response.json()["error"]["fields"] == {"init_image": ["img2img needs an init_image"]}
    assert db.execute(text("SELECT count(*) FROM jobs WHERE user_id = :u"), {"u": user_id}).scalar() == 0
