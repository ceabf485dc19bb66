"""API keys through a real gateway: exchanged at a real (stub) introspection server, cached in
the real Redis, dropped on a revocation published to a real RabbitMQ vhost."""
from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import jwt
import pika
import pytest
import redis
from atelier_contracts.codec import encode
from atelier_contracts.envelope import make_envelope

from app.apikeys import ApiKeyExchange, cache_key, index_key

from .servers import decode_echo

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(gateway):
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10, trust_env=False) as c:
        yield c


@pytest.fixture
def rdb(provisioned):
    r = redis.Redis.from_url(provisioned["ATELIER_REDIS_URL"])
    yield r
    r.close()


def publish_revocation(amqp_url: str, key_id: str) -> None:
    envelope = make_envelope("auth.api_key.revoked", 1, {
        "key_id": key_id, "user_id": str(uuid.uuid4()), "revoked_at": "2026-11-23T17:00:00Z",
    }, producer="auth")
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish("atelier.events", envelope.routing_key, encode(envelope),
                              pika.BasicProperties(content_type="application/json", delivery_mode=2))
    finally:
        connection.close()


def forwarded_token(response) -> str:
    headers = decode_echo(response)["header_map"]
    assert "x-api-key" not in headers
    scheme, _, token = headers["authorization"].partition(" ")
    assert scheme == "Bearer" and not token.startswith("atl_")
    return token


async def test_bearer_key_is_exchanged_cached_and_never_forwarded(client, upstream, gateway, rdb, provisioned):
    secret, key_id = upstream.issue_key()
    before = len(upstream.introspected)
    first = await client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {secret}"})
    assert first.status_code == 200, first.text
    token = forwarded_token(first)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["key_id"] == key_id and claims["tier"] == "partner"
    assert secret not in first.text
    assert len(upstream.introspected) == before + 1
    assert upstream.introspected[-1]["headers"]["x-internal-token"] == upstream.internal_token

    second = await client.get("/api/v1/jobs", headers={"X-API-Key": secret})
    assert second.status_code == 200 and forwarded_token(second) == token
    assert len(upstream.introspected) == before + 1, "the second request must be served from the cache"

    prefix = provisioned["ATELIER_REDIS_PREFIX"]
    ttl = rdb.ttl(cache_key(prefix, secret))
    assert 0 < ttl <= 270
    assert rdb.get(index_key(prefix, key_id)).decode() == cache_key(prefix, secret)


async def test_a_key_in_the_query_is_refused_everywhere(client, upstream):
    # Finding 8: a key in a URL ends up in logs and browser history; not even the event stream takes one.
    secret, _ = upstream.issue_key()
    before = len(upstream.introspected)
    for path in ("/api/v1/jobs/j1/feed", "/api/v1/jobs/j1/events", "/api/auth/me"):
        response = await client.get(f"{path}?access_token={secret}&after=3")
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "token_in_query_not_allowed"
        assert secret not in response.text
    assert len(upstream.introspected) == before


@pytest.mark.parametrize("stored, code", [
    (None, "api_key_invalid"),
    ((401, {"error": {"code": "api_key_revoked", "message": "revoked"}}), "api_key_revoked"),
    ((401, {"error": {"code": "api_key_expired", "message": "expired"}}), "api_key_expired"),
])
async def test_refused_keys_say_why(client, upstream, stored, code):
    secret = "atl_live_" + uuid.uuid4().hex + "abcdefgh"
    if stored:
        upstream.api_keys[secret] = stored
    response = await client.get("/api/v1/jobs", headers={"X-API-Key": secret})
    assert response.status_code == 401 and response.json()["error"]["code"] == code


async def test_a_malformed_key_is_refused_without_asking_auth(client, upstream):
    before = len(upstream.introspected)
    for headers in ({"X-API-Key": "atl_live_short"}, {"Authorization": "Bearer atl_live_" + "!" * 40}, {"X-API-Key": ""}):
        response = await client.get("/api/auth/me", headers=headers)
        assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_invalid"
    assert len(upstream.introspected) == before


async def test_a_wrong_internal_token_is_an_outage_not_the_callers_fault(client, upstream, gateway, swap_state):
    apikeys = gateway.state.apikeys
    swap_state("apikeys", ApiKeyExchange(redis=apikeys.redis, http=apikeys.http, auth_url=upstream.url,
                                         internal_token="wrong", prefix=apikeys.prefix))
    secret, _ = upstream.issue_key()
    response = await client.get("/api/v1/jobs", headers={"X-API-Key": secret})
    assert response.status_code == 503 and response.json()["error"]["code"] == "auth_unavailable"


async def test_a_revoked_key_stops_working_within_seconds(client, upstream, gateway, rdb, provisioned):
    assert await asyncio.to_thread(gateway.state.revocations.connected.wait, 15), "listener never connected"
    secret, key_id = upstream.issue_key()
    assert (await client.get("/api/v1/jobs", headers={"X-API-Key": secret})).status_code == 200
    prefix = provisioned["ATELIER_REDIS_PREFIX"]
    assert rdb.exists(cache_key(prefix, secret))

    # auth revokes: its introspection now refuses the key, and it publishes the event.
    upstream.api_keys[secret] = (401, {"error": {"code": "api_key_revoked", "message": "revoked"}})
    await asyncio.to_thread(publish_revocation, provisioned["ATELIER_AMQP_URL"], key_id)
    deadline = time.monotonic() + 5
    while rdb.exists(cache_key(prefix, secret)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not rdb.exists(cache_key(prefix, secret)) and not rdb.exists(index_key(prefix, key_id))
    response = await client.get("/api/v1/jobs", headers={"X-API-Key": secret})
    assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_revoked"


async def test_an_exchange_in_flight_at_revocation_is_not_cached(gateway, upstream, rdb, provisioned):
    # The tombstone left by the revocation keeps a late cache write out.
    assert await asyncio.to_thread(gateway.state.revocations.connected.wait, 15)
    secret, key_id = upstream.issue_key()
    await asyncio.to_thread(publish_revocation, provisioned["ATELIER_AMQP_URL"], key_id)
    deadline = time.monotonic() + 5
    while not rdb.exists(f"{provisioned['ATELIER_REDIS_PREFIX']}apikey-revoked:{key_id}") and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    async with httpx.AsyncClient(trust_env=False) as http:
        import redis.asyncio as aioredis

        r = aioredis.Redis.from_url(provisioned["ATELIER_REDIS_URL"])
        exchange = ApiKeyExchange(redis=r, http=http, auth_url=upstream.url, internal_token=upstream.internal_token,
                                  prefix=provisioned["ATELIER_REDIS_PREFIX"])
        exchanged = await exchange.exchange(secret)  # auth had not yet seen the revocation
        await r.aclose()
    assert exchanged.key_id == key_id
    assert not rdb.exists(cache_key(provisioned["ATELIER_REDIS_PREFIX"], secret))
