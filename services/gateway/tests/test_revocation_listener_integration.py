"""The revocation listener (aio-pika, on the event loop) comes back after the broker goes away
and handles revocations again; one sent while no gateway listens is applied when one connects;
gateway processes share the queue, each revocation applied once; cached keys survive a (re)bind."""
from __future__ import annotations

import asyncio
import time

import pika
import pytest
import redis
from atelier_contracts.codec import encode
from atelier_contracts.envelope import make_envelope

from app.apikeys import Revoker
from app.revocations import RevocationListener
from app.session_revocations import SessionRevoker

pytestmark = pytest.mark.integration


def publish_key_revoked(amqp_url: str, key_id: str) -> None:
    envelope = make_envelope("auth.api_key.revoked", 1, {
        "key_id": key_id, "user_id": "3f2b8c1a-9d4e-4f6a-8b7c-1d2e3f4a5b6c", "revoked_at": "2026-11-23T17:00:00Z",
    }, producer="auth")
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish("atelier.events", envelope.routing_key, encode(envelope),
                              pika.BasicProperties(content_type="application/json", delivery_mode=2))
    finally:
        connection.close()


async def eventually(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def test_listener_reconnects_after_a_broker_outage(provisioned):
    from atelier_devkit.brokers import private_rabbit

    sync_redis = redis.Redis.from_url(provisioned["ATELIER_REDIS_URL"])
    prefix = provisioned["ATELIER_REDIS_PREFIX"]
    try:
        with private_rabbit() as broker:
            listener = RevocationListener(broker.url, Revoker(sync_redis, prefix), SessionRevoker(sync_redis, prefix, 60),
                                          max_backoff_s=2.0)
            listener.start()
            try:
                assert await asyncio.to_thread(listener.connected.wait, 15), "listener never connected"
                await asyncio.to_thread(publish_key_revoked, broker.url, "4d5e6f70-1111-4222-8333-944455566677")
                assert await eventually(lambda: listener.handled == 1, 10)
                await asyncio.to_thread(broker.stop_app)
                assert await eventually(lambda: not listener.connected.is_set(), 10), "the drop went unnoticed"
                await asyncio.to_thread(broker.start_app)
                assert await asyncio.to_thread(listener.connected.wait, 30), "listener never came back"
                await asyncio.to_thread(publish_key_revoked, broker.url, "4d5e6f70-2222-4222-8333-944455566677")
                assert await eventually(lambda: listener.handled == 2, 10)
            finally:
                await listener.stop()
    finally:
        sync_redis.close()


async def test_a_revocation_waits_for_a_gateway_and_is_applied_once_among_several(provisioned):
    from atelier_devkit.brokers import private_rabbit
    from atelier_messaging.aio.connection import declare

    from app.apikeys import tombstone_key

    sync_redis = redis.Redis.from_url(provisioned["ATELIER_REDIS_URL"])
    prefix = provisioned["ATELIER_REDIS_PREFIX"]
    cached = f"{prefix}apikey:{'ab' * 32}"  # another key's cached exchange
    sync_redis.set(cached, '{"access": "t", "key_id": "k"}', ex=300)

    def listener(url: str) -> RevocationListener:
        return RevocationListener(url, Revoker(sync_redis, prefix), SessionRevoker(sync_redis, prefix, 60), max_backoff_s=2.0)

    try:
        with private_rabbit() as broker:
            await declare(broker.url)  # what any service does at start: the queue exists before a gateway does
            early = "4d5e6f70-3333-4222-8333-944455566677"
            await asyncio.to_thread(publish_key_revoked, broker.url, early)  # no gateway is listening
            first, second = listener(broker.url), listener(broker.url)
            first.start()
            try:
                assert await asyncio.to_thread(first.connected.wait, 15), "listener never connected"
                assert await eventually(lambda: sync_redis.exists(tombstone_key(prefix, early)), 10), "the early revocation was lost"
                assert sync_redis.exists(cached), "binding dropped a cached key"
                second.start()
                assert await asyncio.to_thread(second.connected.wait, 15), "second listener never connected"
                for n in range(10):
                    await asyncio.to_thread(publish_key_revoked, broker.url, f"4d5e6f70-4444-4222-8333-{n:012d}")
                assert await eventually(lambda: first.handled + second.handled == 11, 10)
                await asyncio.sleep(1.0)
                assert first.handled + second.handled == 11, "a revocation was applied twice"
                assert all(sync_redis.exists(tombstone_key(prefix, f"4d5e6f70-4444-4222-8333-{n:012d}")) for n in range(10))
            finally:
                await first.stop()
                await second.stop()
    finally:
        sync_redis.delete(cached)
        sync_redis.close()
