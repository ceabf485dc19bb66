"""Relay and consumer metrics, read from the registry after real work on the real broker
and database (names as in infra/monitoring/catalogue.toml)."""
import dataclasses
import socket
import time
import urllib.request

import psycopg
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from atelier_messaging import metrics
from atelier_messaging.consumer import Consumer, PermanentError
from atelier_messaging.publisher import Publisher
from atelier_messaging.sqlalchemy import SqlAlchemyUnitOfWork, add_to_outbox

from .conftest import get_all, registered

QUEUE = "payments.events"


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def wait_for(predicate, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture()
def engine(clean_db):
    engine = create_engine(clean_db.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


@pytest.mark.integration
def test_relay_counts_what_it_published_and_reports_the_backlog(clean_db, channel, relay_factory, engine):
    envelopes = [registered(email=f"r{i}@example.com") for i in range(3)]
    with Session(engine) as session, session.begin():
        for envelope in envelopes:
            add_to_outbox(session, envelope)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("UPDATE outbox SET created_at = now() - interval '42 seconds'")
        metrics.observe_outbox("test", conn)
    assert sample("atelier_outbox_backlog", service="test") == 3
    assert sample("atelier_outbox_oldest_age_seconds", service="test") >= 42

    published_before = sample("atelier_relay_published_total", service="test", exchange="atelier.events")
    batches_before = sample("atelier_relay_publish_duration_seconds_count", service="test")
    with relay_factory():
        assert len(get_all(channel, QUEUE, expect=3)) == 3
        assert wait_for(lambda: sample("atelier_outbox_backlog", service="test") == 0), "the gauge follows the drained outbox"
    assert sample("atelier_relay_published_total", service="test", exchange="atelier.events") - published_before == 3
    assert sample("atelier_relay_publish_duration_seconds_count", service="test") > batches_before
    assert sample("atelier_outbox_oldest_age_seconds", service="test") == 0
    # Known label values exist before anything went there, so the family always shows.
    assert REGISTRY.get_sample_value("atelier_relay_published_total", {"service": "test", "exchange": "atelier.jobs"}) is not None


@pytest.mark.integration
def test_consumer_counts_each_outcome_and_polls_queue_sizes(clean_db, channel, amqp_url, engine):
    def handler(envelope, session):
        if envelope.data["email"] == "never@example.com":
            raise PermanentError("this one can never work")
        if envelope.data["email"] == "flaky@example.com":
            raise RuntimeError("always broken")

    consumer = Consumer(queue=QUEUE, handlers={"auth.user.registered.v1": handler},
                        unit_of_work=SqlAlchemyUnitOfWork(sessionmaker(engine)), max_attempts=2, retry_base_delay_ms=20)
    assert consumer.service == "payments"
    labels = {"service": "payments", "queue": QUEUE}
    before = {outcome: sample("atelier_consumer_messages_total", outcome=outcome, **labels)
              for outcome in metrics.CONSUMER_OUTCOMES}
    lag_before = sample("atelier_consumer_lag_seconds_count", **labels)

    # A very late event: its lag is decades.
    ok = dataclasses.replace(registered(email="ok@example.com"), occurred_at="2000-01-01T00:00:00Z")
    publisher = Publisher(amqp_url)
    for envelope in (ok, ok, registered(email="never@example.com"), registered(email="flaky@example.com")):
        publisher.publish(envelope)
    publisher.close()
    consumer.drain(amqp_url, idle_s=1.5)

    delta = {outcome: sample("atelier_consumer_messages_total", outcome=outcome, **labels) - before[outcome]
             for outcome in metrics.CONSUMER_OUTCOMES}
    assert delta == {"handled": 1, "duplicate": 1, "retried": 1, "dead_lettered": 2}
    assert sample("atelier_consumer_lag_seconds_count", **labels) - lag_before == 1
    assert sample("atelier_consumer_lag_seconds_bucket", le="+Inf", **labels) >= 1
    assert sample("atelier_consumer_lag_seconds_sum", **labels) > 20 * 365 * 86400
    # drain() polls once at the end: both dead letters are in the dead-letter queue, none ready.
    assert sample("atelier_dead_letter_messages", queue=QUEUE) == 2
    assert sample("atelier_queue_messages", queue=QUEUE) == 0
    with psycopg.connect(clean_db) as conn:
        inbox = conn.execute("SELECT count(*) FROM inbox").fetchone()[0]
    assert inbox == 1
    assert sample("atelier_inbox_rows", service="payments") == inbox
    assert len(get_all(channel, "payments.events.dead", expect=2)) == 2


@pytest.mark.integration
def test_queue_poll_never_costs_the_consuming_channel(clean_db, channel, amqp_url, engine):
    """A queue that does not exist fails the passive declare; the consumer goes on."""
    from atelier_messaging.connection import connect

    poller = metrics.QueuePoller("nobody", "no.such.queue", SqlAlchemyUnitOfWork(sessionmaker(engine)))
    connection = connect(amqp_url)
    try:
        consuming = connection.channel()
        poller.poll(connection)
        assert consuming.is_open
        assert sample("atelier_inbox_rows", service="nobody") == 0
    finally:
        connection.close()


def test_metrics_port_taken_warns_and_goes_on(caplog):
    from atelier_kit import metrics as kit_metrics

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert kit_metrics.serve_metrics_from_env({"ATELIER_METRICS_PORT": str(port)}) is None
    assert "going on without them" in caplog.text
    assert kit_metrics.serve_metrics_from_env({}) is None
    assert kit_metrics.serve_metrics_from_env({"ATELIER_METRICS_PORT": "not-a-port"}) is None

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    metrics.init_consumer("probe", "probe.events")
    assert kit_metrics.serve_metrics_from_env({"ATELIER_METRICS_PORT": str(free)}) == free
    assert kit_metrics.serve_metrics_from_env({"ATELIER_METRICS_PORT": str(free)}) == free, "a second call is harmless"
    body = urllib.request.urlopen(f"http://127.0.0.1:{free}/metrics", timeout=5).read().decode()
    assert 'atelier_consumer_messages_total{outcome="dead_lettered",queue="probe.events",service="probe"} 0.0' in body


@pytest.mark.integration
def test_backlog_gauges_follow_the_outbox_while_the_broker_is_away(clean_db, engine):
    """The relay cannot publish (nothing listens on the port), and the backlog still shows."""
    import threading

    from atelier_messaging.relay import Relay

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with Session(engine) as session, session.begin():
        for i in range(2):
            add_to_outbox(session, registered(email=f"stuck{i}@example.com"))
    relay = Relay(clean_db, f"amqp://guest:guest@127.0.0.1:{closed_port}/", "broker-away", poll_interval_s=0.2)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: sample("atelier_outbox_backlog", service="broker-away") == 2)
    finally:
        relay.stop()
        thread.join(timeout=10)
    assert sample("atelier_relay_published_total", service="broker-away", exchange="atelier.events") == 0
