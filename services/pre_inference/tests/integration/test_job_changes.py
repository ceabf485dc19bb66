"""The API process's one Redis subscription, fanned out to its event streams (real Redis)."""
import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from app.adapters.job_changes import JobChangeHub
from app.adapters.notify import channel_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis_pair(settings):
    """The hub's client (named, so a test can find its connection) and a publisher."""
    name = f"hubtest-{uuid.uuid4().hex[:8]}"
    client = aioredis.from_url(settings.atelier_redis_url, socket_timeout=None, client_name=name)
    publisher = aioredis.from_url(settings.atelier_redis_url)
    yield client, publisher, name
    await client.aclose()
    await publisher.aclose()


async def until(predicate, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def numsub(publisher, channel: str) -> int:
    return dict(await publisher.pubsub_numsub(channel))[channel.encode()]


async def until_subscribers(publisher, channel: str, count: int, timeout_s: float = 5.0) -> None:
    """(Un)subscribing is sent without waiting for Redis to confirm it."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while await numsub(publisher, channel) != count:
        assert asyncio.get_running_loop().time() < deadline, f"{channel} never had {count} subscribers"
        await asyncio.sleep(0.02)


async def test_streams_of_one_job_share_its_channel_and_leave_nothing_behind(settings, redis_pair):
    client, publisher, _ = redis_pair
    hub = JobChangeHub(client, settings.atelier_redis_prefix)
    job, other = uuid.uuid4(), uuid.uuid4()
    channel = channel_for(settings.atelier_redis_prefix, job)
    try:
        first, second, elsewhere = await hub.subscribe(job), await hub.subscribe(job), await hub.subscribe(other)
        await until_subscribers(publisher, channel, 1)  # one subscription for both streams
        await publisher.publish(channel, "changed")
        await until(lambda: first.changed.is_set() and second.changed.is_set())
        assert not elsewhere.changed.is_set()

        await first.close()
        first.changed.clear(), second.changed.clear()
        await publisher.publish(channel, "changed")
        await until(second.changed.is_set)  # the other stream still hears it
        assert not first.changed.is_set()

        await second.close()
        await elsewhere.close()
        assert hub.channels == 0
        await until_subscribers(publisher, channel, 0)
    finally:
        await hub.close()


async def test_many_streams_use_one_redis_connection(settings, redis_pair):
    client, publisher, name = redis_pair
    hub = JobChangeHub(client, settings.atelier_redis_prefix)
    try:
        subscriptions = [await hub.subscribe(uuid.uuid4()) for _ in range(25)]
        mine = [c for c in await publisher.client_list() if c.get("name") == name]
        assert len(mine) == 1 and int(mine[0]["sub"]) == 25
        for subscription in subscriptions:
            await subscription.close()
    finally:
        await hub.close()


async def test_a_dropped_connection_wakes_every_stream_and_notices_resume(settings, redis_pair):
    client, publisher, name = redis_pair
    hub = JobChangeHub(client, settings.atelier_redis_prefix)
    job = uuid.uuid4()
    channel = channel_for(settings.atelier_redis_prefix, job)
    try:
        subscription = await hub.subscribe(job)
        [connection] = [c for c in await publisher.client_list() if c.get("name") == name]
        await publisher.client_kill_filter(_id=connection["id"])
        # Notices sent while it was down are lost: every stream is woken to re-read instead.
        await until(subscription.changed.is_set)
        subscription.changed.clear()
        # redis-py reconnects and subscribes the channel again.
        await until_subscribers(publisher, channel, 1)
        await publisher.publish(channel, "changed")
        await until(subscription.changed.is_set)
        await subscription.close()
    finally:
        await hub.close()


async def test_closing_twice_leaves_a_later_stream_of_the_job_subscribed(settings, redis_pair):
    client, publisher, _ = redis_pair
    hub = JobChangeHub(client, settings.atelier_redis_prefix)
    job = uuid.uuid4()
    channel = channel_for(settings.atelier_redis_prefix, job)
    try:
        ended = await hub.subscribe(job)
        await ended.close()
        later = await hub.subscribe(job)
        await ended.close()  # e.g. the response's background close after the stream's own
        await until_subscribers(publisher, channel, 1)
        await publisher.publish(channel, "changed")
        await until(later.changed.is_set)
        await later.close()
        assert hub.channels == 0
    finally:
        await hub.close()
