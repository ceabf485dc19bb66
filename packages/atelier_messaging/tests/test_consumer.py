"""Consumers: one effect per message id, bounded retries, dead-lettering."""
import contextlib
import json
import threading

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from atelier_contracts import encode
from atelier_messaging.consumer import ATTEMPTS_HEADER, Consumer, PermanentError, idempotent
from atelier_messaging.publisher import Publisher
from atelier_messaging.sqlalchemy import SqlAlchemyUnitOfWork

from .conftest import get_all, registered

pytestmark = pytest.mark.integration


@pytest.fixture()
def uow(clean_db):
    engine = create_engine(clean_db.replace("postgresql://", "postgresql+psycopg://", 1))
    yield SqlAlchemyUnitOfWork(sessionmaker(engine))
    engine.dispose()


def record_effect(envelope, session):
    session.execute(text("INSERT INTO effects (message_id, note) VALUES (:id, :note)"), {"id": envelope.id, "note": envelope.data["email"]})


def effects(url):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT message_id::text, note FROM effects ORDER BY note").fetchall()


def make_consumer(uow, handler, **kw):
    return Consumer(queue="payments.events", handlers={"auth.user.registered.v1": handler}, unit_of_work=uow, **kw)


def test_message_delivered_twice_has_its_effect_once(clean_db, channel, amqp_url, uow):
    env = registered(email="twice@example.com")
    publisher = Publisher(amqp_url)
    publisher.publish(env)
    publisher.publish(env)  # the relay republishes after a crash between confirm and commit
    publisher.close()
    handled = make_consumer(uow, record_effect).drain(amqp_url)
    assert handled == 2
    assert effects(clean_db) == [(env.id, "twice@example.com")]
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM inbox").fetchone()[0] == 1


def test_an_idempotent_handlers_messages_skip_the_inbox(clean_db, channel, amqp_url, uow):
    """Its own rule makes the second delivery a no-op; the inbox is not asked and gains no row."""
    seen = []

    @idempotent
    def keep_newest(envelope, session):
        seen.append(envelope.id)
        session.execute(text("DELETE FROM effects WHERE message_id = :id"), {"id": envelope.id})  # replaces the state
        record_effect(envelope, session)

    env = registered(email="heartbeat@example.com")
    publisher = Publisher(amqp_url)
    publisher.publish(env)
    publisher.publish(env)
    publisher.close()
    assert make_consumer(uow, keep_newest).drain(amqp_url) == 2
    assert seen == [env.id, env.id]
    assert effects(clean_db) == [(env.id, "heartbeat@example.com")]
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM inbox").fetchone()[0] == 0


def test_failed_effect_rolls_back_its_inbox_row_and_is_retried(clean_db, channel, amqp_url, uow):
    calls = []

    def flaky(envelope, session):
        calls.append(envelope.id)
        record_effect(envelope, session)
        if len(calls) < 3:
            raise RuntimeError("database hiccup")

    publisher = Publisher(amqp_url)
    env = registered(email="flaky@example.com")
    publisher.publish(env)
    publisher.close()
    make_consumer(uow, flaky, retry_base_delay_ms=50).drain(amqp_url, idle_s=1.5)
    assert len(calls) == 3
    assert effects(clean_db) == [(env.id, "flaky@example.com")]


def test_retries_are_bounded_then_dead_lettered(clean_db, channel, amqp_url, uow):
    def always_fails(envelope, session):
        raise RuntimeError("still broken")

    publisher = Publisher(amqp_url)
    publisher.publish(registered())
    publisher.close()
    make_consumer(uow, always_fails, max_attempts=3, retry_base_delay_ms=20).drain(amqp_url, idle_s=1.0)
    dead = get_all(channel, "payments.events.dead", expect=1)
    assert len(dead) == 1
    assert dead[0][0].headers[ATTEMPTS_HEADER] == 2  # the third failure dead-letters
    assert effects(clean_db) == []


def test_permanent_errors_and_broken_contracts_are_dead_lettered_at_once(clean_db, channel, amqp_url, uow):
    def refuses(envelope, session):
        raise PermanentError("user vanished")

    publisher = Publisher(amqp_url)
    publisher.publish(registered())
    publisher.close()
    bad = json.loads(encode(registered()))
    bad["data"]["tier"] = "platinum"
    channel.basic_publish("atelier.events", "auth.user.registered.v1", json.dumps(bad).encode())
    channel.basic_publish("atelier.events", "auth.user.registered.v1", b"not json")
    make_consumer(uow, refuses).drain(amqp_url)
    assert len(get_all(channel, "payments.events.dead", expect=3)) == 3
    assert effects(clean_db) == []


def test_run_loop_stops_cleanly(clean_db, channel, amqp_url, uow):
    consumer = make_consumer(uow, record_effect)
    thread = threading.Thread(target=consumer.run, args=(amqp_url,), daemon=True)
    thread.start()
    publisher = Publisher(amqp_url)
    publisher.publish(registered(email="live@example.com"))
    publisher.close()
    import time

    deadline = time.monotonic() + 10
    while not effects(clean_db) and time.monotonic() < deadline:
        time.sleep(0.05)
    consumer.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert [note for _, note in effects(clean_db)] == ["live@example.com"]


class CountingUnitOfWork:
    """The real unit of work, counting its transactions and those that rolled back."""

    def __init__(self, inner):
        self.inner = inner
        self.transactions = 0
        self.rolled_back = 0

    @contextlib.contextmanager
    def begin(self):
        self.transactions += 1
        try:
            with self.inner.begin() as tx:
                yield tx
        except BaseException:
            self.rolled_back += 1
            raise

    def claim(self, tx, message_id, consumer):
        return self.inner.claim(tx, message_id, consumer)


def test_messages_already_here_are_handled_in_one_transaction(clean_db, channel, amqp_url, uow):
    counting = CountingUnitOfWork(uow)
    envelopes = [registered(email=f"run-{i:02d}@example.com") for i in range(10)]
    publisher = Publisher(amqp_url)
    for env in envelopes:
        publisher.publish(env)
    publisher.publish(envelopes[3])  # a duplicate inside the same run
    publisher.close()
    handled = make_consumer(counting, record_effect).drain(amqp_url)
    assert handled == 11
    assert effects(clean_db) == [(env.id, f"run-{i:02d}@example.com") for i, env in enumerate(envelopes)]
    # All eleven were queued before the consumer started, so they arrive together.
    assert counting.transactions < 11
    assert channel.queue_declare("payments.events", passive=True).method.message_count == 0


def test_one_failing_message_in_a_run_leaves_the_others_applied(clean_db, channel, amqp_url, uow):
    counting = CountingUnitOfWork(uow)

    def picky(envelope, session):
        record_effect(envelope, session)
        if envelope.data["email"] == "poison@example.com":
            raise PermanentError("cannot ever apply this one")

    good = [registered(email=f"good-{i}@example.com") for i in range(4)]
    publisher = Publisher(amqp_url)
    for env in good[:2] + [registered(email="poison@example.com")] + good[2:]:
        publisher.publish(env)
    publisher.close()
    make_consumer(counting, picky).drain(amqp_url)
    # The run that held the poison rolled back whole, then each of its messages was handled on
    # its own (how the five split into runs depends on when deliveries reach the socket).
    assert effects(clean_db) == [(env.id, f"good-{i}@example.com") for i, env in enumerate(good)]
    dead = get_all(channel, "payments.events.dead", expect=1)
    assert [json.loads(body)["data"]["email"] for _, body in dead] == ["poison@example.com"]
    assert counting.rolled_back >= 1
