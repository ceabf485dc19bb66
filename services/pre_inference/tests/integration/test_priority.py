"""Priority through the real RabbitMQ priority queue: when backed up, paid jobs are
delivered first; the starvation guard makes sure free jobs still progress."""
import json
import uuid

import psycopg
import pytest
from atelier_messaging.connection import connect
from atelier_messaging.publisher import Publisher
from atelier_messaging.relay import relay_batch
from atelier_messaging.topology import EVENTS_EXCHANGE, JOBS_QUEUE, declare_topology
from sqlalchemy import text

pytestmark = pytest.mark.integration
JOB = {"kind": "txt2img", "prompt": "p"}


def relay_all(settings):
    """What the relay process does: publish every committed outbox row."""
    publisher = Publisher(settings.atelier_amqp_url)
    try:
        with psycopg.connect(settings.pre_inference_database_url) as conn:
            while relay_batch(conn, publisher):
                pass
    finally:
        publisher.close()


def drain_in_delivery_order(settings, wanted: set[str]) -> list[str]:
    """A worker with prefetch 1 taking the backlog one message at a time."""
    connection = connect(settings.atelier_amqp_url)
    try:
        channel = connection.channel()
        declare_topology(channel)
        channel.basic_qos(prefetch_count=1)
        order = []
        while True:
            method, _, body = channel.basic_get(JOBS_QUEUE, auto_ack=True)
            if method is None:
                return order
            job_id = json.loads(body)["data"]["job_id"]
            if job_id in wanted:
                order.append(job_id)
    finally:
        connection.close()


@pytest.fixture
def empty_jobs_queue(settings):
    # Stands in for the consumer of pre_inference.job.* (billing), so the relay can publish them.
    connection = connect(settings.atelier_amqp_url)
    channel = connection.channel()
    declare_topology(channel)
    channel.queue_declare("test.pre_inference.job.events", durable=False, auto_delete=False)
    channel.queue_bind("test.pre_inference.job.events", EVENTS_EXCHANGE, "pre_inference.job.#")
    connection.close()
    relay_all(settings)
    drain_in_delivery_order(settings, set())


async def submit(client, token):
    response = await client.post("/api/v1/jobs", json=JOB, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202, response.text
    return response.json()["id"]


async def test_backed_up_queue_serves_paid_first(client, make_token, settings, empty_jobs_queue):
    free = [await submit(client, make_token(tier="free")) for _ in range(3)]
    paid = [await submit(client, make_token(tier=tier)) for tier in ("pro", "partner", "pro")]
    relay_all(settings)
    order = drain_in_delivery_order(settings, set(free + paid))
    assert order == paid + free


async def test_free_work_is_not_starved(client, make_token, settings, db, empty_jobs_queue):
    waiting = await submit(client, make_token(tier="free"))
    # The free job has waited past the starvation limit (60 s) while paid work kept coming.
    db.execute(text("UPDATE jobs SET created_at = now() - interval '2 minutes' WHERE id = :id"), {"id": waiting})
    db.commit()
    later_paid = [await submit(client, make_token(tier="pro")) for _ in range(2)]
    priorities = dict(db.execute(text("SELECT id::text, priority FROM jobs WHERE id = ANY(:ids)"), {"ids": [uuid.UUID(i) for i in later_paid]}).all())
    assert set(priorities.values()) == {1}  # queued behind the starving job, not ahead of it
    relay_all(settings)
    assert drain_in_delivery_order(settings, {waiting, *later_paid}) == [waiting, *later_paid]
    # Once nothing is starving, paid work is prioritised again.
    db.execute(text("UPDATE jobs SET status = 'running' WHERE id = :id"), {"id": waiting})
    db.commit()
    again = await submit(client, make_token(tier="pro"))
    assert db.execute(text("SELECT priority FROM jobs WHERE id = :id"), {"id": again}).scalar() == 5
