"""The outbox: a rolled-back message is never sent; a committed one is sent even when
the relay (or the broker) was down at commit time."""
import json

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from atelier_messaging.publisher import Publisher, PublishError
from atelier_messaging.relay import relay_batch
from atelier_messaging.sqlalchemy import add_to_outbox

from .conftest import get_all, registered

pytestmark = pytest.mark.integration


def sa_url(url):
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def test_rolled_back_message_is_never_sent(clean_db, channel, relay_factory):
    engine = create_engine(sa_url(clean_db))
    kept, dropped = registered(email="kept@example.com"), registered(email="dropped@example.com")
    with Session(engine) as session:
        with session.begin():
            add_to_outbox(session, kept)
        session.begin()
        add_to_outbox(session, dropped)
        session.rollback()
    with relay_factory():
        got = get_all(channel, "payments.events", expect=2, timeout_s=5)
    assert [json.loads(body)["id"] for _, body in got] == [kept.id]
    engine.dispose()


def test_message_committed_while_relay_was_down_is_sent_when_it_starts(clean_db, channel, relay_factory):
    engine = create_engine(sa_url(clean_db))
    envelopes = [registered(email=f"u{i}@example.com") for i in range(3)]
    with Session(engine) as session, session.begin():
        for env in envelopes:
            add_to_outbox(session, env)
    assert get_all(channel, "payments.events", expect=1, timeout_s=0.5) == []
    with relay_factory():
        got = get_all(channel, "payments.events", expect=3)
    assert [props.message_id for props, _ in got] == [e.id for e in envelopes], "sent once each, in commit order"
    with psycopg.connect(clean_db) as conn:
        pending = conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0]
    assert pending == 0
    engine.dispose()


def test_relay_wakes_on_commit_without_waiting_for_the_poll(clean_db, channel, relay_factory, database_url):
    import time

    engine = create_engine(sa_url(clean_db))
    with relay_factory() as relay:
        relay.relay.poll_interval_s = 30  # only NOTIFY can wake it in time
        time.sleep(1.0)
        started = time.monotonic()
        with Session(engine) as session, session.begin():
            add_to_outbox(session, registered())
        got = get_all(channel, "payments.events", expect=1, timeout_s=5)
        elapsed = time.monotonic() - started
    assert len(got) == 1 and elapsed < 5
    engine.dispose()


def test_broker_unreachable_keeps_the_row_pending_with_its_error(clean_db):
    engine = create_engine(sa_url(clean_db))
    with Session(engine) as session, session.begin():
        add_to_outbox(session, registered())
    publisher = Publisher("amqp://guest:guest@127.0.0.1:1/nowhere")
    with psycopg.connect(clean_db, autocommit=True) as conn:
        with pytest.raises(PublishError):
            relay_batch(conn, publisher)
        pending, attempts, error = conn.execute("SELECT count(*), max(attempts), max(last_error) FROM outbox WHERE published_at IS NULL").fetchone()
    assert pending == 1 and attempts == 1 and "unavailable" in error
    engine.dispose()


def test_an_event_nobody_subscribes_to_does_not_hold_back_the_rest(clean_db, channel, relay_factory):
    from atelier_contracts import make_envelope

    engine = create_engine(sa_url(clean_db))
    unheard = make_envelope(
        "pre_inference.job.canceled", 1,
        {"job_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "user_id": "3f2b8c1a-9d4e-4f6a-8b7c-1d2e3f4a5b6c", "canceled_at": "2026-11-23T17:00:00Z"},
        producer="pre_inference",
    )
    heard = registered()
    with Session(engine) as session, session.begin():
        add_to_outbox(session, unheard)
        add_to_outbox(session, heard)
    with relay_factory():
        got = get_all(channel, "payments.events", expect=1)
    assert [props.message_id for props, _ in got] == [heard.id]
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0] == 0
    engine.dispose()


def test_work_nobody_would_receive_is_refused_and_kept(clean_db, amqp_url):
    import pika

    from atelier_messaging.publisher import Publisher, PublishError

    publisher = Publisher(amqp_url)
    with pytest.raises(PublishError, match="no queue"):
        publisher.publish_raw(b"{}", exchange="atelier.jobs", routing_key="nobody.listens.v1", properties=pika.BasicProperties())
    publisher.close()


def test_a_relay_wakes_for_its_own_outbox_only(clean_db):
    """Every service's outbox trigger notifies the same channel, naming its schema: a commit
    to another service's outbox must not wake this relay (it would query its own for nothing)."""
    from atelier_messaging.relay import outbox_schema, wait_for_notice
    from atelier_messaging.schema import NOTIFY_CHANNEL

    with psycopg.connect(clean_db, autocommit=True) as listener, psycopg.connect(clean_db, autocommit=True) as other:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        schema = outbox_schema(listener)
        other.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, "another_service"))
        assert wait_for_notice(listener, schema, timeout_s=0.5) is False
        other.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, schema))
        assert wait_for_notice(listener, schema, timeout_s=10) is True
        # And the trigger names the outbox's schema, which outbox_schema() found.
        engine = create_engine(sa_url(clean_db))
        with Session(engine) as session, session.begin():
            add_to_outbox(session, registered(email="woken@example.com"))
        engine.dispose()
        assert wait_for_notice(listener, schema, timeout_s=10) is True
