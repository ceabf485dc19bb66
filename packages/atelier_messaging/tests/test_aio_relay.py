"""The asyncio relay on the real Postgres and RabbitMQ, mirroring test_outbox_relay.py."""
import asyncio
import json
import time

import pika
import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from atelier_messaging.aio.publisher import AioPublisher
from atelier_messaging.aio.relay import AioRelay, relay_batch
from atelier_messaging.publisher import PublishError
from atelier_messaging.sqlalchemy import add_to_outbox

from .conftest import get_all, registered

pytestmark = pytest.mark.integration


@pytest.fixture()
def engine(clean_db):
    engine = create_engine(clean_db.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


def pending(url):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0]


async def relaying(database_url, amqp_url, during, *, poll_interval_s=0.5):
    """Run the relay while ``during()`` (a blocking function) runs in a thread."""
    relay = AioRelay(database_url, amqp_url, "test", poll_interval_s=poll_interval_s)
    task = asyncio.create_task(relay.run())
    try:
        return await asyncio.to_thread(during)
    finally:
        relay.stop()
        await asyncio.wait_for(task, timeout=10)


def test_committed_rows_are_sent_once_each_in_order_and_rolled_back_never(clean_db, channel, amqp_url, engine):
    envelopes = [registered(email=f"u{i}@example.com") for i in range(3)]
    with Session(engine) as session:
        with session.begin():
            for env in envelopes:
                add_to_outbox(session, env)
        session.begin()
        add_to_outbox(session, registered(email="dropped@example.com"))
        session.rollback()
    got = asyncio.run(relaying(clean_db, amqp_url, lambda: get_all(channel, "payments.events", expect=4, timeout_s=4)))
    assert [props.message_id for props, _ in got] == [e.id for e in envelopes]
    assert [json.loads(body)["data"]["email"] for _, body in got] == ["u0@example.com", "u1@example.com", "u2@example.com"]
    assert pending(clean_db) == 0


def test_relay_wakes_on_commit_without_waiting_for_the_poll(clean_db, channel, amqp_url, engine):
    def commit_then_receive():
        time.sleep(1.0)
        started = time.monotonic()
        with Session(engine) as session, session.begin():
            add_to_outbox(session, registered())
        got = get_all(channel, "payments.events", expect=1, timeout_s=5)
        return got, time.monotonic() - started

    got, elapsed = asyncio.run(relaying(clean_db, amqp_url, commit_then_receive, poll_interval_s=30))
    assert len(got) == 1 and elapsed < 5


def test_broker_unreachable_keeps_the_row_pending_with_its_error(clean_db, engine):
    with Session(engine) as session, session.begin():
        add_to_outbox(session, registered())

    async def go():
        publisher = AioPublisher("amqp://guest:guest@127.0.0.1:1/nowhere")
        async with await psycopg.AsyncConnection.connect(clean_db, autocommit=True) as conn:
            with pytest.raises(PublishError):
                await relay_batch(conn, publisher)
        await publisher.close()

    asyncio.run(go())
    with psycopg.connect(clean_db) as conn:
        count, attempts, error = conn.execute(
            "SELECT count(*), max(attempts), max(last_error) FROM outbox WHERE published_at IS NULL").fetchone()
    assert count == 1 and attempts == 1 and "unavailable" in error


def test_relay_counts_what_it_published(clean_db, channel, amqp_url, engine):
    from .test_metrics import sample

    before = sample("atelier_relay_published_total", service="test", exchange="atelier.events")
    with Session(engine) as session, session.begin():
        add_to_outbox(session, registered())
        add_to_outbox(session, registered())
    asyncio.run(relaying(clean_db, amqp_url, lambda: get_all(channel, "payments.events", expect=2)))
    assert sample("atelier_relay_published_total", service="test", exchange="atelier.events") - before == 2


def test_relay_reconnects_after_the_broker_goes_away(clean_db, engine):
    import pika

    from atelier_devkit.brokers import private_rabbit

    def commit(email):
        with Session(engine) as session, session.begin():
            add_to_outbox(session, registered(email=email))

    def scenario(broker):
        def during():
            commit("before@example.com")
            deadline = time.monotonic() + 15
            while pending(clean_db) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert pending(clean_db) == 0
            with broker.outage():
                commit("during@example.com")
                time.sleep(1.0)
                assert pending(clean_db) == 1  # nothing to publish to: kept
            deadline = time.monotonic() + 40
            while pending(clean_db) and time.monotonic() < deadline:
                time.sleep(0.2)
            return pending(clean_db)
        return during

    with private_rabbit() as broker:
        assert asyncio.run(relaying(clean_db, broker.url, scenario(broker))) == 0
        connection = pika.BlockingConnection(pika.URLParameters(broker.url))
        channel = connection.channel()
        got = get_all(channel, "payments.events", expect=2)
        connection.close()
    assert sorted(json.loads(body)["data"]["email"] for _, body in got) == ["before@example.com", "during@example.com"]


def test_relay_reports_the_backlog_gauges(clean_db, channel, amqp_url, engine):
    from .test_metrics import sample

    asyncio.run(relaying(clean_db, amqp_url, lambda: time.sleep(1.0)))
    assert sample("atelier_outbox_backlog", service="test") == 0


def test_a_relay_wakes_for_its_own_outbox_only(clean_db, amqp_url):
    """As the blocking face: another service's notice (same channel, its schema) is ignored."""
    from atelier_messaging.aio.relay import outbox_schema
    from atelier_messaging.schema import NOTIFY_CHANNEL

    relay = AioRelay(clean_db, amqp_url, "test", poll_interval_s=0.5)

    async def woken_by(payload_of) -> bool:
        async with await psycopg.AsyncConnection.connect(clean_db, autocommit=True) as listener, \
                await psycopg.AsyncConnection.connect(clean_db, autocommit=True) as other:
            await listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            schema = await outbox_schema(listener)
            await other.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, payload_of(schema)))
            return await relay._wait_for_notice(listener, schema)

    assert asyncio.run(woken_by(lambda _own: "another_service")) is False
    assert asyncio.run(woken_by(lambda own: own)) is True


def test_a_batch_goes_out_in_order_and_stops_counting_at_its_first_failure(clean_db, channel, amqp_url, engine):
    """The publishes of a batch overlap; the broker still gets them in the rows' order, and
    a row that fails (work nobody would receive) keeps itself and every later row pending."""
    before = [registered(email=f"before{i}@example.com") for i in range(12)]
    after = [registered(email=f"after{i}@example.com") for i in range(5)]
    with Session(engine) as session, session.begin():
        for env in before:
            add_to_outbox(session, env)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("INSERT INTO outbox (message_id, exchange, routing_key, body) "
                     "VALUES (gen_random_uuid(), 'atelier.jobs', 'nobody.listens', '{}')")
    with Session(engine) as session, session.begin():
        for env in after:
            add_to_outbox(session, env)

    async def go():
        publisher = AioPublisher(amqp_url)
        async with await psycopg.AsyncConnection.connect(clean_db, autocommit=True) as conn:
            with pytest.raises(PublishError):
                await relay_batch(conn, publisher)
        await publisher.close()

    asyncio.run(go())
    got = get_all(channel, "payments.events", expect=len(before) + len(after), timeout_s=3)
    ids = [props.message_id for props, _ in got]
    assert ids[:len(before)] == [e.id for e in before]
    with psycopg.connect(clean_db) as conn:
        rows = conn.execute("SELECT routing_key, attempts, last_error FROM outbox WHERE published_at IS NULL ORDER BY id").fetchall()
    assert len(rows) == 1 + len(after)
    assert rows[0][0] == "nobody.listens" and rows[0][1] == 1 and "not routed" in rows[0][2]
    assert all(attempts == 0 for _, attempts, _ in rows[1:])


def test_a_job_for_a_pool_no_worker_ever_declared_waits_in_that_pools_queue(clean_db, channel, amqp_url, engine):
    """A pool scaled to zero has never run a worker that declared its queue: the relay declares
    it before the first job, so the job waits there (and KEDA sees it) instead of being
    refused as unroutable, which would hold the outbox behind it."""
    import uuid

    from atelier_contracts import decode
    from atelier_contracts.registry import example_for
    from atelier_messaging.schema import INSERT_OUTBOX_SQL, outbox_row
    from atelier_messaging.topology import dead_queue, job_routing_key, jobs_queue
    from sqlalchemy import text

    pool = f"p{uuid.uuid4().hex[:8]}"
    queue = jobs_queue(pool)
    job = decode(json.dumps({**example_for("inference.job.requested", 1), "id": str(uuid.uuid4())}))
    with Session(engine) as session, session.begin():
        session.execute(text(INSERT_OUTBOX_SQL), outbox_row(job, priority=5, routing_key=job_routing_key(job.routing_key, pool)))
        add_to_outbox(session, registered())  # a fact behind it still goes out
    def queued_in_the_pool() -> int:
        # The queue does not exist until the relay declares it: ask on a channel of our own,
        # which the broker closes at each "not found".
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        try:
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                probe = connection.channel()
                try:
                    count = probe.queue_declare(queue, passive=True).method.message_count
                    probe.close()
                    if count:
                        return count
                except pika.exceptions.ChannelClosedByBroker:
                    pass
                connection.sleep(0.05)
            return 0
        finally:
            connection.close()

    try:
        assert asyncio.run(relaying(clean_db, amqp_url, queued_in_the_pool)) == 1
        [(props, body)] = get_all(channel, queue, expect=1, timeout_s=4)
        assert props.message_id == job.id and props.priority == 5
        assert len(get_all(channel, "payments.events", expect=1, timeout_s=4)) == 1
        assert pending(clean_db) == 0
        # The pool's whole queue family: dead-lettered jobs of the pool are kept, not dropped.
        assert channel.queue_declare(dead_queue(queue), passive=True).method.message_count == 0
    finally:
        for name in (queue, dead_queue(queue), f"{queue}.retry"):
            channel.queue_delete(name)
