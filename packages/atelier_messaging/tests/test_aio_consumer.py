"""The asyncio face on the real broker: the same guarantees as the blocking consumer
(test_consumer.py), one test for each of them, plus reconnection after an outage."""
import asyncio
import json
import time

import psycopg
import pytest

from atelier_contracts import encode
from atelier_messaging.aio.consumer import AioConsumer
from atelier_messaging.aio.publisher import AioPublisher
from atelier_messaging.consumer import ATTEMPTS_HEADER, PermanentError
from atelier_messaging.publisher import Publisher, PublishError

from .conftest import get_all, registered
from .test_consumer import CountingUnitOfWork, effects, record_effect, uow  # noqa: F401 - uow is a fixture

pytestmark = pytest.mark.integration


def make_consumer(unit_of_work, handler, **kw):
    return AioConsumer(queue="payments.events", handlers={"auth.user.registered.v1": handler},
                       unit_of_work=unit_of_work, **kw)


def publish(amqp_url, *envelopes):
    async def go():
        publisher = AioPublisher(amqp_url)
        try:
            for envelope in envelopes:
                await publisher.publish(envelope)
        finally:
            await publisher.close()
    asyncio.run(go())


def test_message_delivered_twice_has_its_effect_once(clean_db, channel, amqp_url, uow):
    env = registered(email="twice@example.com")
    publish(amqp_url, env, env)
    handled = asyncio.run(make_consumer(uow, record_effect).drain(amqp_url))
    assert handled == 2
    assert effects(clean_db) == [(env.id, "twice@example.com")]
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM inbox").fetchone()[0] == 1


def test_failed_effect_rolls_back_and_is_retried_with_backoff(clean_db, channel, amqp_url, uow):
    calls = []

    def flaky(envelope, session):
        calls.append(time.monotonic())
        record_effect(envelope, session)
        if len(calls) < 3:
            raise RuntimeError("database hiccup")

    env = registered(email="flaky@example.com")
    publish(amqp_url, env)
    asyncio.run(make_consumer(uow, flaky, retry_base_delay_ms=200).drain(amqp_url, idle_s=1.5))
    assert len(calls) == 3
    assert effects(clean_db) == [(env.id, "flaky@example.com")]
    # The second retry waited twice as long as the first (200 ms, then 400 ms).
    assert calls[1] - calls[0] >= 0.18 and calls[2] - calls[1] >= 0.38


def test_retries_are_bounded_then_dead_lettered(clean_db, channel, amqp_url, uow):
    def always_fails(envelope, session):
        raise RuntimeError("still broken")

    publish(amqp_url, registered())
    asyncio.run(make_consumer(uow, always_fails, max_attempts=3, retry_base_delay_ms=20).drain(amqp_url, idle_s=1.0))
    dead = get_all(channel, "payments.events.dead", expect=1)
    assert len(dead) == 1
    assert dead[0][0].headers[ATTEMPTS_HEADER] == 2  # the third failure dead-letters
    assert effects(clean_db) == []


def test_permanent_errors_and_broken_contracts_are_dead_lettered_at_once(clean_db, channel, amqp_url, uow):
    calls = []

    def refuses(envelope, session):
        calls.append(envelope.id)
        raise PermanentError("user vanished")

    publish(amqp_url, registered())
    bad = json.loads(encode(registered()))
    bad["data"]["tier"] = "platinum"
    channel.basic_publish("atelier.events", "auth.user.registered.v1", json.dumps(bad).encode())
    channel.basic_publish("atelier.events", "auth.user.registered.v1", b"not json")
    asyncio.run(make_consumer(uow, refuses).drain(amqp_url))
    assert len(get_all(channel, "payments.events.dead", expect=3)) == 3
    assert len(calls) == 1  # never retried
    assert effects(clean_db) == []


def test_messages_already_here_are_handled_in_one_transaction(clean_db, channel, amqp_url, uow):
    counting = CountingUnitOfWork(uow)
    envelopes = [registered(email=f"run-{i:02d}@example.com") for i in range(10)]
    publish(amqp_url, *envelopes, envelopes[3])  # a duplicate inside the same run
    handled = asyncio.run(make_consumer(counting, record_effect).drain(amqp_url))
    assert handled == 11
    assert effects(clean_db) == [(env.id, f"run-{i:02d}@example.com") for i, env in enumerate(envelopes)]
    assert counting.transactions < 11
    assert channel.queue_declare("payments.events", passive=True).method.message_count == 0


def test_one_failing_message_in_a_run_leaves_the_others_applied(clean_db, channel, amqp_url, uow):
    counting = CountingUnitOfWork(uow)

    def picky(envelope, session):
        record_effect(envelope, session)
        if envelope.data["email"] == "poison@example.com":
            raise PermanentError("cannot ever apply this one")

    good = [registered(email=f"good-{i}@example.com") for i in range(4)]
    publish(amqp_url, *good[:2], registered(email="poison@example.com"), *good[2:])
    asyncio.run(make_consumer(counting, picky).drain(amqp_url))
    assert effects(clean_db) == [(env.id, f"good-{i}@example.com") for i, env in enumerate(good)]
    dead = get_all(channel, "payments.events.dead", expect=1)
    assert [json.loads(body)["data"]["email"] for _, body in dead] == ["poison@example.com"]
    assert counting.rolled_back >= 1


def test_unroutable_work_is_a_publish_error(clean_db, channel, amqp_url):
    async def go():
        publisher = AioPublisher(amqp_url)
        try:
            await publisher.publish_raw(b"{}", exchange="atelier.jobs", routing_key="nobody.listens.v1")
        finally:
            await publisher.close()
    with pytest.raises(PublishError):
        asyncio.run(go())


def test_run_loop_stops_cleanly(clean_db, channel, amqp_url, uow):
    async def go():
        consumer = make_consumer(uow, record_effect)
        task = asyncio.create_task(consumer.run(amqp_url, serve_metrics=False))
        Publisher(amqp_url).publish(registered(email="live@example.com"))
        deadline = time.monotonic() + 10
        while not effects(clean_db) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        consumer.stop()
        await asyncio.wait_for(task, timeout=5)
    asyncio.run(go())
    assert [note for _, note in effects(clean_db)] == ["live@example.com"]


def test_consumer_reconnects_after_the_broker_goes_away(clean_db, uow):
    from atelier_devkit.brokers import private_rabbit

    async def wait_for_notes(expected, timeout_s):
        deadline = time.monotonic() + timeout_s
        while sorted(note for _, note in effects(clean_db)) != expected and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return sorted(note for _, note in effects(clean_db))

    async def go(broker):
        consumer = make_consumer(uow, record_effect)
        task = asyncio.create_task(consumer.run(broker.url, serve_metrics=False))
        try:
            await asyncio.sleep(0.5)  # topology declared by the consumer's connect
            await _publish_async(broker.url, registered(email="before@example.com"))
            assert await wait_for_notes(["before@example.com"], 15) == ["before@example.com"]
            await asyncio.to_thread(broker.stop_app)
            await asyncio.to_thread(broker.start_app)
            await _publish_async(broker.url, registered(email="after@example.com"))
            assert await wait_for_notes(["after@example.com", "before@example.com"], 40) == [
                "after@example.com", "before@example.com"]
        finally:
            consumer.stop()
            await asyncio.wait_for(task, timeout=20)

    with private_rabbit() as broker:
        asyncio.run(go(broker))


async def _publish_async(amqp_url, envelope):
    publisher = AioPublisher(amqp_url)
    try:
        await publisher.publish(envelope)
    finally:
        await publisher.close()


def test_aio_consumer_exports_the_same_metrics(clean_db, channel, amqp_url, uow):
    import dataclasses

    from atelier_messaging import metrics

    from .test_metrics import sample

    def handler(envelope, session):
        if envelope.data["email"] == "never@example.com":
            raise PermanentError("this one can never work")
        if envelope.data["email"] == "flaky@example.com":
            raise RuntimeError("always broken")

    labels = {"service": "payments", "queue": "payments.events"}
    before = {outcome: sample("atelier_consumer_messages_total", outcome=outcome, **labels)
              for outcome in metrics.CONSUMER_OUTCOMES}
    lag_before = sample("atelier_consumer_lag_seconds_count", **labels)
    ok = dataclasses.replace(registered(email="ok@example.com"), occurred_at="2000-01-01T00:00:00Z")
    publish(amqp_url, ok, ok, registered(email="never@example.com"), registered(email="flaky@example.com"))
    asyncio.run(make_consumer(uow, handler, max_attempts=2, retry_base_delay_ms=20).drain(amqp_url, idle_s=1.5))
    delta = {outcome: sample("atelier_consumer_messages_total", outcome=outcome, **labels) - before[outcome]
             for outcome in metrics.CONSUMER_OUTCOMES}
    assert delta == {"handled": 1, "duplicate": 1, "retried": 1, "dead_lettered": 2}
    assert sample("atelier_consumer_lag_seconds_count", **labels) - lag_before == 1
    assert sample("atelier_dead_letter_messages", queue="payments.events") == 2
    assert sample("atelier_queue_messages", queue="payments.events") == 0
    assert sample("atelier_inbox_rows", service="payments") == 1


def test_aio_consumer_continues_the_producers_trace(clean_db, channel, amqp_url, uow):
    from atelier_kit import tracing

    seen = {}

    def handler(envelope, session):
        seen[envelope.id] = tracing.current_trace_id()
        record_effect(envelope, session)

    with tracing.recording("msg") as exporter:
        with tracing.start_span("job") as job_span:
            env = registered(email="traced@example.com")
            publish(amqp_url, env)
        asyncio.run(make_consumer(uow, handler).drain(amqp_url, idle_s=0.5))
        spans = exporter.get_finished_spans()
    trace_id = job_span.get_span_context().trace_id
    assert seen == {env.id: f"{trace_id:032x}"}, "the handler runs inside the producer's trace"
    (consume_span,) = [span for span in spans if span.name == "consume auth.user.registered.v1"]
    assert consume_span.context.trace_id == trace_id
    assert consume_span.attributes["messaging.message.id"] == env.id
    assert {span.context.trace_id for span in spans if span.name.startswith("publish ")} == {trace_id}
