"""Finding 5: one user's event streams used up the shared upstream pool and everybody else's
requests timed out. Streams are capped per user and per API key (counted in the real Redis, so
across gateway processes), and they have a pool of their own."""
from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import httpx
import pytest
import redis.asyncio as aioredis

from app.errors import ApiError
from app.streams import StreamSlots
from atelier_identity import Identity

from .conftest import gateway_settings
from .servers import ServerThread

pytestmark = pytest.mark.integration


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def running_gateway(upstream, provisioned, **overrides):
    from app.main import create_app

    app = create_app(gateway_settings(upstream, provisioned, **overrides))
    with ServerThread(app, proxy_headers=False) as server:
        app.base_url = server.url
        yield app


async def _open_stream(stack: contextlib.AsyncExitStack, client: httpx.AsyncClient, headers: dict) -> httpx.Response:
    response = await stack.enter_async_context(client.stream("GET", f"/api/v1/jobs/{uuid.uuid4().hex}/events",
                                                             headers=headers))
    if response.status_code == 200:
        # Keep the iterator referenced: a collected one closes the response, and with it the stream.
        response.chunks = response.aiter_raw()
        await asyncio.wait_for(response.chunks.__anext__(), timeout=5)  # the stream is really open
    else:
        await response.aread()
    return response


async def test_streams_over_the_cap_are_429_and_everyone_else_is_served(upstream, provisioned, signer):
    user = str(uuid.uuid4())
    with running_gateway(upstream, provisioned, gateway_streams_per_user=2) as gateway:
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10, trust_env=False, limits=limits) as client:
            async with contextlib.AsyncExitStack() as streams:
                for _ in range(2):
                    assert (await _open_stream(streams, client, bearer(signer.token(sub=user)))).status_code == 200
                refused = await _open_stream(streams, client, bearer(signer.token(sub=user)))
                assert refused.status_code == 429
                assert refused.json()["error"]["code"] == "too_many_streams"
                assert int(refused.headers["retry-after"]) > 0
                # Somebody else streams and requests as usual, at once.
                other = bearer(signer.token())
                assert (await _open_stream(streams, client, other)).status_code == 200
                started = time.monotonic()
                assert (await client.get("/api/v1/jobs", headers=other)).status_code == 200
                assert time.monotonic() - started < 2  # generous: two shared cores
            # The streams are closed: their slots come back (released, not left to lapse).
            deadline = time.monotonic() + 5
            while True:
                async with contextlib.AsyncExitStack() as again:
                    if (await _open_stream(again, client, bearer(signer.token(sub=user)))).status_code == 200:
                        break
                assert time.monotonic() < deadline, "the closed streams' slots were never released"
                await asyncio.sleep(0.1)


async def test_streams_are_capped_per_api_key_too(upstream, provisioned):
    secret, _ = upstream.issue_key()
    with running_gateway(upstream, provisioned, gateway_streams_per_key=1) as gateway:
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10, trust_env=False) as client:
            async with contextlib.AsyncExitStack() as streams:
                assert (await _open_stream(streams, client, {"X-API-Key": secret})).status_code == 200
                refused = await _open_stream(streams, client, {"X-API-Key": secret})
                assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_streams"
                assert "API key" in refused.json()["error"]["message"]


async def test_a_crashed_process_cannot_hold_stream_slots_forever(provisioned):
    r = aioredis.Redis.from_url(provisioned["ATELIER_REDIS_URL"])
    try:
        slots = StreamSlots(r, prefix=provisioned["ATELIER_REDIS_PREFIX"], per_user=1, per_key=1, lease_s=0.5)
        identity = Identity(str(uuid.uuid4()), None, "free", True, None, (), {})
        await slots.acquire(identity)  # never released: the process "died"
        with pytest.raises(ApiError) as caught:
            await slots.acquire(identity)
        assert caught.value.code == "too_many_streams"
        await asyncio.sleep(0.6)
        lease = await slots.acquire(identity)  # the dead lease lapsed
        await lease.release()
    finally:
        await r.aclose()


async def test_open_streams_cannot_starve_ordinary_requests(upstream, provisioned, signer):
    # Two pooled connections for each kind: the streams take all of theirs, requests still flow.
    with running_gateway(upstream, provisioned, gateway_stream_max_connections=2,
                         gateway_upstream_max_connections=2) as gateway:
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=3, trust_env=False, limits=limits) as client:
            async with contextlib.AsyncExitStack() as streams:
                for _ in range(2):
                    assert (await _open_stream(streams, client, bearer(signer.token()))).status_code == 200
                started = time.monotonic()
                answers = await asyncio.gather(*[client.get("/api/v1/jobs", headers=bearer(signer.token()))
                                                 for _ in range(4)])
                assert [a.status_code for a in answers] == [200] * 4
                assert time.monotonic() - started < 2


async def test_one_user_cannot_hold_every_ordinary_request_slot(upstream, provisioned, signer):
    user = str(uuid.uuid4())
    with running_gateway(upstream, provisioned, gateway_user_max_in_flight=2) as gateway:
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10, trust_env=False) as client:
            hog = [client.get("/api/v1/slow", headers=bearer(signer.token(sub=user))) for _ in range(3)]
            answers = await asyncio.gather(*hog, client.get("/api/v1/jobs", headers=bearer(signer.token())))
    codes = sorted(a.status_code for a in answers[:3])
    assert codes == [200, 200, 429]
    refused = next(a for a in answers[:3] if a.status_code == 429)
    assert refused.json()["error"]["code"] == "too_many_requests" and refused.headers["retry-after"]
    assert answers[3].status_code == 200
