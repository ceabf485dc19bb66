"""Dead letters on the real broker: explained, replayed once, dropped one at a time, never lost."""
import io
import json

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from atelier_contracts import encode
from atelier_messaging.consumer import Consumer, PermanentError
from atelier_messaging.dead_letters import DeadLetterError, DeadLetters, main
from atelier_messaging.publisher import Publisher, properties_for
from atelier_messaging.sqlalchemy import SqlAlchemyUnitOfWork

from .conftest import registered
from .test_consumer import effects, record_effect

pytestmark = pytest.mark.integration

QUEUE = "payments.events"


@pytest.fixture()
def uow(clean_db):
    engine = create_engine(clean_db.replace("postgresql://", "postgresql+psycopg://", 1))
    yield SqlAlchemyUnitOfWork(sessionmaker(engine))
    engine.dispose()


def consume(uow, amqp_url, handler, **kw):
    Consumer(queue=QUEUE, handlers={"auth.user.registered.v1": handler}, unit_of_work=uow, **kw).drain(amqp_url, idle_s=1.0)


def refuse_poison(envelope, session):
    if envelope.data["email"].startswith("poison"):
        raise PermanentError("cannot apply")
    record_effect(envelope, session)


def publish(amqp_url, *envelopes):
    publisher = Publisher(amqp_url)
    for envelope in envelopes:
        publisher.publish(envelope)
    publisher.close()


def dead_ids(amqp_url):
    with DeadLetters(amqp_url) as dead:
        return [letter.id for letter in dead.peek(QUEUE, limit=100)]


def test_poison_is_explained_then_replayed_once_after_the_fix(clean_db, channel, amqp_url, uow):
    poison = registered(email="poison@example.com")
    publish(amqp_url, poison)
    consume(uow, amqp_url, refuse_poison)
    assert effects(clean_db) == []

    with DeadLetters(amqp_url) as dead:
        [summary] = [s for s in dead.summaries() if s.queue == QUEUE]
        assert summary.count == 1 and summary.oldest_died_at is not None
        [letter] = dead.peek(QUEUE)
    assert letter.id == poison.id
    assert letter.type == "auth.user.registered.v1"
    assert letter.reason == "rejected" and letter.attempts == 1
    assert "PermanentError" in letter.explanation
    assert letter.first_death["queue"] == QUEUE
    assert "poison@example.com" in letter.body_summary
    assert dead_ids(amqp_url) == [poison.id]  # showing took nothing away

    with DeadLetters(amqp_url) as dead:
        assert dead.replay(QUEUE, ids=[poison.id]) == [poison.id]
    assert dead_ids(amqp_url) == []
    consume(uow, amqp_url, record_effect)  # the handler, fixed
    assert effects(clean_db) == [(poison.id, "poison@example.com")]


def test_replaying_a_message_that_was_handled_changes_nothing(clean_db, channel, amqp_url, uow):
    handled = registered(email="handled@example.com")
    publish(amqp_url, handled)
    consume(uow, amqp_url, record_effect)
    # A copy of it died too (say a redelivery met a handler broken for a while).
    channel.basic_publish("", "payments.events.dead", json.dumps({"id": "x"}).encode())  # filler, untouched
    channel.basic_publish("atelier.dead", QUEUE, encode(handled), properties_for(handled))
    with DeadLetters(amqp_url) as dead:
        assert dead.replay(QUEUE, ids=[handled.id]) == [handled.id]
    consume(uow, amqp_url, record_effect)
    assert effects(clean_db) == [(handled.id, "handled@example.com")]
    assert dead_ids(amqp_url) == ["x"]


def test_drop_removes_only_the_chosen_one_and_keeps_the_order(clean_db, channel, amqp_url, uow):
    letters = [registered(email=f"poison-{i}@example.com") for i in range(4)]
    publish(amqp_url, *letters)
    consume(uow, amqp_url, refuse_poison)
    assert dead_ids(amqp_url) == [e.id for e in letters]
    with DeadLetters(amqp_url) as dead:
        assert dead.drop(QUEUE, ids=[letters[1].id]) == [letters[1].id]
    assert dead_ids(amqp_url) == [letters[0].id, letters[2].id, letters[3].id]
    with DeadLetters(amqp_url) as dead:
        assert dead.replay(QUEUE, ids=[letters[2].id]) == [letters[2].id]
    assert dead_ids(amqp_url) == [letters[0].id, letters[3].id]
    with DeadLetters(amqp_url) as dead:
        assert dead.drop(QUEUE, all=True) == [letters[0].id, letters[3].id]
    assert dead_ids(amqp_url) == []
    consume(uow, amqp_url, record_effect)
    assert effects(clean_db) == [(letters[2].id, "poison-2@example.com")]


def test_a_replay_right_after_a_peek_takes_every_letter(clean_db, channel, amqp_url, uow):
    """A peek puts its letters back with a requeue, and the broker answers a queue's message
    count ahead of requeues still on their way: a pass bounded by that count found nothing
    about one time in six. Many rounds, so a pass that trusts the count cannot pass them all."""
    for i in range(40):
        letter = registered(email=f"poison-{i}@example.com")
        channel.basic_publish("atelier.dead", QUEUE, encode(letter), properties_for(letter))
        with DeadLetters(amqp_url) as dead:
            assert [seen.id for seen in dead.peek(QUEUE)] == [letter.id]
            assert dead.replay(QUEUE, all=True) == [letter.id], f"round {i}"
        method, _props, _body = channel.basic_get(QUEUE, auto_ack=True)
        assert method is not None
    assert dead_ids(amqp_url) == []


def test_a_replayed_copy_that_dies_again_during_the_pass_is_not_taken_twice(clean_db, channel, amqp_url, uow):
    from atelier_messaging.dead_letters import replay_properties

    letters = [registered(email=f"poison-{i}@example.com") for i in range(3)]
    publish(amqp_url, *letters)
    consume(uow, amqp_url, refuse_poison)
    with DeadLetters(amqp_url) as dead:
        # Each copy dies the moment it is replayed, behind the letters still to be taken.
        def replay_into_death(properties, body):
            dead._channel.basic_publish("atelier.dead", QUEUE, body, replay_properties(properties, "this-pass"))

        assert dead._act(QUEUE, lambda _p, _b: True, replay_into_death, "this-pass") == [e.id for e in letters]
        again = dead.peek(QUEUE)
    assert [letter.id for letter in again] == [e.id for e in letters]
    assert [letter.replayed for letter in again] == [1, 1, 1]


def test_exhausted_retries_and_broken_contracts_are_explained(clean_db, channel, amqp_url, uow):
    def always_fails(envelope, session):
        raise RuntimeError("still broken")

    publish(amqp_url, registered(email="retried@example.com"))
    channel.basic_publish("atelier.events", "auth.user.registered.v1", b"not json")
    consume(uow, amqp_url, always_fails, max_attempts=3, retry_base_delay_ms=20)
    with DeadLetters(amqp_url) as dead:
        letters = {letter.type: letter for letter in dead.peek(QUEUE)}
    retried = letters["auth.user.registered.v1"]
    assert retried.attempts == 3 and "retries exhausted" in retried.explanation
    assert {d["queue"] for d in retried.deaths} == {QUEUE, "payments.events.retry"}
    broken = letters[None]
    assert "breaks its contract" in broken.explanation and broken.id.startswith("sha256:")
    # A replayed message starts afresh: a full set of retries, marked as replayed.
    with DeadLetters(amqp_url) as dead:
        dead.replay(QUEUE, ids=[retried.id])
    method, properties, _ = channel.basic_get(QUEUE, auto_ack=True)
    assert "x-atelier-attempts" not in properties.headers and "x-death" not in properties.headers
    assert properties.headers["x-atelier-replayed"] == 1 and properties.message_id == retried.id


def test_bad_requests_are_refused_and_nothing_moves(clean_db, channel, amqp_url, uow):
    publish(amqp_url, registered(email="poison-a@example.com"))
    consume(uow, amqp_url, refuse_poison)
    with DeadLetters(amqp_url) as dead:
        with pytest.raises(DeadLetterError) as unknown:
            dead.peek("nope.events")
        assert unknown.value.code == "unknown_queue"
        with pytest.raises(DeadLetterError) as neither:
            dead.drop(QUEUE)
        assert neither.value.code == "invalid_selection"
        assert dead.drop(QUEUE, ids=["not-there"]) == []
    assert len(dead_ids(amqp_url)) == 1


def test_command_line(clean_db, channel, amqp_url, uow):
    poison = registered(email="poison-cli@example.com")
    publish(amqp_url, poison)
    consume(uow, amqp_url, refuse_poison)
    out = io.StringIO()
    assert main(["--amqp-url", amqp_url, "--json", "list"], out) == 0
    assert {"queue": QUEUE, "dead_queue": "payments.events.dead", "count": 1} == {
        k: v for k, v in json.loads(out.getvalue())[[r["queue"] for r in json.loads(out.getvalue())].index(QUEUE)].items() if k != "oldest_died_at"}
    out = io.StringIO()
    assert main(["--amqp-url", amqp_url, "show", "--queue", QUEUE], out) == 0
    assert poison.id in out.getvalue() and "PermanentError" in out.getvalue()
    assert main(["--amqp-url", amqp_url, "drop", "--queue", QUEUE, "--id", "missing"], io.StringIO()) == 1
    assert main(["--amqp-url", amqp_url, "show", "--queue", "nope"], io.StringIO()) == 2
    assert main(["--amqp-url", amqp_url, "replay", "--queue", QUEUE, "--id", poison.id], io.StringIO()) == 0
    assert dead_ids(amqp_url) == []


def test_command_line_without_a_broker_says_so():
    assert main(["--amqp-url", "amqp://guest:guest@127.0.0.1:9/nowhere", "list"], io.StringIO()) == 3


def test_a_replay_the_broker_does_not_take_leaves_every_message_dead_in_order(clean_db, channel, amqp_url, uow):
    letters = [registered(email=f"poison-{i}@example.com") for i in range(3)]
    publish(amqp_url, *letters)
    consume(uow, amqp_url, refuse_poison)
    with DeadLetters(amqp_url) as dead:
        channel.queue_delete(QUEUE)  # nowhere to put a replayed message: unroutable
        with pytest.raises(DeadLetterError) as refused:
            dead.replay(QUEUE, ids=[letters[1].id])
        assert refused.value.code == "replay_failed"
    assert dead_ids(amqp_url) == [e.id for e in letters]  # (dead_ids declares the queue again)


def test_a_worker_pools_dead_jobs_are_listed_and_replayed_to_that_pools_queue(channel, amqp_url, monkeypatch):
    """Queues are not discoverable over AMQP: ATELIER_WORKER_POOLS names the deployment's pools."""
    import uuid

    import pika

    from atelier_contracts import decode
    from atelier_contracts.registry import example_for
    from atelier_messaging.topology import DEAD_EXCHANGE, dead_queue, jobs_queue, retry_queue

    pool = f"p{uuid.uuid4().hex[:8]}"
    queue = jobs_queue(pool)
    with DeadLetters(amqp_url) as dead:
        with pytest.raises(DeadLetterError):
            dead.peek(queue)  # not one of this deployment's pools
    monkeypatch.setenv("ATELIER_WORKER_POOLS", f"default, {pool}")
    job = decode(json.dumps({**example_for("inference.job.requested", 1), "id": str(uuid.uuid4())}))
    try:
        with DeadLetters(amqp_url) as dead:  # declares the pool's queues
            channel.basic_publish(DEAD_EXCHANGE, queue, encode(job), pika.BasicProperties(message_id=job.id, delivery_mode=2))
            [summary] = [s for s in dead.summaries() if s.queue == queue]
            assert summary.count == 1 and summary.dead_queue == dead_queue(queue)
            assert dead.replay(queue, all=True) == [job.id]
        method, _props, body = channel.basic_get(queue, auto_ack=True)
        assert method is not None and json.loads(body)["id"] == job.id
    finally:
        for name in (queue, dead_queue(queue), retry_queue(queue)):
            channel.queue_delete(name)


def test_a_bad_pool_name_in_the_setting_is_refused(monkeypatch):
    from atelier_messaging.topology import worker_pools

    assert worker_pools({"ATELIER_WORKER_POOLS": " large ,default,large"}) == ("large",)
    with pytest.raises(ValueError):
        worker_pools({"ATELIER_WORKER_POOLS": "Large"})
