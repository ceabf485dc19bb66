"""The API process's one Redis subscription, fanned out to its event streams (real Redis)."""
import asyncio
import uuid
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from app.adapters.job_changes import JobChangeHub
from app.adapters.notify import channel_for, notice

pytestmark = pytest.mark.integration


@dataclass
class Setup:
    hub: JobChangeHub
    publisher: aioredis.Redis  # a separate client: the writers' side, and Redis's own view
    client_name: str  # the hub's connection carries it, so a test can find (and kill) it
    prefix: str

    def channel(self, job_id: uuid.UUID) -> str:
        return channel_for(self.prefix, job_id)

    async def subscribers(self, channel: str) -> int:
        return dict(await self.publisher.pubsub_numsub(channel))[channel.encode()]

    async def until_subscribers(self, channel: str, count: int, timeout_s: float = 5.0) -> None:
        """(Un)subscribing is sent without waiting for Redis to confirm it."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while await self.subscribers(channel) != count:
            assert asyncio.get_running_loop().time() < deadline, f"{channel} never had {count} subscribers"
            await asyncio.sleep(0.02)

    async def hub_connections(self) -> list[dict]:
        return [c for c in await self.publisher.client_list() if c.get("name") == self.client_name]


@pytest.fixture
async def setup(settings):
    name = f"hubtest-{uuid.uuid4().hex[:8]}"
    client = aioredis.from_url(settings.atelier_redis_url, socket_timeout=None, client_name=name)
    publisher = aioredis.from_url(settings.atelier_redis_url)
    hub = JobChangeHub(client, settings.atelier_redis_prefix)
    yield Setup(hub, publisher, name, settings.atelier_redis_prefix)
    await hub.close()
    await client.aclose()
    await publisher.aclose()


async def until(predicate, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_streams_of_one_job_share_its_channel_and_leave_nothing_behind(setup):
    job, other = uuid.uuid4(), uuid.uuid4()
    channel = setup.channel(job)
    first, second, elsewhere = await setup.hub.subscribe(job), await setup.hub.subscribe(job), await setup.hub.subscribe(other)
    await setup.until_subscribers(channel, 1)  # one subscription for both streams
    await setup.publisher.publish(channel, "changed")
    await until(lambda: first.changed.is_set() and second.changed.is_set())
    assert not elsewhere.changed.is_set()

    await first.close()
    first.changed.clear(), second.changed.clear()
    await setup.publisher.publish(channel, "changed")
    await until(second.changed.is_set)  # the other stream still hears it
    assert not first.changed.is_set()

    await second.close()
    await elsewhere.close()
    assert setup.hub.channels == 0
    await setup.until_subscribers(channel, 0)


async def test_many_streams_use_one_redis_connection(setup):
    subscriptions = [await setup.hub.subscribe(uuid.uuid4()) for _ in range(25)]
    [connection] = await setup.hub_connections()
    assert int(connection["sub"]) == 25
    for subscription in subscriptions:
        await subscription.close()


async def test_a_dropped_connection_wakes_every_stream_and_notices_resume(setup):
    job = uuid.uuid4()
    channel = setup.channel(job)
    subscription = await setup.hub.subscribe(job)
    [connection] = await setup.hub_connections()
    await setup.publisher.client_kill_filter(_id=connection["id"])
    # Notices sent while it was down are lost: every stream is woken to re-read instead.
    await until(subscription.changed.is_set)
    subscription.changed.clear()
    # redis-py reconnects and subscribes the channel again.
    await setup.until_subscribers(channel, 1)
    await setup.publisher.publish(channel, "changed")
    await until(subscription.changed.is_set)
    await subscription.close()


async def test_closing_twice_leaves_a_later_stream_of_the_job_subscribed(setup):
    job = uuid.uuid4()
    channel = setup.channel(job)
    ended = await setup.hub.subscribe(job)
    await ended.close()
    later = await setup.hub.subscribe(job)
    await ended.close()  # e.g. the response's background close after the stream's own
    await setup.until_subscribers(channel, 1)
    await setup.publisher.publish(channel, "changed")
    await until(later.changed.is_set)
    await later.close()
    assert setup.hub.channels == 0


async def test_a_traced_notice_hands_its_traceparent_to_the_stream_once(setup):
    """While tracing is on, a notice names the span of the change, so the stream that sends the
    change continues that trace; a plain notice (tracing off) or a wake-up names none."""
    job = uuid.uuid4()
    channel = setup.channel(job)
    subscription = await setup.hub.subscribe(job)
    traceparent = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    await setup.publisher.publish(channel, notice(traceparent))
    await until(subscription.changed.is_set)
    assert subscription.take_traceparent() == traceparent
    assert subscription.take_traceparent() is None  # taken: the next update is not this change's
    subscription.changed.clear()
    await setup.publisher.publish(channel, notice(None))
    await until(subscription.changed.is_set)
    assert subscription.take_traceparent() is None
    await subscription.close()
