"""Admission: verified, tier from the projection, rate limits, concurrency caps and the
daily allowance + credits, including under 20 parallel submits."""
import asyncio
import uuid
from datetime import datetime, timezone

import pytest
from atelier_contracts import decode
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from app.adapters import job_events

pytestmark = pytest.mark.integration
JOB = {"kind": "txt2img", "prompt": "a lighthouse at dusk"}
SCOPES = ["jobs:write", "jobs:read", "images:read", "usage:read"]


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def set_account(db, user_id, **values):
    columns = {"tier": None, "verified": None, "credits": 0, "allowance_used": 0, "allowance_day": datetime.now(timezone.utc).date(), **values}
    names = ", ".join(columns)
    db.execute(text(f"INSERT INTO accounts (user_id, {names}) VALUES (:user_id, {', '.join(':' + n for n in columns)})"), {"user_id": user_id, **columns})
    db.commit()


def account(db, user_id):
    db.expire_all()
    return db.execute(text("SELECT allowance_used, credits FROM accounts WHERE user_id = :u"), {"u": user_id}).one()


async def test_unverified_cannot_generate_unless_the_projection_says_verified(client, make_token, db):
    user = uuid.uuid4()
    response = await client.post("/api/v1/jobs", json=JOB, headers=auth(make_token(sub=str(user), verified=False)))
    assert response.status_code == 403 and response.json()["error"]["code"] == "email_unverified"
    set_account(db, user, verified=True)
    response = await client.post("/api/v1/jobs", json=JOB, headers=auth(make_token(sub=str(user), verified=False)))
    assert response.status_code == 202, response.text


async def test_the_projection_tier_wins_over_a_stale_token(client, make_token, db):
    upgraded, downgraded = uuid.uuid4(), uuid.uuid4()
    set_account(db, upgraded, tier="pro")
    set_account(db, downgraded, tier="free")
    big = {**JOB, "width": 1024, "height": 1024}
    assert (await client.post("/api/v1/jobs", json=big, headers=auth(make_token(sub=str(upgraded), tier="free")))).status_code == 202
    refused = await client.post("/api/v1/jobs", json=big, headers=auth(make_token(sub=str(downgraded), tier="pro")))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "exceeds_tier"


async def test_rate_limit_is_weighted_by_cost_and_says_when_to_retry(client, make_token):
    token = make_token(tier="pro")  # 60 units a minute; this job costs 4 * 4 * 50/30 = 26.67
    heavy = {**JOB, "width": 1024, "height": 1024, "steps": 50, "n": 4}
    first = await client.post("/api/v1/jobs", json=heavy, headers=auth(token))
    second = await client.post("/api/v1/jobs", json=heavy, headers=auth(token))
    third = await client.post("/api/v1/jobs", json=heavy, headers=auth(token))
    assert (first.status_code, second.status_code, third.status_code) == (202, 202, 429)
    assert first.headers["RateLimit-Policy"] == '"user";q=60;w=60;qu="cost-units"'
    assert first.headers["RateLimit"].startswith('"user";r=33;')
    error = third.json()["error"]
    assert error["code"] == "rate_limited" and 1 <= error["retry_after"] <= 60
    assert third.headers["Retry-After"] == str(error["retry_after"])
    # 60 - 2 * 26.67 = 6.67 units left, plus whatever refilled meanwhile (one unit a second)
    assert third.headers["RateLimit"].startswith(('"user";r=6;', '"user";r=7;'))


async def test_concurrency_cap_and_the_reservation_comes_back_on_failure(client, make_token, db, sync_engine):
    user = uuid.uuid4()
    set_account(db, user, verified=True, allowance_used=49, credits=2)
    token = make_token(sub=str(user))  # free: 50 images a day, 1 job at a time
    # steps 10 keeps each cost small, so free's 5 units a minute do not interfere
    over = await client.post("/api/v1/jobs", json={**JOB, "n": 4, "steps": 10}, headers=auth(token))
    assert over.status_code == 429 and over.json()["error"]["code"] == "quota_exceeded"
    assert int(over.headers["Retry-After"]) > 0
    first = await client.post("/api/v1/jobs", json={**JOB, "n": 3, "steps": 10}, headers=auth(token))
    assert first.status_code == 202 and account(db, user) == (50, 0)  # 1 from the allowance, 2 credits
    second = await client.post("/api/v1/jobs", json=JOB, headers=auth(token))
    assert second.status_code == 429 and second.json()["error"]["code"] == "concurrency_limit"
    with sessionmaker(sync_engine)() as session, session.begin():
        assert job_events.mark_failed(session, uuid.UUID(first.json()["id"]), "out_of_memory", "oom", datetime.now(timezone.utc))
    assert account(db, user) == (49, 2)
    (raw,) = db.execute(
        text("SELECT body FROM outbox WHERE routing_key = 'pre_inference.job.finished.v1' AND body::jsonb -> 'data' ->> 'job_id' = :id"),
        {"id": first.json()["id"]},
    ).scalars()
    finished = decode(raw).data
    assert (finished["status"], finished["charged_allowance"], finished["charged_credits"], finished["images"]) == ("failed", 0, 0, 0)


async def test_a_succeeded_job_is_charged_for_good(client, make_token, db, sync_engine):
    user = uuid.uuid4()
    set_account(db, user, verified=True, allowance_used=49, credits=5)
    response = await client.post("/api/v1/jobs", json={**JOB, "n": 2}, headers=auth(make_token(sub=str(user))))
    job_id = uuid.UUID(response.json()["id"])
    images = [{"key": f"jobs/{job_id}/{i}.png", "seed": i, "width": 64, "height": 64, "content_type": "image/png"} for i in range(2)]
    with sessionmaker(sync_engine)() as session, session.begin():
        assert job_events.mark_succeeded(session, job_id, images, datetime.now(timezone.utc))
    assert account(db, user) == (50, 4)
    (raw,) = db.execute(
        text("SELECT body FROM outbox WHERE routing_key = 'pre_inference.job.finished.v1' AND body::jsonb -> 'data' ->> 'job_id' = :id"),
        {"id": str(job_id)},
    ).scalars()
    data = decode(raw).data
    assert (data["status"], data["charged_allowance"], data["charged_credits"], data["images"]) == ("succeeded", 1, 1, 2)


async def test_api_key_scope_and_revocation(client, make_token, db):
    user, key_id = uuid.uuid4(), str(uuid.uuid4())
    read_only = make_token(sub=str(user), tier="partner", key_id=key_id, scopes=["jobs:read"])
    response = await client.post("/api/v1/jobs", json=JOB, headers=auth(read_only))
    assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_scope"
    db.execute(text("INSERT INTO api_keys (key_id, user_id, tier, revoked) VALUES (:k, :u, 'partner', true)"), {"k": key_id, "u": user})
    db.commit()
    response = await client.post("/api/v1/jobs", json=JOB, headers=auth(make_token(sub=str(user), tier="partner", key_id=key_id, scopes=SCOPES)))
    assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_revoked"


# --- under concurrency: 20 parallel submits never pass a limit -------------------------

async def burst(client, token, n=20, body=JOB):
    return await asyncio.gather(*(client.post("/api/v1/jobs", json=body, headers=auth(token)) for _ in range(n)))


def codes(responses):
    return sorted((r.status_code, r.json()["error"]["code"] if r.status_code != 202 else "") for r in responses)


async def test_parallel_submits_never_exceed_the_concurrency_cap(client, make_token, db):
    user = uuid.uuid4()
    responses = await burst(client, make_token(sub=str(user), tier="pro"))  # concurrency 4, 60 units a minute
    assert codes(responses) == [(202, "")] * 4 + [(429, "concurrency_limit")] * 16
    active = db.execute(text("SELECT count(*) FROM jobs WHERE user_id = :u AND status IN ('queued', 'running')"), {"u": user}).scalar()
    assert active == 4


async def test_parallel_submits_never_exceed_allowance_plus_credits(client, make_token, db):
    user = uuid.uuid4()
    set_account(db, user, verified=True, allowance_used=49_995, credits=3)  # 5 + 3 images left
    responses = await burst(client, make_token(sub=str(user), tier="partner"))  # concurrency 16
    assert codes(responses) == [(202, "")] * 8 + [(429, "quota_exceeded")] * 12
    assert account(db, user) == (50_000, 0)


async def test_parallel_submits_never_exceed_the_rate_limit(client, make_token, db):
    user, key_id = uuid.uuid4(), str(uuid.uuid4())
    token = make_token(sub=str(user), tier="partner", key_id=key_id, scopes=SCOPES, limits={"requests_per_minute": 7, "concurrency": 50})
    responses = await burst(client, token)
    assert codes(responses) == [(202, "")] * 7 + [(429, "rate_limited")] * 13
    assert db.execute(text("SELECT count(*) FROM jobs WHERE api_key_id = :k"), {"k": key_id}).scalar() == 7
