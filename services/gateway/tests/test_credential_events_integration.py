"""Finding 8 (gateway part) and finding 2 (gateway part), through a real gateway, the real Redis
and events published to a real RabbitMQ vhost:
- a revoked session's access tokens are refused with `token_revoked` within seconds;
- a tier change drops the cached exchanges of the user's API keys, so the next request gets a
  token with the current tier;
- tokens in the query only on the event stream; refused keys are remembered briefly."""
from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pika
import pytest
import redis
from atelier_contracts.codec import encode
from atelier_contracts.envelope import make_envelope

from app.apikeys import cache_key

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(gateway):
    assert await asyncio.to_thread(gateway.state.revocations.connected.wait, 15), "listener never connected"
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10, trust_env=False) as c:
        yield c


@pytest.fixture
def rdb(provisioned):
    r = redis.Redis.from_url(provisioned["ATELIER_REDIS_URL"])
    yield r
    r.close()


def publish(amqp_url: str, event_type: str, data: dict) -> None:
    envelope = make_envelope(event_type, 1, data, producer="auth")  # validated against the published schema
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish("atelier.events", envelope.routing_key, encode(envelope),
                              pika.BasicProperties(content_type="application/json", delivery_mode=2))
    finally:
        connection.close()


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def eventually_status(client, headers, status: int, timeout: float = 5.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get("/api/v1/jobs", headers=headers)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.05)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_a_logged_out_sessions_tokens_are_refused_within_seconds(client, signer, provisioned):
    user, sid, other_sid = str(uuid.uuid4()), uuid.uuid4().hex, uuid.uuid4().hex
    ended = bearer(signer.token(sub=user, sid=sid))
    kept = bearer(signer.token(sub=user, sid=other_sid))
    assert (await client.get("/api/v1/jobs", headers=ended)).status_code == 200
    await asyncio.to_thread(publish, provisioned["ATELIER_AMQP_URL"], "auth.session.revoked", {
        "user_id": user, "session_id": sid, "revoked_before": rfc3339(datetime.now(timezone.utc) + timedelta(seconds=1)),
        "reason": "logout"})
    refused = await eventually_status(client, ended, 401)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_revoked"
    assert refused.headers["www-authenticate"].startswith("Bearer")
    # The event stream refuses it too (the query-token path), and the user's other session lives on.
    events = await client.get(f"/api/v1/jobs/j1/events?access_token={ended['Authorization'][7:]}")
    assert events.status_code == 401 and events.json()["error"]["code"] == "token_revoked"
    assert (await client.get("/api/v1/jobs", headers=kept)).status_code == 200
    # Also on the routes whose services check tokens themselves (payments, auth).
    for path in ("/api/payments/invoices", "/api/auth/me"):
        elsewhere = await client.get(path, headers=ended)
        assert elsewhere.status_code == 401 and elsewhere.json()["error"]["code"] == "token_revoked", path
        assert (await client.get(path, headers=kept)).status_code == 200


async def test_a_password_change_ends_every_session_issued_before_it(client, signer, provisioned):
    user = str(uuid.uuid4())
    now = int(time.time())
    before = bearer(signer.token(sub=user, sid=uuid.uuid4().hex, iat=now - 30))
    await asyncio.to_thread(publish, provisioned["ATELIER_AMQP_URL"], "auth.session.revoked", {
        "user_id": user, "session_id": None, "revoked_before": rfc3339(datetime.fromtimestamp(now - 5, timezone.utc)),
        "reason": "password_changed"})
    refused = await eventually_status(client, before, 401)
    assert refused.json()["error"]["code"] == "token_revoked"
    # A session started after the change (iat at or after revoked_before) works.
    after = bearer(signer.token(sub=user, sid=uuid.uuid4().hex, iat=now - 5))
    assert (await client.get("/api/v1/jobs", headers=after)).status_code == 200
    # Another user is untouched.
    assert (await client.get("/api/v1/jobs", headers=bearer(signer.token(iat=now - 30)))).status_code == 200


async def test_a_revocation_is_kept_only_as_long_as_a_token_can_live(client, signer, provisioned, rdb):
    user = str(uuid.uuid4())
    await asyncio.to_thread(publish, provisioned["ATELIER_AMQP_URL"], "auth.session.revoked", {
        "user_id": user, "session_id": None, "revoked_before": rfc3339(datetime.now(timezone.utc)), "reason": "admin"})
    key = f"{provisioned['ATELIER_REDIS_PREFIX']}revoked-user:{user}"
    deadline = time.monotonic() + 5
    while not rdb.exists(key) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert 15 * 60 < rdb.ttl(key) <= 16 * 60


async def test_a_tier_change_drops_the_cached_tokens_of_the_users_keys(client, upstream, provisioned, rdb):
    secret, _ = upstream.issue_key()
    other_secret, _ = upstream.issue_key()
    user_id = upstream.api_keys[secret][1]["user_id"]
    for s in (secret, other_secret):
        assert (await client.get("/api/v1/jobs", headers={"X-API-Key": s})).status_code == 200
    prefix = provisioned["ATELIER_REDIS_PREFIX"]
    assert rdb.exists(cache_key(prefix, secret)) and rdb.exists(cache_key(prefix, other_secret))
    await asyncio.to_thread(publish, provisioned["ATELIER_AMQP_URL"], "auth.user.tier_changed", {
        "user_id": user_id, "tier": "pro", "previous_tier": "free", "reason": "subscription",
        "changed_at": rfc3339(datetime.now(timezone.utc))})
    deadline = time.monotonic() + 5
    while rdb.exists(cache_key(prefix, secret)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not rdb.exists(cache_key(prefix, secret))
    assert rdb.exists(cache_key(prefix, other_secret)), "another user's key must stay cached"
    before = len(upstream.introspected)
    assert (await client.get("/api/v1/jobs", headers={"X-API-Key": secret})).status_code == 200
    assert len(upstream.introspected) == before + 1, "the next request must introspect again (current tier)"


async def test_a_query_token_is_refused_except_on_the_event_stream(client, signer):
    token = signer.token()
    for path in ("/api/v1/jobs", "/api/auth/me", "/api/payments/plans", "/api/v1/jobs/j1"):
        response = await client.get(f"{path}?access_token={token}")
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "token_in_query_not_allowed"
    async with client.stream("GET", f"/api/v1/jobs/j1/events?access_token={token}") as stream:
        assert stream.status_code == 200


async def test_refused_api_keys_are_remembered_briefly(client, upstream, provisioned, rdb):
    secret = "atl_live_" + uuid.uuid4().hex + "bogusXYZ"
    before = len(upstream.introspected)
    for _ in range(5):
        response = await client.get("/api/v1/jobs", headers={"X-API-Key": secret})
        assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_invalid"
    assert len(upstream.introspected) == before + 1, "a bogus key must cost auth one introspection, not one each time"
    ttl = rdb.ttl(f"{provisioned['ATELIER_REDIS_PREFIX']}apikey-unknown:" + __import__("hashlib").sha256(secret.encode()).hexdigest())
    assert 0 < ttl <= 45
