"""Findings 3, 2 and 10 (pre_inference's part).

3: free and pro limits bind the USER across all their API keys and sessions (three keys
   used to give three live jobs where the cap is one); a key's own staff-set limits only
   narrow them; partner keys keep a budget each.
2: a key acts with its owner's CURRENT tier (the account projection fed by
   auth.user.tier_changed), not the tier copied onto it when it was made.
10: a submission refused for any reason spends no rate-limit budget.
"""
import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from app.adapters import job_events

from .helpers import deliver, iso

pytestmark = pytest.mark.integration
SCOPES = ["jobs:write", "jobs:read", "images:read", "usage:read"]
ONE_UNIT = {"kind": "txt2img", "prompt": "a lighthouse at dusk", "width": 512, "height": 512, "steps": 30}
SMALL = {"kind": "txt2img", "prompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 2}
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def error_code(response):
    return response.json()["error"]["code"] if response.status_code >= 400 else ""


def set_account(db, user_id, **values):
    columns = {"tier": "free", "verified": True, "credits": 0, "allowance_used": 0, "allowance_day": datetime.now(timezone.utc).date(), **values}
    names = ", ".join(columns)
    db.execute(text(f"INSERT INTO accounts (user_id, {names}) VALUES (:user_id, {', '.join(':' + n for n in columns)})"), {"user_id": user_id, **columns})
    db.commit()


@pytest.fixture
def factory(sync_engine):
    return sessionmaker(sync_engine, expire_on_commit=False)


@pytest.fixture
def key_token(make_token):
    def make(user, tier="free", key_id=None, **extra):
        return make_token(sub=str(user), tier=tier, key_id=key_id or str(uuid.uuid4()), scopes=SCOPES, **extra)
    return make


def finish(sync_engine, job_id):
    with sessionmaker(sync_engine)() as session, session.begin():
        assert job_events.mark_failed(session, uuid.UUID(job_id), "out_of_memory", "test", datetime.now(timezone.utc))


async def together(client, tokens, body):
    return await asyncio.gather(*(client.post("/api/v1/jobs", json=body, headers=auth(t)) for t in tokens))


# --- finding 3 -------------------------------------------------------------------------

async def test_three_keys_of_a_free_user_share_one_live_job(client, db, key_token):
    user = uuid.uuid4()
    set_account(db, user)
    answers = await together(client, [key_token(user) for _ in range(3)], SMALL)
    assert sorted((a.status_code, error_code(a)) for a in answers) == [(202, ""), (429, "concurrency_limit"), (429, "concurrency_limit")]
    live = db.execute(text("SELECT count(*) FROM jobs WHERE user_id = :u AND status IN ('queued', 'running')"), {"u": user}).scalar()
    assert live == 1


async def test_keys_and_the_session_of_a_pro_user_share_four_live_jobs(client, db, key_token, make_token):
    user = uuid.uuid4()
    set_account(db, user, tier="pro")
    tokens = [make_token(sub=str(user), tier="pro")] * 3 + [key_token(user, tier="pro") for _ in range(5)]
    answers = await together(client, tokens, SMALL)
    assert sorted(a.status_code for a in answers) == [202] * 4 + [429] * 4
    assert {error_code(a) for a in answers if a.status_code == 429} == {"concurrency_limit"}


async def test_keys_and_the_session_share_the_rate_limit(client, db, key_token, make_token, sync_engine):
    user = uuid.uuid4()
    set_account(db, user)  # free: 5 units a minute, one live job
    spent = await client.post("/api/v1/jobs", json={**ONE_UNIT, "n": 4}, headers=auth(make_token(sub=str(user))))
    assert spent.status_code == 202, spent.text
    finish(sync_engine, spent.json()["id"])
    first_key, second_key = key_token(user), key_token(user)
    last_unit = await client.post("/api/v1/jobs", json=ONE_UNIT, headers=auth(first_key))
    assert last_unit.status_code == 202, last_unit.text
    assert last_unit.headers["RateLimit"].startswith('"user";r=0;')
    finish(sync_engine, last_unit.json()["id"])
    refused = await client.post("/api/v1/jobs", json=ONE_UNIT, headers=auth(second_key))
    assert refused.status_code == 429 and error_code(refused) == "rate_limited", refused.text


async def test_a_keys_own_limits_only_narrow_a_free_users(client, db, key_token, make_token):
    user = uuid.uuid4()
    set_account(db, user)
    generous = key_token(user, limits={"concurrency": 10, "requests_per_minute": 1000, "max_width": 2048})
    answers = await together(client, [generous] * 3, SMALL)
    assert sorted(a.status_code for a in answers) == [202, 429, 429]
    wide = await client.post("/api/v1/jobs", json={**SMALL, "width": 1024}, headers=auth(generous))
    assert wide.status_code == 422 and error_code(wide) == "exceeds_tier"
    usage = (await client.get("/api/v1/usage", headers=auth(generous))).json()
    assert usage["limits"]["concurrency"] == 1 and usage["limits"]["requests_per_minute"] == 5


async def test_a_narrowing_key_limit_binds_that_key_within_the_users_budget(client, db, key_token, make_token):
    user = uuid.uuid4()
    set_account(db, user, tier="pro")
    narrow = key_token(user, tier="pro", limits={"concurrency": 1})
    first = await client.post("/api/v1/jobs", json=SMALL, headers=auth(narrow))
    second = await client.post("/api/v1/jobs", json=SMALL, headers=auth(narrow))
    assert (first.status_code, second.status_code, error_code(second)) == (202, 429, "concurrency_limit")
    # The user's other keys and sessions still have the rest of the user's four.
    others = await together(client, [make_token(sub=str(user), tier="pro"), key_token(user, tier="pro")] * 2, SMALL)
    assert sorted(a.status_code for a in others) == [202, 202, 202, 429]


async def test_partner_keys_keep_a_budget_each(client, db, key_token):
    user = uuid.uuid4()
    set_account(db, user, tier="partner")
    first_key, second_key = (key_token(user, tier="partner", limits={"concurrency": 1}) for _ in range(2))
    answers = [await client.post("/api/v1/jobs", json=SMALL, headers=auth(t)) for t in (first_key, first_key, second_key)]
    assert [(a.status_code, error_code(a)) for a in answers] == [(202, ""), (429, "concurrency_limit"), (202, "")]
    assert answers[0].headers["RateLimit-Policy"].startswith('"key";q=600;')


# --- finding 2 -------------------------------------------------------------------------

def key_created(user, key_id, tier, limits=None):
    return {
        "key_id": key_id, "user_id": str(user), "prefix": "atl_live_abc", "scopes": SCOPES, "tier": tier,
        "limits": limits, "expires_at": None, "created_at": iso(T0),
    }


def tier_changed(user, tier, previous, at):
    return {"user_id": str(user), "tier": tier, "previous_tier": previous, "reason": "subscription", "changed_at": iso(at)}


BIG = {**SMALL, "width": 1024, "height": 1024}


async def test_a_key_follows_its_owner_up_to_pro_and_back_down(client, factory, key_token):
    user, key_id = uuid.uuid4(), str(uuid.uuid4())
    deliver(factory, "auth.user.registered.v1", {"user_id": str(user), "email": "a@example.com", "tier": "free", "verified": True, "registered_at": iso(T0)})
    deliver(factory, "auth.api_key.created.v1", key_created(user, key_id, "free"))
    stale_free = key_token(user, tier="free", key_id=key_id)
    refused = await client.post("/api/v1/jobs", json=BIG, headers=auth(stale_free))
    assert refused.status_code == 422 and error_code(refused) == "exceeds_tier"

    deliver(factory, "auth.user.tier_changed.v1", tier_changed(user, "pro", "free", T0 + timedelta(hours=1)))
    assert (await client.get("/api/v1/usage", headers=auth(stale_free))).json()["tier"] == "pro"
    answers = await together(client, [stale_free] * 3, BIG)  # pro: 1024 px, four live jobs
    assert [a.status_code for a in answers] == [202, 202, 202], [a.text for a in answers]

    deliver(factory, "auth.user.tier_changed.v1", tier_changed(user, "free", "pro", T0 + timedelta(hours=2)))
    stale_pro = key_token(user, tier="pro", key_id=key_id)
    usage = (await client.get("/api/v1/usage", headers=auth(stale_pro))).json()
    assert usage["tier"] == "free" and usage["limits"]["concurrency"] == 1
    refused = await client.post("/api/v1/jobs", json=BIG, headers=auth(stale_pro))
    assert refused.status_code == 422 and error_code(refused) == "exceeds_tier"


async def test_a_key_made_while_pro_loses_pro_when_its_owner_is_downgraded(client, factory, key_token):
    user, key_id = uuid.uuid4(), str(uuid.uuid4())
    deliver(factory, "auth.user.registered.v1", {"user_id": str(user), "email": "a@example.com", "tier": "pro", "verified": True, "registered_at": iso(T0)})
    deliver(factory, "auth.api_key.created.v1", key_created(user, key_id, "pro"))  # the key row says pro
    deliver(factory, "auth.user.tier_changed.v1", tier_changed(user, "free", "pro", T0 + timedelta(hours=1)))
    refused = await client.post("/api/v1/jobs", json=BIG, headers=auth(key_token(user, tier="pro", key_id=key_id)))
    assert refused.status_code == 422 and error_code(refused) == "exceeds_tier"


async def test_staff_limits_on_a_key_stay_after_an_upgrade(client, factory, key_token):
    user, key_id = uuid.uuid4(), str(uuid.uuid4())
    deliver(factory, "auth.user.registered.v1", {"user_id": str(user), "email": "a@example.com", "tier": "free", "verified": True, "registered_at": iso(T0)})
    deliver(factory, "auth.api_key.created.v1", key_created(user, key_id, "free", limits={"max_steps": 10}))
    deliver(factory, "auth.user.tier_changed.v1", tier_changed(user, "pro", "free", T0 + timedelta(hours=1)))
    token = key_token(user, tier="free", key_id=key_id)
    assert (await client.post("/api/v1/jobs", json=BIG, headers=auth(token))).status_code == 202
    refused = await client.post("/api/v1/jobs", json={**SMALL, "steps": 20}, headers=auth(token))
    assert refused.status_code == 422 and error_code(refused) == "exceeds_tier"
    assert refused.json()["error"]["fields"] == {"steps": [refused.json()["error"]["message"]]}


async def test_a_tier_staff_set_on_a_key_stays_whatever_the_owner_is(client, factory, key_token):
    user, key_id = uuid.uuid4(), str(uuid.uuid4())
    deliver(factory, "auth.user.registered.v1", {"user_id": str(user), "email": "a@example.com", "tier": "pro", "verified": True, "registered_at": iso(T0)})
    deliver(factory, "auth.api_key.created.v1", key_created(user, key_id, "partner"))
    deliver(factory, "auth.user.tier_changed.v1", tier_changed(user, "free", "pro", T0 + timedelta(hours=1)))
    staff_partner = key_token(user, tier="partner", key_id=key_id, tier_override="partner")
    assert (await client.get("/api/v1/usage", headers=auth(staff_partner))).json()["tier"] == "partner"
    assert (await client.post("/api/v1/jobs", json=BIG, headers=auth(staff_partner))).status_code == 202
    # Without staff's claim the same key follows its (now free) owner.
    plain = key_token(user, tier="partner", key_id=key_id)
    assert (await client.get("/api/v1/usage", headers=auth(plain))).json()["tier"] == "free"


# --- finding 10 ------------------------------------------------------------------------

async def test_refused_submissions_spend_no_rate_limit_budget(client, db, make_token, sync_engine):
    user = uuid.uuid4()
    set_account(db, user)  # free: 5 units a minute, one live job
    token = make_token(sub=str(user))
    running = await client.post("/api/v1/jobs", json=ONE_UNIT, headers=auth(token))
    assert running.status_code == 202, running.text
    for _ in range(6):  # over the concurrency cap: together more than the 5 units a minute
        refused = await client.post("/api/v1/jobs", json=ONE_UNIT, headers=auth(token))
        assert (refused.status_code, error_code(refused)) == (429, "concurrency_limit"), refused.text
    finish(sync_engine, running.json()["id"])
    bad_image = {**ONE_UNIT, "kind": "img2img", "init_image": "data:image/png;base64,AAAA"}
    for _ in range(6):  # a bad upload, read after the rate limit was asked
        refused = await client.post("/api/v1/jobs", json=bad_image, headers=auth(token))
        assert (refused.status_code, error_code(refused)) == (422, "validation_error"), refused.text
    for _ in range(6):  # over the tier
        refused = await client.post("/api/v1/jobs", json={**ONE_UNIT, "width": 1024}, headers=auth(token))
        assert (refused.status_code, error_code(refused)) == (422, "exceeds_tier"), refused.text
    after = await client.post("/api/v1/jobs", json=ONE_UNIT, headers=auth(token))
    assert after.status_code == 202, after.text
    assert after.headers["RateLimit"].startswith(('"user";r=3;', '"user";r=4;'))


async def test_a_submission_refused_for_quota_spends_no_rate_limit_budget(client, db, make_token):
    user = uuid.uuid4()
    set_account(db, user, allowance_used=50)  # free: the 50 images of today are used, no credits
    token = make_token(sub=str(user))
    for _ in range(6):
        refused = await client.post("/api/v1/jobs", json=ONE_UNIT, headers=auth(token))
        assert (refused.status_code, error_code(refused)) == (429, "quota_exceeded"), refused.text
    db.execute(text("UPDATE accounts SET credits = 1 WHERE user_id = :u"), {"u": user})
    db.commit()
    after = await client.post("/api/v1/jobs", json=ONE_UNIT, headers=auth(token))
    assert after.status_code == 202, after.text
