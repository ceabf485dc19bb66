"""One trace across the outbox, the relay and a consumer, on the real Postgres and RabbitMQ;
with tracing off no span is made and no envelope carries a trace."""
import json

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from atelier_kit import tracing
from atelier_messaging.consumer import Consumer
from atelier_messaging.publisher import Publisher
from atelier_messaging.relay import relay_batch
from atelier_messaging.sqlalchemy import SqlAlchemyUnitOfWork, add_to_outbox

from .conftest import registered

pytestmark = pytest.mark.integration


@pytest.fixture()
def engine(clean_db):
    engine = create_engine(clean_db.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


def consume(engine, amqp_url):
    """Drain payments.events; returns the trace id the handler saw per message id."""
    seen = {}

    def handler(envelope, session):
        seen[envelope.id] = tracing.current_trace_id()
        session.execute(text("INSERT INTO effects (message_id, note) VALUES (:id, 'traced')"), {"id": envelope.id})

    consumer = Consumer(queue="payments.events", handlers={"auth.user.registered.v1": handler},
                        unit_of_work=SqlAlchemyUnitOfWork(sessionmaker(engine)))
    consumer.drain(amqp_url, idle_s=0.5)
    return seen


def trace_ids(spans, name_prefix):
    return {span.context.trace_id for span in spans if span.name.startswith(name_prefix)}


def test_request_outbox_relay_consumer_share_one_trace(clean_db, channel, amqp_url, engine):
    with tracing.recording("msg") as exporter:
        with tracing.start_span("POST /api/jobs", kind="server") as request_span:
            env = registered(email="traced@example.com")
            with Session(engine) as session, session.begin():
                add_to_outbox(session, env)
        trace_id = request_span.get_span_context().trace_id
        assert env.traceparent.split("-")[1] == f"{trace_id:032x}"
        publisher = Publisher(amqp_url)
        with psycopg_connect(clean_db) as conn:
            assert relay_batch(conn, publisher) == 1
        publisher.close()
        seen = consume(engine, amqp_url)
        spans = exporter.get_finished_spans()
    assert seen == {env.id: f"{trace_id:032x}"}, "the handler runs inside the producer's trace"
    assert trace_ids(spans, "relay ") == {trace_id}
    (consume_span,) = [span for span in spans if span.name == "consume auth.user.registered.v1"]
    assert consume_span.context.trace_id == trace_id
    assert consume_span.parent.span_id == request_span.get_span_context().span_id
    assert consume_span.attributes["messaging.message.id"] == env.id


def test_direct_publish_is_a_producer_span_the_consumer_continues(clean_db, channel, amqp_url, engine):
    with tracing.recording("msg") as exporter:
        with tracing.start_span("job") as job_span:
            env = registered(email="direct@example.com")
            publisher = Publisher(amqp_url)
            publisher.publish(env)
            publisher.close()
        seen = consume(engine, amqp_url)
        spans = exporter.get_finished_spans()
    trace_id = job_span.get_span_context().trace_id
    assert seen == {env.id: f"{trace_id:032x}"}
    assert trace_ids(spans, "publish ") == trace_ids(spans, "consume ") == {trace_id}


def test_an_envelope_made_in_a_span_that_is_not_current_is_published_in_its_trace(clean_db, channel, amqp_url, engine):
    """The worker builds its outcome from a job span it keeps open but not current (it settles
    jobs after a batch ran); the publish span must join that trace, not start one of its own."""
    with tracing.recording("msg") as exporter:
        job_span = tracing.open_span("inference.job", kind="consumer")
        with tracing.start_span("POST /api/jobs", kind="server", traceparent=tracing.traceparent_of(job_span)):
            env = registered(email="kept-open@example.com")
        tracing.end_span(job_span)
        publisher = Publisher(amqp_url)
        publisher.publish(env)  # no span current here
        publisher.close()
        consume(engine, amqp_url)
        spans = exporter.get_finished_spans()
    trace_id = job_span.get_span_context().trace_id
    (publish_span,) = [span for span in spans if span.name.startswith("publish ")]
    assert publish_span.context.trace_id == trace_id
    assert trace_ids(spans, "consume ") == {trace_id}


def test_tracing_off_makes_no_spans_and_no_trace_field(clean_db, channel, amqp_url, engine):
    assert not tracing.enabled()
    env = registered(email="untraced@example.com")
    publisher = Publisher(amqp_url)
    publisher.publish(env)
    publisher.close()
    method, _properties, body = channel.basic_get("payments.events", auto_ack=False)
    assert "trace" not in json.loads(body)
    channel.basic_nack(method.delivery_tag, requeue=True)  # back in the queue for the consumer below
    seen = consume(engine, amqp_url)
    assert seen == {env.id: None}


def psycopg_connect(url):
    import psycopg

    return psycopg.connect(url, autocommit=True)
